"""Scaffolding: a new data repo (``init``) and a new cohort (``new``)
(docs/cohorts.md, "Adopting cohort-dsl").

``init`` detects the catalogs among the CSVs under the data root (by file
name and header: a ``draft_templates.csv`` with ``template_id`` catalogs
``draft_template``), and writes ``pyproject.toml``, ``.pre-commit-config.yaml``,
``.gitignore`` and a first cohort, never replacing a file that exists. ``new``
writes a commented starter spec, or copies another cohort's bundle; it is
staged in the data root and published by one rename, and refuses an id that
exists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cohort_dsl.records import Record

#: what other repositories put in their .pre-commit-config.yaml (the repo's .pre-commit-hooks.yaml)
HOOK_REPO = "https://github.com/cohort-dsl/cohort-dsl"
HOOK_ID = "cohort-dsl-lint"
FIRST_COHORT = "first-cohort"

#: per kind of axis: what a catalog's file name contains, and the columns tried for its values
_DETECT = {"template": ("template", ("template_id", "id")),
           "llm": ("llm|model", ("id", "llm_model_id", "model_id", "llm_id")),
           "combo": ("combo", ("combo_id", "id"))}


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class Detected(Record):
    """A catalog found for an axis (or the reason none was)."""

    axis: str
    ref: str | None  # "PATH:COLUMN" relative to the data root
    note: str = ""

    def __init__(self, axis: str, ref: str | None, note: str = ""):
        self.axis, self.ref, self.note = axis, ref, note


def layout_axes(layout) -> list[tuple[str, str, str]]:
    """``(axis, kind, stage)`` of every column a layout reads but replicates."""
    out = []
    for stage in layout.stages:
        for kind, names in (("combo", stage.combo), ("template", stage.template), ("llm", stage.llm)):
            if names:
                out.append((names[0], kind, stage.name))
    return out


def detect_catalogs(data_root, layout) -> list[Detected]:
    """One :class:`Detected` per axis of the layout: a CSV under the data
    root whose name says the axis (its stage and kind, or the kind alone
    when only one file has it) and whose header has a value column."""
    import csv
    import re

    headers = {}
    for path in data_root.catalog_candidates():  # regular files only: a FIFO would hang
        try:  # the header line only
            with open(path, encoding="utf-8-sig", newline="") as handle:
                headers[path] = [h.strip() for h in next(csv.reader([handle.readline(1 << 16)]), [])]
        except (OSError, UnicodeDecodeError, csv.Error):
            continue
    found = []
    for axis, kind, stage in layout_axes(layout):
        pattern, columns = _DETECT[kind]
        by_kind = [p for p in headers if re.search(pattern, p.stem.lower())]
        by_stage = [p for p in by_kind if stage in p.stem.lower()]
        candidates = by_stage or ([] if kind == "template" else by_kind)
        usable = [(p, next(c for c in (axis, *columns) if c in headers[p])) for p in candidates
                  if any(c in headers[p] for c in (axis, *columns))]
        if len(usable) == 1:
            path, column = usable[0]
            found.append(Detected(axis, f"{path.relative_to(data_root.path).as_posix()}:{column}"))
        else:
            names = ", ".join(p.relative_to(data_root.path).as_posix() for p, _ in usable)
            found.append(Detected(axis, None, f"several candidates ({names}): configure it by hand" if usable else
                                  "no catalog found"))
    return found


def settings_text(data_root_name: str, catalogs: dict[str, str]) -> str:
    table = "".join(f"{axis} = {json.dumps(ref)}\n" for axis, ref in catalogs.items())
    return ("# A data repo: this table configures cohort-dsl (the data root, and the catalogs\n"
            "# every cohort is checked against: axis = \"PATH:COLUMN\" under the data root).\n"
            f"[tool.cohort-dsl]\ndata-root = {json.dumps(data_root_name)}\n"
            + (f"\n[tool.cohort-dsl.catalogs]\n{table}" if table else ""))


def precommit_text() -> str:
    return ("repos:\n"
            f"  - repo: {HOOK_REPO}\n"
            "    rev: main  # `pre-commit autoupdate --freeze` pins a commit\n"
            "    hooks:\n"
            f"      - id: {HOOK_ID}  # lints the bundles a commit touches (every bundle when a catalog changes)\n")


def gitignore_text() -> str:
    from cohort_dsl.cache import DIRECTORY

    return f"# cohort-dsl's lint cache\n{DIRECTORY}/\n"


def starter_spec(cohort_id: str, layout, catalogs: dict) -> str:
    """A commented spec with one level per axis: the first value of the
    axis's catalog (so it lints clean), or a placeholder."""
    from cohort_dsl.importer import scalar

    lines = []
    for axis, kind, stage in layout_axes(layout):
        catalog = catalogs.get(axis)
        value = next(iter(catalog.rows), None) if catalog is not None else None
        note = "  # the first value of its catalog" if value else "  # no catalog configured for this axis"
        lines.append(f"  {axis}: [{scalar(value or axis.replace('_', '-') + '-1')}]{note}")
    replicates = [stage.replicate[0] for stage in layout.stages if stage.replicate]
    return (f"# {cohort_id} — what this experiment asks, and why these levels.\n"
            "#\n"
            "# One level per axis to start: list more (or `@file:items/<axis>.csv`), couple axes\n"
            "# with rules (ties, pairs, tuples, subsets)"
            + (f", add replicate axes such as\n# {replicates[0]}: [1, 2, 3]" if replicates else "")
            + ". The DSL: docs/spec_dsl.md in cohort-dsl.\n"
            "# Levels a legacy catalog marked active: `cohort-dsl migrate-catalogs` writes them to\n"
            "# selections/<axis>.csv; copy one into items/ and keep them with\n"
            "#   rules: {subsets: {AXIS: '@file:items/AXIS.csv'}}\n"
            "#\n"
            f"# Check it: cohort-dsl explain <this folder>; cohort-dsl lint; then cohort-dsl materialize {cohort_id}\n"
            "\naxes:\n" + "\n".join(lines) + "\n")


