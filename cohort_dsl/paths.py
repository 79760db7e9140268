"""Paths and text for CI reports (docs/ci.md): the repository root that
locations are relative to, RFC 3986 URIs for SARIF, control-character
escaping for every format, the anchor of a rule in docs/rules.md, and
whether to colour the text report.

Nothing here runs git or touches the network: it is called once per report.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote

#: where the rules reference (docs/rules.md) is published; a rule's SARIF
#: ``helpUri`` is this plus ``#`` plus :func:`rule_anchor`
RULES_DOC_URL = "https://github.com/cohort-dsl/cohort-dsl/blob/main/docs/rules.md"


def repository_root(start: Path) -> Path | None:
    """The git top level above ``start`` (inclusive): the nearest folder
    with a ``.git`` entry, a folder or a file (worktrees, submodules).
    Found without running git; None outside any repository."""
    here = Path(os.path.abspath(start))
    for folder in (here, *here.parents):
        if os.path.lexists(folder / ".git"):
            return folder
    return None


def report_root(settings_path: Path | None, cwd: Path) -> Path:
    """The folder report locations are relative to: the repository root of
    ``cwd``, else the folder of the settings file, else ``cwd``."""
    root = repository_root(cwd)
    if root is not None:
        return root
    if settings_path is not None:
        return Path(os.path.abspath(settings_path)).parent
    return Path(os.path.abspath(cwd))


def relative_path(path: str, root: Path) -> str | None:
    """``path`` (absolute, or relative to the working directory) relative to
    ``root`` as a POSIX path, or None when it lies outside ``root``."""
    absolute = os.path.abspath(path)
    base = os.path.abspath(root)
    for candidate, top in ((absolute, base), (os.path.realpath(absolute), os.path.realpath(base))):
        try:
            rel = os.path.relpath(candidate, top)
        except ValueError:  # another drive on Windows
            continue
        if rel != os.pardir and not rel.startswith(os.pardir + os.sep) and not os.path.isabs(rel):
            return Path(rel).as_posix()
    return None


def percent_encode(text: str) -> str:
    """RFC 3986: every UTF-8 byte outside the unreserved set
    (``A-Za-z0-9-._~``) and ``/`` as ``%XX``."""
    return quote(text, safe="/", encoding="utf-8", errors="surrogateescape")


def relative_uri(path: str, root: Path) -> str:
    """``path`` as a URI reference relative to ``root`` (the repository
    root, ``%SRCROOT%`` in SARIF): a percent-encoded POSIX path. A path
    outside ``root`` stays absolute, as a ``file:`` URI."""
    rel = relative_path(path, root)
    if rel is not None:
        return percent_encode(rel)
    return file_uri(Path(os.path.abspath(path)))


def file_uri(path: Path) -> str:
    """The ``file:`` URI of an absolute path, percent-encoded as
    :func:`percent_encode` does."""
    posix = Path(os.path.abspath(path)).as_posix()
    drive, rest = (posix[:2], posix[2:]) if re.match(r"[A-Za-z]:", posix) else ("", posix)
    if drive:  # file:///C:/…
        return "file:///" + drive + percent_encode(rest)
    return "file://" + percent_encode(posix)


_CONTROL = "[\x00-\x1f\x7f-\x9f\u2028\u2029]"
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_one(match: re.Match) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_control(text: str) -> str:
    """``text`` with every control character (C0, DEL, C1, and the line and
    paragraph separators U+2028/U+2029) shown as an escape: ``\\n``,
    ``\\r``, ``\\t``, ``\\x1b``, ``\\u2028``. Printable text is unchanged, so a
    file name cannot inject a line or a terminal sequence into a report."""
    if text.isprintable():  # none of those characters is printable: the common case needs no pattern
        return text
    return re.sub(_CONTROL, _escape_one, text)


def rule_anchor(rule) -> str:
    """The anchor GitHub gives the rule's heading in docs/rules.md,
    ``### CODE `name` (severity)`` (:func:`cohort_dsl.rules_reference.markdown`):
    the heading text lowercased, every character but letters, digits,
    spaces, ``-`` and ``_`` dropped, spaces turned into ``-``.
    ``C001`` -> ``c001-catalog-miss-error``."""
    return heading_anchor(f"{rule.code} `{rule.name}` ({rule.severity})")


def heading_anchor(heading: str) -> str:
    """GitHub's slug of a Markdown heading's text (see :func:`rule_anchor`)."""
    text = heading.strip().lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return text.replace(" ", "-")


def rule_help_uri(rule) -> str:
    """The rule's entry in the published rules reference."""
    return f"{RULES_DOC_URL}#{rule_anchor(rule)}"


def want_color(choice: str, stream, environ) -> bool:
    """Whether the text report written to ``stream`` should be coloured.

    ``choice`` is the ``--color`` value:

    - ``"always"``: True; ``"never"``: False;
    - ``"auto"``: False when ``NO_COLOR`` is set and not empty
      (https://no-color.org); else True when ``FORCE_COLOR`` is set, not
      empty and not ``"0"``; else whether ``stream`` is a terminal
      (``stream.isatty()``; False for a stream without one or a closed one).

    ``environ`` is a mapping such as :data:`os.environ`. Another choice is
    a :class:`ValueError`. The caller sets :attr:`cohort_dsl.report.Report.color`
    from the result; the formats never look at the environment themselves.
    """
    if choice == "always":
        return True
    if choice == "never":
        return False
    if choice != "auto":
        raise ValueError(f"unknown colour choice {choice!r} (always, never, auto)")
    if environ.get("NO_COLOR"):
        return False
    force = environ.get("FORCE_COLOR")
    if force and force != "0":
        return True
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
