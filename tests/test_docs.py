"""The worked examples of docs/spec_dsl.md are executed: each
``<!-- example: NAME -->`` YAML block is compiled and must give exactly the
CSV block that follows ``<!-- rows -->``, or fail with the error named in
the marker (``error=CODE line=N``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cohort_dsl.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "spec_dsl.md"
EXAMPLE = re.compile(
    r"<!-- example: (?P<name>[\w-]+)(?P<attrs>[^>]*)-->\s*```yaml\n(?P<yaml>.*?)```"
    r"(?:\s*<!-- rows -->\s*```csv\n(?P<csv>.*?)```)?",
    re.DOTALL,
)


def examples():
    found = []
    for match in EXAMPLE.finditer(DOC.read_text(encoding="utf-8")):
        attrs = dict(re.findall(r"(\w+)=(\S+)", match.group("attrs")))
        found.append(pytest.param(match.group("yaml"), match.group("csv"), attrs, id=match.group("name")))
    return found


def test_the_reference_has_examples():
    assert len(examples()) >= 8


@pytest.mark.parametrize("spec, expected, attrs", examples())
def test_doc_example(tmp_path, capsys, spec, expected, attrs):
    bundle = tmp_path / "spec"
    bundle.mkdir()
    (bundle / "config.yaml").write_text(spec, encoding="utf-8")
    code = main(["compile", str(bundle)])
    out, err = capsys.readouterr()
    if "error" in attrs:
        assert code == 1, out
        located = re.findall(r"config\.yaml:(\d+):\d+: (\w+) ", err)
        assert (attrs["line"], attrs["error"]) in located, err
        assert "Traceback" not in err
    else:
        assert code == 0, err
        assert out == expected