def create_cohort(data_root, cohort_id: str, files: dict[str, bytes] | None = None, source: Path | None = None) -> Path:
    """A new cohort folder with a spec bundle (``files``, or a copy of the
    bundle at ``source``), staged inside the data root and published by
    one rename; an existing cohort folder is refused."""
    import os
    import shutil

    from cohort_dsl.files import TEMP_PREFIX
    from cohort_dsl.diagnostics import UsageError
    from cohort_dsl.importer import SPEC_EXISTS, refusal

    target = data_root.cohort_dir(data_root.check_cohort_id(cohort_id))
    if os.path.lexists(target):
        raise refusal(SPEC_EXISTS, f"cohort {cohort_id} already exists", target,
                      "choose another id (a cohort that ran is never replaced)")
    if target.parent.exists() and data_root.escapes(target.parent) is not None:
        raise UsageError(f"{target.parent} leads outside the data root through a symbolic link: nothing is written there")
    staging = data_root.staging_dir("new")
    try:
        staged = staging / "cohort"
        if source is not None:
            # links stay links: one leading out of the bundle is refused by lint (I002) in the copy too,
            # never turned into a copy of what it points at
            shutil.copytree(source, staged / "spec", symlinks=True, ignore=shutil.ignore_patterns(TEMP_PREFIX + "*"))
        else:
            for name, data in (files or {}).items():
                (staged / "spec" / name).parent.mkdir(parents=True, exist_ok=True)
                (staged / "spec" / name).write_bytes(data)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staged, target)  # fails, changing nothing, if the id appeared meanwhile
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return data_root.spec_dir(cohort_id)


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class InitPlan(Record):
    """What ``init`` writes in a folder: the catalogs found, then the files."""

    root: Path
    data_root_name: str
    layout: object

    def __init__(self, root: Path, data_root_name: str, layout: object):
        self.root, self.data_root_name, self.layout = root, data_root_name, layout

    @property
    def data_root(self):
        from cohort_dsl.dataroot import DataRoot

        return DataRoot(self.root / self.data_root_name)

    def detect(self) -> list[Detected]:
        return detect_catalogs(self.data_root, self.layout)

    def write(self, catalogs: dict[str, str], cohort_id: str, registry) -> list[tuple[Path, bool]]:
        """Write each file that does not exist (``(path, written)`` for
        each): the settings with ``catalogs``, the pre-commit config, the
        .gitignore, and the first cohort, whose levels come from them."""
        from cohort_dsl.catalogs import load_catalogs, parse_ref

        out = []
        for name, text in (("pyproject.toml", settings_text(self.data_root_name, catalogs)),
                           (".pre-commit-config.yaml", precommit_text()), (".gitignore", gitignore_text())):
            out.append((self.root / name, create_file(self.root / name, text)))
        refs = [parse_ref(axis, ref, self.data_root.path, "init") for axis, ref in catalogs.items()]
        loaded, _ = load_catalogs(refs, registry)  # one that cannot be read gives placeholders; lint says why
        cohort = self.data_root.cohort_dir(cohort_id)
        if cohort.exists():
            out.append((cohort, False))
        else:
            spec = starter_spec(cohort_id, self.layout, loaded).encode("utf-8")
            out.append((create_cohort(self.data_root, cohort_id, {"config.yaml": spec}) / "config.yaml", True))
        return out


def create_file(path: Path, text: str) -> bool:
    """Write ``path`` unless something is there (False then): a temporary
    file hard-linked into place, so the file appears whole and an existing
    one is never replaced."""
    import os

    from cohort_dsl.files import open_temp_beside

    if os.path.lexists(path):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = open_temp_beside(path)
    try:
        with handle:
            handle.write(text)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
    finally:
        os.unlink(tmp)
    return True
