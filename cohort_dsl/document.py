"""A YAML document with the line and column of every node.

PyYAML's ``safe_load`` drops positions and keeps the last of two duplicate
keys. Here the document is *composed* (with libyaml when present) and then
turned into plain data by a walk that records where each value and key was
written, reports duplicate keys (``1`` and ``"1"`` count as the same key),
and refuses alias bombs before expanding anything.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from cohort_dsl.diagnostics import ERROR, Diagnostic, Location, SpecError, error
from cohort_dsl.levels import NON_STRING_LEVEL, looks_like_number
from cohort_dsl.limits import DEFAULT_LIMITS, Limits
from cohort_dsl.records import Record
from cohort_dsl.registry import LintRule

YAML_SYNTAX = LintRule("Y001", "yaml-syntax", "The file is not valid YAML (or not UTF-8).",
                       "The spec (or a YAML/JSON include) could not be parsed: a syntax error, a tab used for indentation, "
                       "several documents in one file, or bytes that are not UTF-8. The diagnostic points at the first "
                       "offending character; nothing after it is checked.")
DUPLICATE_KEY = LintRule("Y002", "duplicate-key", "A mapping key is written twice.",
                         "PyYAML silently keeps the last of two equal keys, so one of the entries would vanish. Keys are "
                         "compared as written, so `1` and `\"1\"` are the same key. The first entry is kept and the repeat "
                         "reported at its own line.")
YAML_LIMIT = LintRule("Y004", "resource-limit", "The document is too large, too deep, or expands too far through aliases.",
                      "Every input is bounded: the size of config.yaml, its nesting depth and the number of nodes after "
                      "expanding anchors and aliases (which stops alias bombs before they expand). The limits are "
                      "configurable under [tool.cohort-dsl.limits].")
YAML_FEATURE = LintRule("Y005", "unsupported-yaml", "A YAML feature the DSL does not accept (tags, merge keys, complex keys).",
                        "Custom tags, `<<` merge keys, recursive aliases and mappings used as keys are refused: a spec is "
                        "plain data. Write the entries out.")
# Y003 (non-string-value) is declared with the levels, in cohort_dsl.levels.

Path = tuple  # a JSON path: keys (str) and indices (int)

_TAG = "tag:yaml.org,2002:"
_UNSUPPORTED = object()
# YAML also breaks lines at NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR;
# editors show them inside a line, so positions are recounted when present.
_ODD_BREAKS = ("\x85", "\u2028", "\u2029")
_EDITOR_BREAK = re.compile(r"\r\n|\r|\n")


@cache
def _surrogate() -> re.Pattern:
    """Compiled when a document first has escapes (most never do)."""
    return re.compile("[\ud800-\udfff]")


class Lines:
    """Line and column (1-based) of a YAML mark, counted as editors count
    them: lines end at LF, CRLF or CR only."""

    def __init__(self, text: str):
        self.starts = None
        if any(ch in text for ch in _ODD_BREAKS):
            self.starts = [0] + [m.end() for m in _EDITOR_BREAK.finditer(text)]

    @property
    def yaml_agrees(self) -> bool:
        """True when YAML's own line count is the editor's (the usual case)."""
        return self.starts is None

    def of(self, mark) -> tuple[int, int]:
        if self.starts is None:
            return mark.line + 1, mark.column + 1
        line = bisect_right(self.starts, mark.index) - 1  # mark.index counts characters (pure-Python reader)
        return line + 1, mark.index - self.starts[line] + 1


def editor_lines(text: str) -> list[str]:
    """``text`` split into lines as editors show them (``str.splitlines``
    also splits at NEL, U+2028, form feeds and more)."""
    lines = _EDITOR_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class Document(Record):
    """Plain data (dict/list/str/int/float/bool/None) plus where each part
    was written. ``path`` is the file it came from (None in memory)."""

    data: Any
    path: str | None = None
    value_positions: dict = field(default_factory=dict)
    key_positions: dict = field(default_factory=dict)
    # Source text of scalars that YAML typed as something other than a
    # string, and of plain strings spelled like a number (``08``, ``1e3``):
    # so a hint can quote what the author actually wrote, and so that
    # cohort_dsl.levels.number_problems can refuse numbers not written in
    # canonical decimal instead of silently rewriting them (``010`` -> 8).
    raw_scalars: dict = field(default_factory=dict)
    diagnostics: list = field(default_factory=list)

    def __init__(self, data: Any, path: str | None = None, value_positions: dict | None = None,
                 key_positions: dict | None = None, raw_scalars: dict | None = None, diagnostics: list | None = None):
        self.data, self.path = data, path
        self.value_positions = {} if value_positions is None else value_positions
        self.key_positions = {} if key_positions is None else key_positions
        self.raw_scalars = {} if raw_scalars is None else raw_scalars
        self.diagnostics = [] if diagnostics is None else diagnostics

    def loc(self, path: Path = ()) -> Location:
        """Where the value at ``path`` was written (or its nearest parent)."""
        return self._find(self.value_positions, tuple(path))

    def key_loc(self, path: Path) -> Location:
        """Where the key of the mapping entry at ``path`` was written."""
        pos = self.key_positions.get(tuple(path))
        if pos is not None:
            return Location(self.path, *pos)
        return self.loc(path)

    def raw(self, path: Path) -> str | None:
        return self.raw_scalars.get(tuple(path))

    def value(self, path: Path = ()):
        """The value at ``path`` (keys and indices from the root)."""
        value = self.data
        for key in path:
            value = value[key]
        return value

    def _find(self, table: dict, path: tuple) -> Location:
        while True:
            pos = table.get(path)
            if pos is not None:
                return Location(self.path, *pos)
            if not path:
                return Location(self.path)
            path = path[:-1]


def load_yaml(text: str | bytes, path: str | None = None, limits: Limits = DEFAULT_LIMITS) -> Document:
    """Parse YAML text into a :class:`Document`; raise :class:`SpecError` on
    syntax errors and exceeded limits. Duplicate keys are collected in
    ``Document.diagnostics`` (the first value is kept)."""
    if isinstance(text, bytes):
        size = len(text)
        text = decode_utf8(text, path)
    else:
        size = len(text.encode("utf-8")) if 4 * len(text) > limits.max_document_bytes else len(text)
    if size > limits.max_document_bytes:
        raise error(
            YAML_LIMIT.code,
            f"document is {size:,} bytes, above the limit of {limits.max_document_bytes:,}",
            Location(path),
            hint="raise limits.max-document-bytes in the config if this is intended",
        )
    lines = Lines(text)
    root = _compose(text, path, limits, lines)
    doc = Document(None, path)
    if root is None:
        return doc
    _check_size(root, path, limits, lines)
    doc.data = _Builder(doc, limits, lines, "\\u" in text or "\\U" in text).build(root, (), 0)
    return doc


def _compose(text: str, path: str | None, limits: Limits, lines: Lines):
    """The node tree of ``text``. libyaml (when present) does the work; when
    it refuses the text, the pure-Python reader reads it again and its
    verdict is the one reported. libyaml has limits of its own (newer
    builds stop deep nesting before our depth check sees it) and words its
    errors differently, so this is the one place that maps a dependency's
    refusal to our codes, and every build of PyYAML gives one meaning."""
    import yaml

    # libyaml's marks count bytes or characters depending on its version:
    # when positions must be recounted, the pure-Python reader is used.
    fast = getattr(yaml, "CSafeLoader", None) if lines.yaml_agrees else None
    if fast is not None:
        try:
            _check_depth(text, path, limits, fast, lines)
            return yaml.compose(text, Loader=fast)
        except (yaml.YAMLError, RecursionError, MemoryError):
            pass  # read again below, where the error is located and classified
    try:
        _check_depth(text, path, limits, yaml.SafeLoader, lines)
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, path, text, lines) from None
    except yaml.YAMLError as exc:  # unmarked: e.g. a reader error
        raise error(YAML_SYNTAX.code, f"invalid YAML: {exc}", Location(path, 1, 1)) from None
    except (RecursionError, MemoryError):
        raise error(YAML_LIMIT.code, "document is nested too deeply", Location(path, 1, 1),
                    "raise limits.max-yaml-depth in the config if this is intended") from None


def _check_depth(text: str, path: str | None, limits: Limits, loader_cls, lines: Lines) -> None:
    """Refuse nesting deeper than the limit *before* composing: libyaml's
    composer recurses in C and a deeply nested document crashes the process.
    The event parser keeps an explicit stack, so it is safe to walk. Only a
    document that could be that deep (enough brackets, or that much
    indentation) is walked."""
    import yaml

    limit = limits.max_yaml_depth
    brackets = text.count("[") + text.count("{")
    if brackets <= limit and not any(len(line) - len(line.lstrip(" ")) >= limit for line in editor_lines(text)):
        return
    depth = 0  # open collections = the depth of the next node (the root is 0)
    nodes = (yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.ScalarEvent, yaml.AliasEvent)
    for event in yaml.parse(text, Loader=loader_cls):
        if isinstance(event, nodes) and depth > limit:
            raise error(YAML_LIMIT.code, f"document is nested more than {limit} levels deep",
                        Location(path, *lines.of(event.start_mark)),
                        "raise limits.max-yaml-depth in the config if this is intended")
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def decode_utf8(raw: bytes, path: str | None) -> str:
    """Decode UTF-8 (a BOM is allowed); a bad byte is reported at its line."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise error(
            YAML_SYNTAX.code,
            f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
            Location(path, line, col),
            hint="save the file as UTF-8",
        ) from None


