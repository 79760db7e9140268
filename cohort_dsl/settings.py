"""Settings: ``[tool.cohort-dsl]`` in ``pyproject.toml`` or ``cohort-dsl.toml``.

Found by walking up from the working directory (``cohort-dsl.toml`` wins
over ``pyproject.toml`` in the same folder; a ``pyproject.toml`` without the
table is skipped). Keys::

    data-root = "data"            # relative to the config file
    max-rows = 1000000
    select = ["R", "C001"]        # code prefixes to report (default: all)
    ignore = ["R004"]             # code prefixes to drop
    [tool.cohort-dsl.severity]    # a code's severity, instead of its default
    R004 = "error"
    catalog-roots = ["../shared"] # more folders catalogs may lie in (relative to the config file)
    [tool.cohort-dsl.catalogs]    # axis -> "PATH[:COLUMN]" under the data root (or a catalog root)
    draft_template = "1_raw/draft_templates.csv:template_id"
    [tool.cohort-dsl.limits]      # see cohort_dsl.limits.Limits
    max-include-bytes = 67108864
    [tool.cohort-dsl.plugins.example]   # a plugin's own settings (its schema)
    allow-self-grading = ["sonnet-4"]

Command-line flags override the file. Errors here are usage errors (exit 2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Iterable, Mapping

from cohort_dsl.diagnostics import SEVERITIES, UsageError, did_you_mean
from cohort_dsl.limits import DEFAULT_LIMITS, Limits
from cohort_dsl.records import FrozenRecord

CONFIG_FILE = "cohort-dsl.toml"
PYPROJECT = "pyproject.toml"
TABLE = "cohort-dsl"
KEYS = ("data-root", "max-rows", "select", "ignore", "severity", "catalogs", "catalog-roots", "limits", "jobs", "cache",
        "plugins")


@dataclass(init=False, repr=False, eq=False)  # a frozen record: see cohort_dsl.records
class Settings(FrozenRecord):
    """Resolved settings: read once, never changed. Command-line flags
    make a new object with :meth:`override`."""

    path: Path | None = None
    data_root: Path = field(default_factory=lambda: Path("data").absolute())
    data_root_explicit: bool = False
    catalogs: Mapping[str, str] = field(default_factory=dict)
    #: folders besides the data root that configured catalogs may lie in
    catalog_roots: tuple[Path, ...] = ()
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    #: code -> "error" | "warning", overriding the code's declared severity
    severity: Mapping[str, str] = field(default_factory=dict)
    limits: Limits = DEFAULT_LIMITS
    jobs: int | None = None
    cache: bool = True
    #: plugin name -> its [tool.cohort-dsl.plugins.NAME] table, checked
    #: against the plugin's schema by :func:`check_plugin_settings`
    plugins: Mapping[str, Mapping] = field(default_factory=dict)
    #: where each plugin table and its keys are written ("path:line:col"),
    #: for the errors of :func:`check_plugin_settings`
    plugin_locations: Mapping[tuple, str] = field(default_factory=dict, compare=False)

    def __init__(self, path: Path | None = None, data_root: Path | None = None, data_root_explicit: bool = False,
                 catalogs: Mapping[str, str] | None = None, catalog_roots: tuple[Path, ...] = (),
                 select: tuple[str, ...] = (), ignore: tuple[str, ...] = (), severity: Mapping[str, str] | None = None,
                 limits: Limits = DEFAULT_LIMITS, jobs: int | None = None, cache: bool = True,
                 plugins: Mapping[str, Mapping] | None = None, plugin_locations: Mapping[tuple, str] | None = None):
        set_field = object.__setattr__
        set_field(self, "path", path)
        set_field(self, "data_root", Path("data").absolute() if data_root is None else data_root)
        set_field(self, "data_root_explicit", data_root_explicit)
        set_field(self, "catalogs", {} if catalogs is None else catalogs)
        set_field(self, "catalog_roots", catalog_roots)
        set_field(self, "select", select)
        set_field(self, "ignore", ignore)
        set_field(self, "severity", {} if severity is None else severity)
        set_field(self, "limits", limits)
        set_field(self, "jobs", jobs)
        set_field(self, "cache", cache)
        set_field(self, "plugins", {} if plugins is None else plugins)
        set_field(self, "plugin_locations", {} if plugin_locations is None else plugin_locations)

    def for_plugin(self, name: str) -> Mapping:
        """The settings table of the plugin registered as ``name`` ({} when none)."""
        return self.plugins.get(name, {})

    @property
    def root(self) -> Path:
        """The folder of the settings file (the working directory without one)."""
        return self.path.parent if self.path else Path.cwd()

    @property
    def max_rows(self) -> int:
        """The row limit (``max-rows``, the same as ``limits.max-rows``)."""
        return self.limits.max_rows

    def override(self, *, data_root: str | Path | None = None, max_rows: int | None = None,
                 select: Iterable[str] | None = None, ignore: Iterable[str] | None = None,
                 jobs: int | None = None, cache: bool | None = None) -> "Settings":
        """A copy with the given values (None keeps the current one)."""
        changes: dict = {}
        if data_root is not None:
            changes.update(data_root=Path(data_root).absolute(), data_root_explicit=True)
        if max_rows is not None:
            changes["limits"] = self.limits.updated(max_rows=max_rows)
        if select is not None:
            changes["select"] = tuple(select)
        if ignore is not None:
            changes["ignore"] = tuple(ignore)
        if jobs is not None:
            changes["jobs"] = jobs
        if cache is not None:
            changes["cache"] = cache
        return replace(self, **changes)


def find_config(start: Path | None = None) -> Path | None:
    here = (start or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
        candidate = folder / PYPROJECT
        if candidate.is_file() and _has_table(candidate):
            return candidate
    return None


def _has_table(pyproject: Path) -> bool:
    """A pyproject.toml configures cohort-dsl when it has a
    ``[tool.cohort-dsl]`` table, not merely the name (in its dependencies,
    say). One that cannot be read is left to the walk (it may be someone
    else's); naming it with --config reports why."""
    try:
        text = pyproject.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if TABLE not in text:
        return False
    try:
        data = _parse_toml(text, pyproject)
    except ValueError:
        return "[tool.cohort-dsl" in text  # broken, but meant for us: report its error
    tool = data.get("tool")
    return isinstance(tool, dict) and isinstance(tool.get(TABLE), dict)


def _parse_toml(text: str, path: Path) -> dict:
    """``tomllib.loads(text)``. Importing and running tomllib is ~4 ms of a
    pre-commit run, so what a settings file's text parses to is kept in a
    memo (``settings/<digest of the path>.json`` under the user's cache
    folder, see :func:`cohort_dsl.schema.memo_folder`) keyed by a digest of
    the text and of the Python that parsed it, with a digest over its own
    content: it can only miss. Texts with TOML dates or times are not
    kept (JSON has no such values), nor is anything on Python 3.10, whose
    TOML reader (tomli) is versioned apart from Python."""
    import json
    import sys

    from cohort_dsl.files import digest_bytes, read_bounded
    from cohort_dsl.schema import memo_folder

    folder = memo_folder() if sys.version_info >= (3, 11) else None
    memo = folder / "settings" / f"{digest_bytes(str(path.absolute()).encode('utf-8'))}.json" if folder else None
    key = digest_bytes(f"{sys.version}\n{text}".encode("utf-8"))
    if memo is not None:
        try:
            entry = json.loads(read_bounded(memo, 1 << 24))
            if entry["key"] == key and entry["digest"] == digest_bytes(json.dumps(entry["data"]).encode("utf-8")):
                return entry["data"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
    data = _toml().loads(text)
    if memo is not None and _plain_json(data):
        from cohort_dsl.files import write_text

        try:
            write_text(memo, json.dumps({"key": key, "digest": digest_bytes(json.dumps(data).encode("utf-8")),
                                         "data": data}))
        except OSError:
            pass  # a memo that cannot be written is only a miss next time
    return data


def _plain_json(value) -> bool:
    """``value`` comes back from JSON as it is (no dates, no times)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain_json(v) for v in value)
    return isinstance(value, (str, int, float, bool))


def _toml():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib


def load_settings(path: Path | str | None = None, start: Path | None = None) -> Settings:
    """Settings from ``path`` (or the config found above ``start``)."""
    if path is not None:
        path = Path(path).absolute()
        if not path.is_file():
            raise UsageError(f"{path}: no such config file")
    path = path or find_config(start)
    if path is None:
        return Settings(data_root=(start or Path.cwd()).absolute() / "data")
    table, text = _read_table(path)
    return _from_table(table, path, _KeyLines(text, path))


class _KeyLines:
    """Where each key is written (``path:line:col``), found by scanning the
    TOML text for table headers and ``key =`` lines (the TOML reader keeps
    no positions). A key it cannot place is shown at its table, or at the
    settings table, or at the file. The text is scanned (and the patterns
    compiled) when a location is first asked for: a valid file needs none."""

    _HEADER = r"^\s*\[\[?([^\[\]]+)\]\]?\s*(#.*)?$"
    _KEY = r"^(\s*)(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_.-]+)\s*="

    def __init__(self, text: str, path: Path):
        self.path, self.text = path, text
        self.where = f"{path}: [tool.{TABLE}]" if path.name == PYPROJECT else str(path)
        self.prefixes = [("tool", TABLE)] + ([()] if path.name == CONFIG_FILE else [])

    @cached_property
    def keys(self) -> dict[tuple, tuple[int, int]]:
        """Key path -> (line, column) where it is written."""
        keys: dict[tuple, tuple[int, int]] = {}
        table: tuple = ()
        for number, line in enumerate(self.text.splitlines(), start=1):
            header = re.match(self._HEADER, line)
            if header:
                table = tuple(self._name(part) for part in header.group(1).split("."))
                keys.setdefault(table, (number, line.index("[") + 1))
                continue
            key = re.match(self._KEY, line)
            if key:
                parts = tuple(self._name(part) for part in key.group(2).split("."))
                keys.setdefault(table + parts, (number, len(key.group(1)) + 1))
        return keys

    @staticmethod
    def _name(part: str) -> str:
        part = part.strip()
        return part[1:-1] if len(part) > 1 and part[0] == part[-1] and part[0] in "\"'" else part

    def at_top(self, *key: str) -> str:
        """``path:line:col`` of a key path from the top of the file (or of
        its nearest parent)."""
        while key:
            found = self.keys.get(key)
            if found is not None:
                return f"{self.path}:{found[0]}:{found[1]}"
            key = key[:-1]
        return str(self.path)

    def __call__(self, *key: str) -> str:
        """``path:line:col`` of a settings key path (or of its nearest parent)."""
        while key:
            for prefix in self.prefixes:
                for spelling in (key, tuple(k.replace("-", "_") for k in key)):
                    found = self.keys.get(prefix + spelling)
                    if found is not None:
                        return f"{self.path}:{found[0]}:{found[1]}"
            key = key[:-1]
        return self.where


def _read_table(path: Path) -> tuple[dict, str]:
    """The settings table of a config file, and the file's text; a file
    that is not UTF-8, not TOML, or whose table is not a table is a usage
    error located in it."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(1 << 24)
        text = raw.decode("utf-8")
        data = _parse_toml(text, path)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the config: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise UsageError(f"{path}:{line}: the config is not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8") from None
    except ValueError as exc:  # tomllib.TOMLDecodeError
        found = re.search(r"line (\d+), column (\d+)", str(exc))
        where = f"{path}:{found.group(1)}:{found.group(2)}" if found else str(path)
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise UsageError(f"{where}: invalid TOML: {message}") from None
    if path.name == CONFIG_FILE and not isinstance(data.get("tool"), dict):
        return data, text
    tool = data.get("tool", {})
    where = _KeyLines(text, path)
    if not isinstance(tool, dict):
        raise UsageError(f"{where.at_top('tool')}: `tool` must be a table ([tool.{TABLE}])")
    table = tool.get(TABLE, data if path.name == CONFIG_FILE else {})
    if not isinstance(table, dict):
        raise UsageError(f"{where.at_top('tool', TABLE)}: [tool.{TABLE}] must be a table of settings, not {type(table).__name__}")
    return table, text


def _from_table(table: dict, path: Path, at: _KeyLines) -> Settings:
    """Settings from the table; ``at(key, ...)`` locates a key for errors."""
    norm = {key.replace("_", "-"): value for key, value in table.items()}
    for key in norm:
        if key not in KEYS:
            hint = did_you_mean(key, KEYS)
            raise UsageError(f"{at(key)}: unknown key {key!r}" + (f" ({hint})" if hint else ""))
    values: dict = {"path": path, "data_root": (path.parent / "data").absolute()}
    if "data-root" in norm:
        values["data_root"] = (path.parent / _expect(norm["data-root"], str, "data-root", at, "data-root")).absolute()
        values["data_root_explicit"] = True
    for key in ("select", "ignore"):
        if key in norm:
            value = norm[key]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise UsageError(f"{at(key)}: {key} must be a list of code prefixes, e.g. [\"R004\"]")
            values[key] = tuple(value)
    if "severity" in norm:
        severity = norm["severity"]
        if not isinstance(severity, dict):
            raise UsageError(f"{at('severity')}: severity must be a table of CODE = \"error\" or \"warning\"")
        for code, value in severity.items():
            if value not in SEVERITIES:
                raise UsageError(f"{at('severity', code)}: severity of {code} must be \"error\" or \"warning\", "
                                 f"not {value!r}")
        values["severity"] = dict(severity)
    if "catalogs" in norm:
        catalogs = norm["catalogs"]
        if not isinstance(catalogs, dict):
            raise UsageError(f"{at('catalogs')}: catalogs must be a table of axis = \"PATH[:COLUMN]\"")
        for axis, value in catalogs.items():
            if not isinstance(value, str):
                raise UsageError(f"{at('catalogs', axis)}: the catalog of {axis} must be text, \"PATH[:COLUMN]\"")
        values["catalogs"] = dict(catalogs)
    if "catalog-roots" in norm:
        roots = norm["catalog-roots"]
        if not isinstance(roots, list) or not all(isinstance(v, str) and v for v in roots):
            raise UsageError(f"{at('catalog-roots')}: catalog-roots must be a list of folders, e.g. [\"../shared\"]")
        values["catalog_roots"] = tuple((path.parent / root).absolute() for root in roots)
    limits = {}
    if "limits" in norm:
        if not isinstance(norm["limits"], dict):
            raise UsageError(f"{at('limits')}: limits must be a table")
        for key, value in norm["limits"].items():
            name = key.replace("-", "_")
            if name not in Limits.names():
                hint = did_you_mean(name, Limits.names())
                raise UsageError(f"{at('limits', key)}: unknown limit {key!r}" + (f" ({hint})" if hint else ""))
            limits[name] = _positive(value, f"limits.{key}", at, "limits", key)
    if "max-rows" in norm:  # the same limit as limits.max-rows, under its common name
        limits["max_rows"] = _positive(norm["max-rows"], "max-rows", at, "max-rows")
    values["limits"] = DEFAULT_LIMITS.updated(**limits)
    if "jobs" in norm:
        values["jobs"] = _positive(norm["jobs"], "jobs", at, "jobs")
    if "cache" in norm:
        values["cache"] = _expect(norm["cache"], bool, "cache", at, "cache")
    if "plugins" in norm:
        plugins = norm["plugins"]
        if not isinstance(plugins, dict) or not all(isinstance(v, dict) for v in plugins.values()):
            raise UsageError(f"{at('plugins')}: plugins must hold one table per plugin: [tool.{TABLE}.plugins.NAME]")
        values["plugins"] = {name: dict(table) for name, table in plugins.items()}
        values["plugin_locations"] = {(name, *key): at("plugins", name, *key)
                                      for name, table in plugins.items() for key in [(), *((k,) for k in table)]}
    return Settings(**values)


def check_plugin_settings(settings: Settings, registry) -> None:
    """Each ``[tool.cohort-dsl.plugins.NAME]`` table names an installed
    plugin that declares settings (``cohort_dsl_plugin_settings``) and is
    valid against its schema; anything else is a usage error naming the
    table and the key."""
    if not settings.plugins:
        return
    fallback = f"{settings.path}" if settings.path else "settings"

    def where(*key) -> str:
        return settings.plugin_locations.get(key) or settings.plugin_locations.get(key[:1]) or fallback

    for name, table in settings.plugins.items():
        heading = f"[tool.{TABLE}.plugins.{name}]"
        schema = registry.plugin_settings.get(name)
        if schema is None:
            known = sorted(registry.plugin_settings)
            hint = did_you_mean(name, known) or (f"plugins with settings: {', '.join(known)}" if known
                                                 else "no installed plugin declares settings")
            raise UsageError(f"{where(name)}: {heading}: no installed plugin named {name!r} has settings ({hint})")
        from jsonschema import Draft202012Validator

        problems = sorted(Draft202012Validator(schema).iter_errors(table), key=lambda e: [str(p) for p in e.path])
        problem = problems[0] if problems else None
        if problem is not None:
            path = [str(p) for p in problem.absolute_path]
            key = ".".join(path) or "(the table)"
            raise UsageError(f"{where(name, *path[:1])}: {heading} {key}: {problem.message}")


# ``at(*where)`` is called only for the error: locating a key scans the file's text
def _expect(value, kind, key, at, *where):
    if not isinstance(value, kind):
        raise UsageError(f"{at(*where)}: {key} must be {'text' if kind is str else kind.__name__}")
    return value


def _positive(value, key, at, *where) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise UsageError(f"{at(*where)}: {key} must be a positive integer, not {value!r}")
    return value

