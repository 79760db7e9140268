"""The lint cache: a bundle's diagnostics, keyed by everything they depend
on, so that a hit is always what a fresh lint would say. It can miss; it
never lies.

- **The run** (one fingerprint): cohort-dsl's version and the code of every
  active plugin (name, distribution, version, and a digest of the module
  files, so an edited editable install misses), the settings file's bytes,
  every option value that can change a finding (plugin options included),
  the selection, the limits, the severities, the configured catalogs and
  the bytes of every catalog as they were read (kept in an entry of their
  own, so that a run whose bundles all hit does not parse the catalogs).
- **The bundle**: the digest of the exact bytes each read consumed while
  the bundle was linted — config.yaml, each include, the committed
  membership.csv (or the fact that there was none). An entry lists them;
  a lookup re-reads them (regular files only, bounded) and hits only when
  every one is unchanged. A file that changed during the lint (its bytes
  now differ from what was read) is not stored.
- **The entry** carries a digest over its own content: a truncated,
  edited or foreign file is a miss, never a pass.

Entries live in ``.cohort-dsl-cache/`` beside the config file (or in the
working directory), which holds its own ``.gitignore``; delete the folder
to clear it. ``--no-cache``, ``cache = false`` in the config or
``COHORT_DSL_NO_CACHE=1`` turn it off (see docs/ci.md).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from cohort_dsl import __version__
from cohort_dsl.diagnostics import Diagnostic, Location
from cohort_dsl.files import ABSENT, current_digest, digest_bytes, digest_file

DIRECTORY = ".cohort-dsl-cache"
DISABLE_ENV = "COHORT_DSL_NO_CACHE"
FORMAT = 2
#: option values that only change how a report looks, not what it finds
PRESENTATION = frozenset({"format", "output", "color", "quiet", "statistics", "exit_zero", "jobs", "no_cache", "paths",
                          "all", "tracked_only", "engine", "run", "command", "config", "disable_plugin",
                          "require_plugins"})
_code_digests: dict[str, str] = {}


class LintCache:
    def __init__(self, root: Path, run_fingerprint: str, limit: int):
        self.directory = Path(root) / DIRECTORY / f"v{FORMAT}"
        self.run_fingerprint = run_fingerprint
        self.limit = limit  # the byte bound for re-reading a recorded file
        #: set when the catalogs read differ from those the run was keyed on: nothing more is stored
        self.frozen = False

    @classmethod
    def for_run(cls, run, refs: list) -> "LintCache | None":
        """The cache of a lint run, or None when caching is off or a catalog
        cannot be read (a broken catalog is reported afresh each run).

        The catalogs' reads complete the run's fingerprint. They are kept in
        an entry of their own, keyed by the rest of the fingerprint and the
        configured catalogs (symlinks resolved): when every file it lists
        still has its bytes, the catalogs are not read now — only if a
        bundle misses (:meth:`cohort_dsl.lint.LintRun.read_catalogs`)."""
        settings = run.settings
        if not settings.cache or os.environ.get(DISABLE_ENV) or getattr(run.options, "no_cache", False):
            return None
        registry = run.engine.registry
        options = {k: repr(v) for k, v in sorted(vars(run.options).items()) if k not in PRESENTATION} \
            if run.options is not None else {}
        parts = [
            __version__,
            plugin_code(registry),
            _settings_digest(settings),
            options,
            sorted(run.selection.select), sorted(run.selection.ignore),
            repr(settings.limits), sorted(settings.severity.items()),
            sorted(settings.plugins.items()),  # per-plugin settings (also given in code, without a file)
        ]
        limits = settings.limits
        cache = cls(settings.root, _digest(parts), max(limits.max_include_bytes, limits.max_document_bytes))
        catalogs_key = _digest([cache.run_fingerprint, "catalogs", [_ref_key(ref) for ref in refs]])
        entry = cache._entry(catalogs_key)
        if entry is not None:
            run.catalog_reads = dict(entry["reads"])
        elif run.read_catalogs():
            return None
        else:
            cache._store(catalogs_key, run.catalog_reads, {})
        cache.run_fingerprint = _digest([catalogs_key, sorted(run.catalog_reads.items())])
        return cache

    def key(self, config_path: Path) -> str:
        """Where a bundle's entry lives: the run and the bundle's path."""
        return _digest([self.run_fingerprint, str(Path(config_path).absolute())])

    def get(self, key: str) -> list[Diagnostic] | None:
        """The stored diagnostics, when the entry is intact and every file
        it read still has the bytes it had."""
        entry = self._entry(key)
        try:
            return None if entry is None else [_load(item) for item in entry["diagnostics"]]
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def put(self, key: str, diagnostics: list[Diagnostic], reads: dict[str, str]) -> None:
        """Store a result with the digests of the bytes it was computed
        from — unless a file changed while it was being read."""
        self._store(key, reads, {"diagnostics": [_dump(d) for d in diagnostics]})

    def _entry(self, key: str) -> dict | None:
        """The body of an intact entry whose recorded files all still have
        the bytes they had, else None."""
        try:
            with open(self.directory / key[:2] / f"{key}.json", encoding="utf-8") as handle:
                entry = json.load(handle)
            body = entry["body"]
            if entry["digest"] != _entry_digest(body) or body["key"] != key:
                return None
            for path, digest in body["reads"]:
                if current_digest(path, digest, self.limit) != digest:
                    return None
            return body
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def _store(self, key: str, reads: dict[str, str], content: dict) -> None:
        if self.frozen:
            return
        from cohort_dsl.files import write_text

        try:
            if any(current_digest(path, digest, self.limit) != digest for path, digest in reads.items()):
                return  # changed mid-run: the result may belong to neither version
            body = {"key": key, "reads": sorted(reads.items()), **content}
            self._ensure_directory()
            write_text(self.directory / key[:2] / f"{key}.json",
                       json.dumps({"digest": _entry_digest(body), "body": body}))
        except OSError:
            pass  # a read-only checkout: linting still works, just uncached

    def _ensure_directory(self) -> None:
        top = self.directory.parent
        if not top.is_dir():
            top.mkdir(parents=True, exist_ok=True)
            (top / ".gitignore").write_text("# Automatically created by cohort-dsl.\n*\n", encoding="utf-8")


def _digest(parts) -> str:
    return digest_bytes(json.dumps(parts, default=str).encode("utf-8"))


def _ref_key(ref) -> list:
    """A configured catalog as its reading depends on it: where it is (and
    where its symlinks lead), its column, and the folders it must stay in."""
    return [ref.axis, str(ref.path), os.path.realpath(ref.path), ref.column, ref.origin,
            [os.path.realpath(root) for root in ref.confine]]


def _entry_digest(body: dict) -> str:
    return digest_bytes(json.dumps(body, sort_keys=True).encode("utf-8"))


def _settings_digest(settings) -> str:
    if settings.path is None:
        return ABSENT
    try:
        return digest_file(settings.path, 1 << 24)
    except OSError:
        return ABSENT


def plugin_code(registry) -> list:
    """Every active plugin by name, distribution, version and a digest of
    the code it runs, sorted: what a stored result computed by plugins
    depends on besides its inputs."""
    return sorted((p.name, p.dist, p.version, _code_digest(registry.plugin_objects.get(p.name), p))
                  for p in registry.plugins)


def _code_digest(obj, info) -> str:
    """A digest of the source files a plugin runs: its module's (its
    package's files for a package), and for the built-ins the whole
    cohort_dsl package. An editable install edited in place keeps its
    version but changes this."""
    if info.builtin:
        obj = sys.modules["cohort_dsl"]
    module = obj if hasattr(obj, "__file__") else sys.modules.get(getattr(type(obj), "__module__", ""), None)
    origin = getattr(module, "__file__", None)
    if not origin:
        return "-"
    known = _code_digests.get(origin)
    if known is not None:
        return known
    folder, name = os.path.split(origin)
    parts = []
    for relative in _sources(folder) if name == "__init__.py" else [name]:
        try:
            parts.append(f"{relative}:{digest_file(os.path.join(folder, relative), 1 << 24)}")
        except OSError:
            parts.append(f"{relative}:?")
    _code_digests[origin] = known = digest_bytes("\n".join(parts).encode("utf-8"))
    return known


def _sources(folder: str) -> list[str]:
    """The ``.py`` files below a package folder, relative to it, sorted
    (os.walk: a third of the time of ``Path.rglob`` on a run's path)."""
    found = []
    for top, folders, names in os.walk(folder):
        folders[:] = [f for f in folders if f != "__pycache__"]
        found += [os.path.relpath(os.path.join(top, n), folder) for n in names if n.endswith(".py")]
    return sorted(found)


def _dump(d: Diagnostic) -> dict:
    loc = d.location
    return {"code": d.code, "message": d.message, "path": loc.path, "line": loc.line, "col": loc.col,
            "severity": d.severity, "hint": d.hint, "plugin": d.plugin}


def _load(item: dict) -> Diagnostic:
    return Diagnostic(item["code"], item["message"], Location(item["path"], item["line"], item["col"]),
                      item["severity"], item["hint"], item["plugin"])