def _syntax_error(exc, path: str | None, text: str, lines: Lines) -> SpecError:
    mark = exc.problem_mark or exc.context_mark
    shown = editor_lines(text)
    if exc.context_mark is not None and (mark is None or lines.of(mark)[0] > len(shown)
                                         or "end of stream" in (exc.problem or "")):
        mark = exc.context_mark  # e.g. an unclosed quote: where it opened
    line, col = lines.of(mark) if mark else (None, None)
    problem = (exc.problem or exc.context or "invalid YAML").strip()
    message = f"invalid YAML: {problem}"
    if exc.context and exc.problem:
        message = f"invalid YAML: {problem} ({exc.context.strip()})"
    hint = None
    if "\t" in problem or "'\\t'" in problem:
        hint = "YAML does not allow tabs for indentation; use spaces"
    elif "expected a single document" in (exc.context or "") or "but found another document" in problem:
        message = "invalid YAML: expected one document, found several (a second '---')"
    elif line is not None and 0 < line <= len(shown) and "\t" in shown[line - 1]:
        hint = "YAML does not allow tabs for indentation; use spaces"
    return error(YAML_SYNTAX.code, message, Location(path, line, col), hint)


def _check_size(root, path: str | None, limits: Limits, lines: Lines) -> None:
    """Count nodes after alias expansion without expanding anything (sizes
    are memoised per node), so an alias bomb is refused in microseconds."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(node, depth: int) -> int:
        key = id(node)
        known = sizes.get(key)
        if known is not None:
            return known
        if depth > limits.max_yaml_depth:
            raise error(
                YAML_LIMIT.code,
                f"document is nested more than {limits.max_yaml_depth} levels deep",
                Location(path, *lines.of(node.start_mark)),
                "raise limits.max-yaml-depth in the config if this is intended",
            )
        if key in in_progress:
            raise error(YAML_FEATURE.code, "recursive alias: a node contains itself",
                        Location(path, *lines.of(node.start_mark)))
        in_progress.add(key)
        total = 1
        value = node.value
        if isinstance(value, list):
            for item in value:
                if isinstance(item, tuple):  # mapping entry (key node, value node)
                    total += size(item[0], depth + 1) + size(item[1], depth + 1)
                else:
                    total += size(item, depth + 1)
                if total > limits.max_yaml_nodes:
                    break
        in_progress.discard(key)
        sizes[key] = total
        return total

    total = size(root, 0)
    if total > limits.max_yaml_nodes:
        raise error(
            YAML_LIMIT.code,
            f"document expands to more than {limits.max_yaml_nodes:,} nodes"
            " (anchors and aliases are expanded)",
            Location(path, *lines.of(root.start_mark)),
            hint="an alias bomb, or a spec that should move its levels into @file: includes "
                 "(limits.max-yaml-nodes raises the limit)",
        )


class _Builder:
    """Walks composed nodes into plain data, recording positions."""

    def __init__(self, doc: Document, limits: Limits, lines: Lines, escapes: bool):
        import yaml.constructor

        self.doc = doc
        self.limits = limits
        self.lines = lines
        self.escapes = escapes  # only a \u escape can put a surrogate in the text
        self.constructor = yaml.constructor.SafeConstructor()

    def _pos(self, node) -> tuple[int, int]:
        return self.lines.of(node.start_mark)

    def _text(self, node) -> str:
        """A scalar's text; ``\\ud83d\\ude80`` (a surrogate pair, as
        ``json.dump`` writes non-ASCII) is the one character it encodes."""
        value = node.value
        if self.escapes and _surrogate().search(value):
            try:
                return value.encode("utf-16", "surrogatepass").decode("utf-16")
            except UnicodeDecodeError:
                lone = _surrogate().search(value).group()
                raise error(YAML_SYNTAX.code, f"\\u{ord(lone):04x} is half of a surrogate pair, not a character",
                            Location(self.doc.path, *self._pos(node)),
                            "write the character itself, or both halves of its UTF-16 pair") from None
        return value

    def build(self, node, path: tuple, depth: int):
        import yaml

        self.doc.value_positions[path] = self._pos(node)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        if isinstance(node, yaml.SequenceNode):
            self._expect_tag(node, "seq")
            return [self.build(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        self._expect_tag(node, "map")
        return self._mapping(node, path, depth)

    def _mapping(self, node, path: tuple, depth: int) -> dict:
        import yaml

        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                raise error(YAML_FEATURE.code, "merge keys ('<<') are not supported; write the entries out",
                            Location(self.doc.path, *self._pos(key_node)))
            if not isinstance(key_node, yaml.ScalarNode):
                raise error(YAML_FEATURE.code, "mapping keys must be plain names, not lists or mappings",
                            Location(self.doc.path, *self._pos(key_node)))
            # Keys are names: keep the text as written (`yes:` is the key
            # "yes", and `1` and "1" are the same key).
            key = self._text(key_node)
            if key in out:
                first = self.doc.key_positions[path + (key,)]
                self.doc.diagnostics.append(Diagnostic(
                    DUPLICATE_KEY.code,
                    f"duplicate key {key!r}: it is already defined at line {first[0]}",
                    Location(self.doc.path, *self._pos(key_node)),
                    ERROR,
                    "YAML would silently keep only one of them; merge or rename the entries",
                ))
                continue
            self.doc.key_positions[path + (key,)] = self._pos(key_node)
            out[key] = self.build(value_node, path + (key,), depth + 1)
        return out

    def _expect_tag(self, node, kind: str) -> None:
        if node.tag != _TAG + kind:
            raise error(YAML_FEATURE.code, f"unsupported YAML tag {node.tag!r}",
                        Location(self.doc.path, *self._pos(node)))

    def _bad_tagged(self, node):
        shown = node.tag.replace(_TAG, "!!")
        return error(YAML_FEATURE.code, f"{shown} {node.value!r} is not a valid {shown[2:]}",
                     Location(self.doc.path, *self._pos(node)),
                     f'drop the tag, and quote the value if it is a name: "{node.value}"')

    def _scalar(self, node, path: tuple):
        tag = node.tag
        c = self.constructor
        if tag == _TAG + "str":
            if not node.style and looks_like_number(node.value):  # plain (libyaml: "", PyYAML: None)
                self.doc.raw_scalars[path] = node.value  # `08`, `1e3`: a number to YAML 1.2 and JSON
            return self._text(node)
        try:
            if tag == _TAG + "int":
                value = c.construct_yaml_int(node)
            elif tag == _TAG + "bool":
                value = c.construct_yaml_bool(node)
            elif tag == _TAG + "null":
                value = None
            elif tag == _TAG + "float":
                value = c.construct_yaml_float(node)
            else:
                value = _UNSUPPORTED
        except ValueError:  # e.g. an integer of thousands of digits
            if len(node.value) > 20:
                raise error(NON_STRING_LEVEL.code, f"{node.value[:20]}… is too long a number", Location(self.doc.path, *self._pos(node)),
                            f'quote it if it is a name: "{node.value[:20]}…"') from None
            raise self._bad_tagged(node) from None
        except (KeyError, IndexError, TypeError):  # an explicit tag on text it cannot read: `!!bool maybe`, `!!int ''`
            raise self._bad_tagged(node) from None
        if value is _UNSUPPORTED:
            if tag == _TAG + "timestamp":
                # An unquoted date is a name here (`2024-05-01` as a level).
                return node.value
            raise error(YAML_FEATURE.code, f"unsupported YAML tag {tag!r}",
                        Location(self.doc.path, *self._pos(node)))
        self.doc.raw_scalars[path] = node.value
        return value
