"""Settings: ``[tool.cohort-dsl]`` in ``pyproject.toml`` or ``cohort-dsl.toml``.

Found by walking up from the working directory (``cohort-dsl.toml`` wins
over ``pyproject.toml`` in the same folder; a ``pyproject.toml`` without the
table is skipped). Keys::

    data-root = "data"            # relative to the config file
    max-rows = 1000000
    select = ["R", "C001"]        # code prefixes to report (default: all)
    ignore = ["R004"]             # code prefixes to drop
    [tool.cohort-dsl.catalogs]    # axis -> "PATH[:COLUMN]" under the data root
    draft_template = "1_raw/draft_templates.csv:template_id"
    [tool.cohort-dsl.limits]      # see cohort_dsl.limits.Limits
    max-include-bytes = 67108864

Command-line flags override the file. Errors here are usage errors (exit 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cohort_dsl.diagnostics import UsageError, did_you_mean
from cohort_dsl.limits import DEFAULT_LIMITS, Limits

CONFIG_FILE = "cohort-dsl.toml"
PYPROJECT = "pyproject.toml"
TABLE = "cohort-dsl"
KEYS = ("data-root", "max-rows", "select", "ignore", "catalogs", "limits", "jobs", "cache")


@dataclass
class Settings:
    path: Path | None = None
    data_root: Path = field(default_factory=lambda: Path("data").absolute())
    data_root_explicit: bool = False
    catalogs: dict[str, str] = field(default_factory=dict)
    max_rows: int | None = None
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    limits: Limits = DEFAULT_LIMITS
    jobs: int | None = None
    cache: bool = True

    @property
    def root(self) -> Path:
        return self.path.parent if self.path else Path.cwd()


def find_config(start: Path | None = None) -> Path | None:
    here = (start or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
        candidate = folder / PYPROJECT
        if candidate.is_file():
            try:
                text = candidate.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if "[tool.cohort-dsl" in text or '"cohort-dsl"' in text:
                return candidate
    return None


def load_settings(path: Path | str | None = None, start: Path | None = None) -> Settings:
    """Settings from ``path`` (or the config found above ``start``)."""
    if path is not None:
        path = Path(path).absolute()
        if not path.is_file():
            raise UsageError(f"{path}: no such config file")
    path = path or find_config(start)
    if path is None:
        settings = Settings()
        settings.data_root = (start or Path.cwd()).absolute() / "data"
        return settings
    table = _read_table(path)
    return _from_table(table, path)


def _read_table(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the config: {exc}") from None
    if path.name == CONFIG_FILE:
        return data.get("tool", {}).get(TABLE, data)
    return data.get("tool", {}).get(TABLE, {})


def _from_table(table: dict, path: Path) -> Settings:
    where = f"{path}: [tool.{TABLE}]" if path.name == PYPROJECT else str(path)
    norm = {key.replace("_", "-"): value for key, value in table.items()}
    for key in norm:
        if key not in KEYS:
            hint = did_you_mean(key, KEYS)
            raise UsageError(f"{where}: unknown key {key!r}" + (f" ({hint})" if hint else ""))
    settings = Settings(path=path)
    root = path.parent
    if "data-root" in norm:
        settings.data_root = (root / _expect(norm["data-root"], str, "data-root", where)).absolute()
        settings.data_root_explicit = True
    else:
        settings.data_root = (root / "data").absolute()
    if "max-rows" in norm:
        settings.max_rows = _positive(norm["max-rows"], "max-rows", where)
    for key in ("select", "ignore"):
        if key in norm:
            value = norm[key]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise UsageError(f"{where}: {key} must be a list of code prefixes, e.g. [\"R004\"]")
            setattr(settings, key, value)
    if "catalogs" in norm:
        catalogs = norm["catalogs"]
        if not isinstance(catalogs, dict) or not all(isinstance(v, str) for v in catalogs.values()):
            raise UsageError(f"{where}: catalogs must be a table of axis = \"PATH[:COLUMN]\"")
        settings.catalogs = dict(catalogs)
    if "limits" in norm:
        limits = norm["limits"]
        if not isinstance(limits, dict):
            raise UsageError(f"{where}: limits must be a table")
        values = {}
        for key, value in limits.items():
            name = key.replace("-", "_")
            if name not in Limits.names():
                hint = did_you_mean(name, Limits.names())
                raise UsageError(f"{where}: unknown limit {key!r}" + (f" ({hint})" if hint else ""))
            values[name] = _positive(value, f"limits.{key}", where)
        settings.limits = DEFAULT_LIMITS.updated(**values)
    if "jobs" in norm:
        settings.jobs = _positive(norm["jobs"], "jobs", where)
    if "cache" in norm:
        settings.cache = bool(_expect(norm["cache"], bool, "cache", where))
    if settings.max_rows is not None:
        settings.limits = settings.limits.updated(max_rows=settings.max_rows)
    return settings


def _expect(value, kind, key, where):
    if not isinstance(value, kind):
        raise UsageError(f"{where}: {key} must be {'text' if kind is str else kind.__name__}")
    return value


def _positive(value, key, where) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise UsageError(f"{where}: {key} must be a positive integer, not {value!r}")
    return value

