"""docs/rules.md is generated from the rule registry and must stay current."""

from pathlib import Path

from cohort_dsl.rules_reference import markdown
from cohort_dsl.pluginmanager import build_engine

DOC = Path(__file__).resolve().parents[1] / "docs" / "rules.md"


def test_rules_doc_is_current():
    expected = markdown(build_engine(entry_points=False).registry)
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/rules.md is stale: regenerate it with "
        "`python -c \"from cohort_dsl.pluginmanager import build_engine; from cohort_dsl.rules_reference import markdown; "
        "open('docs/rules.md','w').write(markdown(build_engine(entry_points=False).registry))\"`"
    )


def test_every_builtin_code_is_documented():
    registry = build_engine(entry_points=False).registry
    for rule in registry.lint_rules.values():
        assert rule.summary and rule.doc, rule.code
        assert rule.severity in ("error", "warning")
