"""Every diagnostic code is declared once, as a ``LintRule`` next to the code
that emits it, and used through that declaration (``RULE.code``).

The dependency between the core and the built-in plugins goes one way: the
built-ins (``cohort_dsl/builtin/``) import the core modules' declarations,
never the other way round (only the plugin manager lists the built-ins).
"""

import re
from pathlib import Path

from cohort_dsl.pluginmanager import build_engine

PACKAGE = Path(__file__).resolve().parents[1] / "cohort_dsl"

DECLARATION = re.compile(r'\bLintRule\(\s*"([A-Z]\d{3})"')
CODE_LITERAL = re.compile(r"""(["'])[A-Z]\d{3}\1""")
BUILTIN_IMPORT = re.compile(r"^\s*(?:from\s+cohort_dsl\.builtin\b|import\s+cohort_dsl\.builtin\b|from\s+cohort_dsl\s+import\s+.*\bbuiltin\b)",
                            re.MULTILINE)

# Files that may write codes as string literals: the settings module's
# docstring shows an example configuration.
LITERAL_ALLOWED = {"settings.py"}

# Only the plugin manager imports the built-ins (it lists them).
BUILTIN_IMPORT_ALLOWED = {"pluginmanager.py"}


def sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), path.read_text(encoding="utf-8")


def declarations() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, text in sources():
        for line_no, line in enumerate(text.splitlines(), 1):
            for code in DECLARATION.findall(line):
                found.setdefault(code, []).append(f"{name}:{line_no}")
    return found


def test_every_registered_code_is_declared_exactly_once():
    registry = build_engine(entry_points=False).registry
    found = declarations()
    problems = {code: found.get(code, []) for code in registry.lint_rules if len(found.get(code, [])) != 1}
    assert not problems, f"codes declared other than exactly once (code: where): {problems}"


def test_every_declaration_is_registered():
    registry = build_engine(entry_points=False).registry
    unregistered = sorted(set(declarations()) - set(registry.lint_rules))
    assert not unregistered, f"declared but not returned by any built-in plugin's cohort_dsl_lint_rules: {unregistered}"


def test_codes_are_not_written_as_string_literals():
    stray = []
    for name, text in sources():
        if name in LITERAL_ALLOWED:
            continue
        for line_no, line in enumerate(text.splitlines(), 1):
            if "LintRule(" in line:
                continue
            if CODE_LITERAL.search(line):
                stray.append(f"{name}:{line_no}: {line.strip()}")
    assert not stray, "use the LintRule declaration's .code instead of a literal:\n" + "\n".join(stray)


def test_only_the_plugin_manager_imports_the_builtins():
    offenders = []
    for name, text in sources():
        if name.startswith("builtin/") or name in BUILTIN_IMPORT_ALLOWED:
            continue
        for match in BUILTIN_IMPORT.finditer(text):
            line_no = text.count("\n", 0, match.start()) + 1
            offenders.append(f"{name}:{line_no}: {match.group(0).strip()}")
    assert not offenders, "modules outside cohort_dsl/builtin/ must not import it:\n" + "\n".join(offenders)


def test_the_checks_reuse_the_core_declarations():
    """Codes declared by a core module and checked by builtin/checks.py keep
    one text: the registered rule is the declaration with a check attached."""
    from cohort_dsl.catalogs import CATALOG_MISS
    from cohort_dsl.membership import LAYOUT_COLUMNS, STALE_MEMBERSHIP

    rules = build_engine(entry_points=False).registry.lint_rules
    for declared in (CATALOG_MISS, LAYOUT_COLUMNS, STALE_MEMBERSHIP):
        registered = rules[declared.code]
        assert registered.check is not None and declared.check is None
        assert (registered.name, registered.summary, registered.doc, registered.severity) == (
            declared.name, declared.summary, declared.doc, declared.severity)
