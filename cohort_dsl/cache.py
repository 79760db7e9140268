"""The lint cache: a bundle's diagnostics, keyed by everything they depend on.

The key hashes the tool version, the installed plugins, the settings that
change results, every file of the bundle, every catalog and the cohort's
committed membership.csv. Any change misses the cache; nothing is ever
invalidated by time. Entries live in ``.cohort-dsl-cache/`` beside the
config file (or in the working directory), which holds its own
``.gitignore``. ``--no-cache``, ``cache = false`` in the config or
``COHORT_DSL_NO_CACHE=1`` turn it off.
"""

from __future__ import annotations

import json
import os

try:  # the C module itself: importing hashlib also loads OpenSSL (~3 ms)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - other Python implementations
    from hashlib import blake2b
from pathlib import Path

from cohort_dsl import __version__
from cohort_dsl.dataroot import DataRoot
from cohort_dsl.diagnostics import Diagnostic, Location

DIRECTORY = ".cohort-dsl-cache"
DISABLE_ENV = "COHORT_DSL_NO_CACHE"
FORMAT = 1


class LintCache:
    def __init__(self, root: Path, run_fingerprint: str):
        self.directory = Path(root) / DIRECTORY / f"v{FORMAT}"
        self.run_fingerprint = run_fingerprint
        self._file_hashes: dict[str, str] = {}

    @classmethod
    def for_run(cls, run, catalog_paths) -> "LintCache | None":
        settings = run.settings
        if not settings.cache or os.environ.get(DISABLE_ENV) or getattr(run.options, "no_cache", False):
            return None
        registry = run.engine.registry
        parts = [
            __version__,
            sorted(f"{p.name}={p.dist}:{p.version}" for p in registry.plugins),
            sorted(run.selection.select), sorted(run.selection.ignore),
            repr(settings.limits), sorted(settings.severity.items()),
            sorted((axis, str(cat.path), cat.column) for axis, cat in run.catalogs.items()),
        ]
        cache = cls(settings.root, "")
        parts.append(sorted(cache.file_hash(p) for p in catalog_paths))
        cache.run_fingerprint = _digest(json.dumps(parts, default=str))
        return cache

    def file_hash(self, path) -> str:
        key = str(path)
        known = self._file_hashes.get(key)
        if known is None:
            try:
                with open(path, "rb") as handle:
                    known = blake2b(handle.read(), digest_size=16).hexdigest()
            except OSError:
                known = "-"
            self._file_hashes[key] = known
        return known

    def key(self, config_path: Path) -> str:
        bundle = Path(config_path).parent
        files = []
        for dirpath, dirnames, filenames in os.walk(bundle):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                files.append((os.path.relpath(path, bundle), self.file_hash(path)))
        located = DataRoot.of_bundle(bundle)
        extra = self.file_hash(located[0].membership_file(located[1])) if located else ""
        return _digest(json.dumps([self.run_fingerprint, str(bundle.absolute()), files, extra]))

    def get(self, key: str) -> list[Diagnostic] | None:
        try:
            with open(self.directory / key[:2] / f"{key}.json", encoding="utf-8") as handle:
                payload = json.load(handle)
            return [_load(item) for item in payload]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, diagnostics: list[Diagnostic]) -> None:
        from cohort_dsl.files import write_text

        try:
            self._ensure_directory()
            write_text(self.directory / key[:2] / f"{key}.json", json.dumps([_dump(d) for d in diagnostics]))
        except OSError:
            pass  # a read-only checkout: linting still works, just uncached

    def _ensure_directory(self) -> None:
        top = self.directory.parent
        if not top.is_dir():
            top.mkdir(parents=True, exist_ok=True)
            (top / ".gitignore").write_text("# Automatically created by cohort-dsl.\n*\n", encoding="utf-8")


def _digest(text: str) -> str:
    return blake2b(text.encode("utf-8"), digest_size=20).hexdigest()


def _dump(d: Diagnostic) -> dict:
    loc = d.location
    return {"code": d.code, "message": d.message, "path": loc.path, "line": loc.line, "col": loc.col,
            "severity": d.severity, "hint": d.hint, "plugin": d.plugin}


def _load(item: dict) -> Diagnostic:
    return Diagnostic(item["code"], item["message"], Location(item["path"], item["line"], item["col"]),
                      item["severity"], item["hint"], item["plugin"])
