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
    [tool.cohort-dsl.catalogs]    # axis -> "PATH[:COLUMN]" under the data root
    draft_template = "1_raw/draft_templates.csv:template_id"
    [tool.cohort-dsl.limits]      # see cohort_dsl.limits.Limits
    max-include-bytes = 67108864
    [tool.cohort-dsl.plugins.example]   # a plugin's own settings (its schema)
    allow-self-grading = ["sonnet-4"]

Command-line flags override the file. Errors here are usage errors (exit 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Mapping

from cohort_dsl.diagnostics import SEVERITIES, UsageError, did_you_mean
from cohort_dsl.limits import DEFAULT_LIMITS, Limits

CONFIG_FILE = "cohort-dsl.toml"
PYPROJECT = "pyproject.toml"
TABLE = "cohort-dsl"
KEYS = ("data-root", "max-rows", "select", "ignore", "severity", "catalogs", "limits", "jobs", "cache", "plugins")


@dataclass(frozen=True)
class Settings:
    """Resolved settings: read once, never changed. Command-line flags
    make a new object with :meth:`override`."""

    path: Path | None = None
    data_root: Path = field(default_factory=lambda: Path("data").absolute())
    data_root_explicit: bool = False
    catalogs: Mapping[str, str] = field(default_factory=dict)
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
        data = _toml().loads(text)
    except ValueError:
        return "[tool.cohort-dsl" in text  # broken, but meant for us: report its error
    tool = data.get("tool")
    return isinstance(tool, dict) and isinstance(tool.get(TABLE), dict)


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
    table = _read_table(path)
    return _from_table(table, path)


def _read_table(path: Path) -> dict:
    """The settings table of a config file; a file that is not UTF-8, not
    TOML, or whose table is not a table is a usage error located in it."""
    import re

    tomllib = _toml()
    try:
        with open(path, "rb") as handle:
            raw = handle.read(1 << 24)
        data = tomllib.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the config: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise UsageError(f"{path}:{line}: the config is not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+), column (\d+)", str(exc))
        where = f"{path}:{found.group(1)}:{found.group(2)}" if found else str(path)
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise UsageError(f"{where}: invalid TOML: {message}") from None
    if path.name == CONFIG_FILE and not isinstance(data.get("tool"), dict):
        return data
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise UsageError(f"{path}: `tool` must be a table ([tool.{TABLE}])")
    table = tool.get(TABLE, data if path.name == CONFIG_FILE else {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [tool.{TABLE}] must be a table of settings, not {type(table).__name__}")
    return table


def _from_table(table: dict, path: Path) -> Settings:
    where = f"{path}: [tool.{TABLE}]" if path.name == PYPROJECT else str(path)
    norm = {key.replace("_", "-"): value for key, value in table.items()}
    for key in norm:
        if key not in KEYS:
            hint = did_you_mean(key, KEYS)
            raise UsageError(f"{where}: unknown key {key!r}" + (f" ({hint})" if hint else ""))
    values: dict = {"path": path, "data_root": (path.parent / "data").absolute()}
    if "data-root" in norm:
        values["data_root"] = (path.parent / _expect(norm["data-root"], str, "data-root", where)).absolute()
        values["data_root_explicit"] = True
    for key in ("select", "ignore"):
        if key in norm:
            value = norm[key]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise UsageError(f"{where}: {key} must be a list of code prefixes, e.g. [\"R004\"]")
            values[key] = tuple(value)
    if "severity" in norm:
        severity = norm["severity"]
        if not isinstance(severity, dict) or not all(v in SEVERITIES for v in severity.values()):
            raise UsageError(f"{where}: severity must be a table of CODE = \"error\" or \"warning\"")
        values["severity"] = dict(severity)
    if "catalogs" in norm:
        catalogs = norm["catalogs"]
        if not isinstance(catalogs, dict) or not all(isinstance(v, str) for v in catalogs.values()):
            raise UsageError(f"{where}: catalogs must be a table of axis = \"PATH[:COLUMN]\"")
        values["catalogs"] = dict(catalogs)
    limits = {}
    if "limits" in norm:
        if not isinstance(norm["limits"], dict):
            raise UsageError(f"{where}: limits must be a table")
        for key, value in norm["limits"].items():
            name = key.replace("-", "_")
            if name not in Limits.names():
                hint = did_you_mean(name, Limits.names())
                raise UsageError(f"{where}: unknown limit {key!r}" + (f" ({hint})" if hint else ""))
            limits[name] = _positive(value, f"limits.{key}", where)
    if "max-rows" in norm:  # the same limit as limits.max-rows, under its common name
        limits["max_rows"] = _positive(norm["max-rows"], "max-rows", where)
    values["limits"] = DEFAULT_LIMITS.updated(**limits)
    if "jobs" in norm:
        values["jobs"] = _positive(norm["jobs"], "jobs", where)
    if "cache" in norm:
        values["cache"] = _expect(norm["cache"], bool, "cache", where)
    if "plugins" in norm:
        plugins = norm["plugins"]
        if not isinstance(plugins, dict) or not all(isinstance(v, dict) for v in plugins.values()):
            raise UsageError(f"{where}: plugins must hold one table per plugin: [tool.{TABLE}.plugins.NAME]")
        values["plugins"] = {name: dict(table) for name, table in plugins.items()}
    return Settings(**values)


def check_plugin_settings(settings: Settings, registry) -> None:
    """Each ``[tool.cohort-dsl.plugins.NAME]`` table names an installed
    plugin that declares settings (``cohort_dsl_plugin_settings``) and is
    valid against its schema; anything else is a usage error naming the
    table and the key."""
    if not settings.plugins:
        return
    where = f"{settings.path}: " if settings.path else ""
    for name, table in settings.plugins.items():
        heading = f"[tool.{TABLE}.plugins.{name}]"
        schema = registry.plugin_settings.get(name)
        if schema is None:
            known = sorted(registry.plugin_settings)
            hint = did_you_mean(name, known) or (f"plugins with settings: {', '.join(known)}" if known
                                                 else "no installed plugin declares settings")
            raise UsageError(f"{where}{heading}: no installed plugin named {name!r} has settings ({hint})")
        from jsonschema import Draft202012Validator

        problems = sorted(Draft202012Validator(schema).iter_errors(table), key=lambda e: [str(p) for p in e.path])
        problem = problems[0] if problems else None
        if problem is not None:
            key = ".".join(str(p) for p in problem.absolute_path) or "(the table)"
            raise UsageError(f"{where}{heading} {key}: {problem.message}")


def _expect(value, kind, key, where):
    if not isinstance(value, kind):
        raise UsageError(f"{where}: {key} must be {'text' if kind is str else kind.__name__}")
    return value


def _positive(value, key, where) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise UsageError(f"{where}: {key} must be a positive integer, not {value!r}")
    return value

