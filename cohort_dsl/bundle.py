"""A spec bundle: a folder holding ``config.yaml`` and the files it includes.

``load_bundle`` reads the entry document; includes are read on demand (and
once) through :meth:`Bundle.include`, always confined to the bundle folder.
``load_mapping`` makes a bundle from an in-memory mapping (tests, embedding).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from cohort_dsl.diagnostics import Location, SpecError, UsageError, error
from cohort_dsl.document import YAML_LIMIT, Document, load_yaml
from cohort_dsl.includes import INCLUDE_MISSING, Include, read, resolve
from cohort_dsl.limits import DEFAULT_LIMITS, Limits
from cohort_dsl.records import Record
from cohort_dsl.registry import LintRule

CONFIG_NAME = "config.yaml"
TOP_LEVEL = LintRule("S003", "not-a-mapping", "The spec is empty or not a mapping.",
                     "config.yaml must be a mapping with at least `axes:`.")


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class Bundle(Record):
    """A spec bundle: its folder, its parsed config.yaml and the includes read from it (cached)."""

    directory: Path | None
    document: Document
    limits: Limits = DEFAULT_LIMITS
    _includes: dict = field(default_factory=dict)
    #: plugin name -> its [tool.cohort-dsl.plugins.NAME] table (read by rule
    #: kinds through ``Section.settings_for``)
    plugin_settings: Mapping = field(default_factory=dict)

    def __init__(self, directory: Path | None, document: Document, limits: Limits = DEFAULT_LIMITS,
                 _includes: dict | None = None, plugin_settings: Mapping | None = None):
        self.directory, self.document, self.limits = directory, document, limits
        self._includes = {} if _includes is None else _includes
        self.plugin_settings = {} if plugin_settings is None else plugin_settings

    @property
    def config_path(self) -> Path | None:
        return self.directory / CONFIG_NAME if self.directory else None

    @property
    def data(self) -> dict:
        return self.document.data

    def include(self, ref: str, at: Location) -> Include:
        """Read the file an ``@file:`` reference names (cached per bundle)."""
        if self.directory is None:
            raise error(INCLUDE_MISSING.code, f"{ref!r}: includes need a bundle folder (this spec was given as a mapping without base_dir)", at)
        path = resolve(ref, self.directory, at)
        key = str(path)
        cached = self._includes.get(key)
        if cached is None:
            cached = self._includes[key] = read(path, at, self.limits)
        return cached


def find_bundle_dir(path: str | Path) -> Path:
    """The bundle folder for a path given on the command line: the folder
    itself, its ``config.yaml``, or (for lint) any file inside the bundle."""
    p = Path(path)
    if p.is_dir():
        if (p / CONFIG_NAME).is_file():
            return p
        raise UsageError(f"{path}: no {CONFIG_NAME} in this folder (a spec bundle is a folder holding {CONFIG_NAME})")
    if not p.exists():
        raise UsageError(f"{path}: no such file or folder")
    if p.name == CONFIG_NAME:
        return p.parent
    for parent in p.resolve().parents:
        if (parent / CONFIG_NAME).is_file():
            return parent
    raise UsageError(f"{path}: not inside a spec bundle (no {CONFIG_NAME} above it)")


def load_bundle(path: str | Path, limits: Limits = DEFAULT_LIMITS, plugin_settings: Mapping | None = None) -> Bundle:
    """Load a bundle from its folder, its ``config.yaml`` or a file inside it."""
    directory = find_bundle_dir(path)
    config = directory / CONFIG_NAME
    shown = str(config.absolute())
    from cohort_dsl.files import TooLarge, read_bounded

    try:
        raw = read_bounded(config, limits.max_document_bytes)
    except TooLarge:
        raise error(YAML_LIMIT.code, f"{CONFIG_NAME} is above the limit of {limits.max_document_bytes:,} bytes",
                    Location(shown), hint="raise limits.max-document-bytes in the config if this is intended") from None
    except OSError as exc:
        raise error(INCLUDE_MISSING.code, f"cannot read {CONFIG_NAME}: {exc.strerror or exc}", Location(shown)) from None
    document = load_yaml(raw, shown, limits)
    _expect_mapping(document)
    return Bundle(directory.absolute(), document, limits, plugin_settings=dict(plugin_settings or {}))


def load_mapping(data, base_dir: str | Path | None = None, limits: Limits = DEFAULT_LIMITS) -> Bundle:
    """A bundle from an in-memory mapping (no positions); ``@file:`` includes
    resolve against ``base_dir`` when given."""
    document = Document(_plain(data), None)
    _expect_mapping(document)
    directory = Path(base_dir).absolute() if base_dir is not None else None
    return Bundle(directory, document, limits)


def _expect_mapping(document: Document) -> None:
    data = document.data
    if isinstance(data, dict):
        return
    if data is None:
        raise error(TOP_LEVEL.code, "the spec is empty", document.loc(), hint="a spec is a mapping with at least `axes:`")
    kind = "a list" if isinstance(data, list) else "a single value"
    raise error(TOP_LEVEL.code, f"the spec must be a mapping of keys (axes, rules, output), found {kind}", document.loc())


def _plain(value):
    """JSON-like copy of an in-memory spec (tuples become lists)."""
    if isinstance(value, dict):
        return {str(k) if isinstance(k, int) and not isinstance(k, bool) else k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


__all__ = ["Bundle", "load_bundle", "load_mapping", "find_bundle_dir", "SpecError"]
