"""The html report format (docs/cohorts.md, "Reviewing a change"): one
self-contained page, checked structurally with html.parser, and rendered
once in a real headless browser when one is installed (`chromium` on PATH;
the test is skipped otherwise — install it, e.g. `apt-get install chromium`,
and run `pytest tests/test_html.py`)."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from gate_helpers import REPO_DIR, cli, engine  # noqa: F401

SPEC = """\
axes:
  draft_template: [d1, d2, d3]
  essay_template: [e1, e2, e3]
  note: ["<i>x</i>", "a&b"]
rules:
  pairs:
    dp:
      left: draft_template
      right: essay_template
      allowed: [[d1, e1], [d1, e2], [d2, e1], [d2, e3]]
"""


class Page(HTMLParser):
    """Every start tag with its attributes, the ids, and the text."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def count(self, tag: str, **attrs) -> int:
        return sum(1 for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items()))

    @property
    def ids(self) -> set:
        return {a["id"] for _, a in self.tags if "id" in a}

    def self_contained(self) -> bool:
        fetched = [a for t, a in self.tags for k in ("src", "href") if k in a]
        return not fetched and self.count("script") == 0 and self.count("link") == 0


@pytest.fixture
def spec(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "config.yaml").write_text(SPEC, encoding="utf-8")
    return "spec/config.yaml"


def test_explain_page(cli, spec, tmp_path):
    result = cli("explain", spec, "--format", "html", "--why", "draft_template=d1,essay_template=e3",
                 "--output", "page.html")
    assert result.rc == 0, result
    page = Page((tmp_path / "page.html").read_text(encoding="utf-8"))
    assert page.self_contained()
    assert {"funnel", "marginals", "couplings", "why"} <= page.ids
    assert page.count("g", **{"class": "funnel-step"}) == 2  # axes, pairs dp
    assert page.count("rect", **{"class": "cell"}) == 2 * 3  # d1, d2 x e1, e2, e3
    assert page.count("div", **{"class": "marginal"}) == 3
    text = "".join(page.text)
    assert "no row carries it: pairs dp (spec/config.yaml:7) removed the last 2" in text
    assert "<i>x</i>" in text and page.count("i") == 0  # a level is text, never markup
    assert "4 of 6 combinations occur (67%)" in text


@pytest.fixture
def examples(tmp_path, monkeypatch):
    shutil.copytree(REPO_DIR / "examples" / "data", tmp_path / "data")
    shutil.copy(REPO_DIR / "examples" / "pyproject.toml", tmp_path / "pyproject.toml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def diff_page(cli, examples) -> str:
    spec = examples / "data" / "cohorts" / "creative-alignment" / "spec" / "config.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("draft_llm: [sonnet-4, gemini_25_pro]",
                                                             "draft_llm: [sonnet-4, gpt-5]"), encoding="utf-8")
    result = cli("diff", "creative-alignment", "--format", "html", "--limit", "3", "--output", "diff.html")
    assert result.rc == 0, result
    return (examples / "diff.html").read_text(encoding="utf-8")


def test_diff_page(cli, examples):
    page = Page(diff_page(cli, examples))
    assert page.self_contained()
    assert {"diff-summary", "added", "removed"} <= page.ids
    assert page.count("div", **{"class": "cause"}) == 2
    assert page.count("tr") == 1 + 3 + 2 * (1 + 3)  # the stage table, then each cause's header and 3 records
    text = "".join(page.text)
    assert "draft_llm 'gpt-5' is new" in text and "draft_llm 'gemini_25_pro' is gone" in text
    assert "… and 69 more" in text


@pytest.mark.skipif(shutil.which("chromium") is None, reason="no headless browser (chromium) on PATH")
def test_the_diff_page_renders_in_a_browser(cli, examples):
    diff_page(cli, examples)
    dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                          (examples / "diff.html").as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = Page(dom.stdout)
    assert rendered.count("svg") >= 2 and rendered.count("div", **{"class": "cause"}) == 2
    assert "draft_llm 'gpt-5' is new" in "".join(rendered.text)
