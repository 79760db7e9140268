"""Materialize a cohort: membership files written atomically, never a
silent change to a cohort that already ran.

Writes under ``<data-root>/cohorts/<cohort_id>/``:

- ``membership.csv``: exactly ``stage,gen_id`` (the contract downstream
  consumers read);
- ``membership_wide.csv``: every membership column;
- ``manifest.json``: a derived view (combos, templates, llms and replicate
  counts per stage, the membership's hash, the spec bundle's hash and the
  tool version) — never an independent truth;
- with ``seed_metadata``: ``<data-root>/gens/<stage>/<gen_id>/metadata.json``
  for each generation that has none (an existing file is never touched).
  Before anything is written, every existing ``metadata.json`` is compared
  with the record that would be seeded: a different id-bearing field
  (:data:`METADATA_CONFLICT`) refuses the whole run, a different attribute
  (:data:`METADATA_DIFFERS`) is a warning.

All three files are written to temporary files first and renamed into place
(``membership.csv`` last); the same spec and catalogs give byte-identical
files. If a ``membership.csv`` exists and the new one differs, nothing is
written and the difference is summarised, unless ``force``.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from cohort_dsl import __version__
from cohort_dsl.dataroot import MEMBERSHIP_FILE, DataRoot
from cohort_dsl.diagnostics import ERROR, WARNING, Diagnostic, Location, SpecError
from cohort_dsl.membership import SLIM_COLUMNS, STALE_MEMBERSHIP
from cohort_dsl.records import Record
from cohort_dsl.registry import LintRule

# cohort_dsl.files (tempfile) and cohort_dsl.service are imported where they
# are used: the core plugin imports this module for its codes on every run.

METADATA_CONFLICT = LintRule("M007", "metadata-conflict",
                             "An existing metadata.json contradicts the generation the spec gives that id.",
                             "`materialize --seed-metadata` compares every existing `gens/<stage>/<gen_id>/metadata.json` "
                             "with the record it would seed, before writing anything. A different value in a field that "
                             "is part of the generation's id (`stage`, `gen_id`, `template_id`, `combo_id` of a first-stage "
                             "record, `parent_gen_id` otherwise, `llm_model_id` when the stage's llm is part of its id, "
                             "`replicate`), or a file that is not a readable JSON object, means the folder holds something "
                             "else than this generation: nothing is written, even with `--force`. Values are compared as "
                             "the file has them (a string with the spec's text, the replicate as a JSON integer). Correct "
                             "or move the file.", ERROR)
METADATA_DIFFERS = LintRule("M008", "metadata-differs",
                            "An existing metadata.json differs from its seed in attributes only.",
                            "The file is kept as it is and materialize goes on. Attributes are `mode`, `origin_cohort_id` "
                            "(a generation shared with another cohort keeps the origin it was first seeded with), the "
                            "llm of a stage whose llm is not part of its id (the essay's `llm_model_id` in the two-phase "
                            "layout), keys materialize does not write, and keys materialize would write that the file "
                            "lacks.", WARNING)

INPUT_CHANGED = LintRule("M014", "input-changed-during-run", "A spec file or catalog changed while materialize read it.",
                         "materialize checks a cohort (as `lint` does) and then compiles it, and records in manifest.json "
                         "the digest of every spec file and catalog it read. A file whose bytes differ between the two "
                         "reads was edited during the run: the membership might belong to neither version, so nothing "
                         "is written. Run it again once the edit is saved.", ERROR)

DEFAULT_MODE = "llm"
#: Diagnostics of one code reported one by one; the rest are counted in one more.
MAX_REPORTED = 50
#: A metadata.json larger than this is not read (a seed is a few hundred bytes).
MAX_METADATA_BYTES = 1 << 20


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class Outcome(Record):
    """What materializing one cohort did: the records per stage, whether a file changed, the metadata seeded."""

    cohort_id: str
    directory: Path
    counts: dict[str, int]
    changed: bool
    metadata_written: int = 0
    metadata_kept: int = 0
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: what the membership was computed from, as manifest.json records it
    inputs: dict = field(default_factory=dict)

    def __init__(self, cohort_id: str, directory: Path, counts: dict[str, int], changed: bool, metadata_written: int = 0,
                 metadata_kept: int = 0, diagnostics: list[Diagnostic] | None = None, inputs: dict | None = None):
        self.cohort_id, self.directory, self.counts, self.changed = cohort_id, directory, counts, changed
        self.metadata_written, self.metadata_kept = metadata_written, metadata_kept
        self.diagnostics = [] if diagnostics is None else diagnostics
        self.inputs = {} if inputs is None else inputs


def input_digests(reads: dict, bundle_dir: Path, catalog_files, data_root: DataRoot) -> dict:
    """The manifest's record of what the membership was computed from: the
    digest of each spec file (by its path in the bundle) and of each
    catalog (by its path from the data root) as the run read them — not as
    the files are when the manifest is written."""
    bundle_dir = bundle_dir.absolute()
    spec, catalogs = {}, {}
    catalog_files = {str(Path(p).absolute()) for p in catalog_files}
    for path, digest in sorted(reads.items()):
        where = Path(path)
        if where.is_relative_to(bundle_dir):
            spec[where.relative_to(bundle_dir).as_posix()] = digest
        elif path in catalog_files:
            catalogs[Path(os.path.relpath(path, data_root.path.absolute())).as_posix()] = digest
    return {"spec": {"digest": _listing_digest(spec), "files": spec}, "catalogs": catalogs}


def _listing_digest(files: dict) -> str:
    """manifest.json's ``spec.digest``: one digest over the spec files' list."""
    from cohort_dsl.files import digest_bytes

    return digest_bytes("".join(f"{name}\0{digest}\n" for name, digest in files.items()).encode("utf-8"))


def environment_digest(registry, settings) -> str:
    """What besides the recorded files decides a cohort's membership and
    its stale-membership verdict, as one digest (manifest.json's
    ``environment``; cohort-dsl's own version is its ``tool``): every
    active plugin by name, distribution, version and a digest of its source
    files (the layouts and rule kinds among them: an editable install edited
    in place keeps its version), the plugin settings, the severities, and
    the Unicode version ids are lower-cased with. Nothing in it depends on
    the machine or the checkout's path: the manifest is committed."""
    import unicodedata

    from cohort_dsl.cache import plugin_code
    from cohort_dsl.files import digest_bytes

    parts = [plugin_code(registry), sorted(settings.plugins.items()),
             sorted(settings.severity.items()), unicodedata.unidata_version]
    return digest_bytes(json.dumps(parts, default=str).encode("utf-8"))


def unchanged_since_materialized(membership, data_root: DataRoot, registry, settings) -> bool:
    """Whether the cohort's manifest.json proves, without computing a
    record, that its committed membership is what ``membership`` gives now
    (docs/cohorts.md, "Checking a committed membership"): it was written by
    this cohort-dsl for this cohort and layout, under the same environment
    (:func:`environment_digest`); every spec file and catalog it lists
    still has the bytes the membership was computed from, and the catalogs
    configured now are the ones it lists; membership.csv and the wide
    membership still have the bytes it records (so they are also a whole
    set: no M013). Anything unreadable, missing or different is False: the
    caller then compares the records."""
    from cohort_dsl.catalogs import catalog_files, settings_refs
    from cohort_dsl.files import digest_file, read_bounded, sha256_file

    cohort_id = membership.cohort_id
    try:
        manifest = json.loads(read_bounded(data_root.manifest_file(cohort_id), 1 << 24))
        spec, catalogs = manifest["spec"], manifest["catalogs"]
        if (manifest["tool"] != {"name": "cohort-dsl", "version": __version__} or manifest["cohort_id"] != cohort_id
                or manifest["layout"] != membership.layout.name
                or manifest["environment"] != environment_digest(registry, settings)):
            return False
        files = spec["files"]
        if spec["digest"] != _listing_digest(files):
            return False
        limit = max(settings.limits.max_include_bytes, settings.limits.max_document_bytes)
        bundle_dir = Path(membership.compiled.spec.bundle.directory)
        if any(digest_file(bundle_dir / name, limit) != digest for name, digest in files.items()):
            return False
        configured = {Path(os.path.relpath(path, data_root.path.absolute())).as_posix(): path
                      for path in catalog_files(settings_refs(settings))}
        if set(configured) != set(catalogs) or any(digest_file(configured[name], limit) != digest
                                                   for name, digest in catalogs.items()):
            return False
        return all(sha256_file(path) == manifest[key]["sha256"]  # the bytes, not the data: a re-saved file misses
                   for key, path in (("membership", data_root.membership_file(cohort_id)),
                                     ("wide", data_root.wide_file(cohort_id))))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def input_changed(path: str) -> Diagnostic:
    return Diagnostic(INPUT_CHANGED.code, f"{Path(path).name} changed while materialize was reading it; nothing was written",
                      Location(path), ERROR, "run materialize again once the file is saved")


def materialize(membership, data_root: DataRoot, *, catalogs=None, force: bool = False,
                seed_metadata: bool = False, progress=None, on_wait=None, inputs: dict | None = None) -> Outcome:
    """Write the files of ``membership`` (a :class:`~cohort_dsl.membership.Membership`
    the caller has checked: :meth:`cohort_dsl.project.Project.materialize`
    refuses errors before calling this). ``progress`` (a
    :class:`cohort_dsl.progress.Progress`) advances as records are written.

    Runs of one cohort take turns: each holds an exclusive lock on the
    cohort's folder while it stages and publishes (``on_wait()`` is
    called when another run holds it), so the start-up sweep of temporary
    files can only remove those of a run that died. ``inputs`` (from
    :func:`input_digests`) is recorded in ``manifest.json``."""
    directory = data_root.require_inside(data_root.cohort_dir(membership.cohort_id))
    for path in (data_root.membership_file(membership.cohort_id), data_root.wide_file(membership.cohort_id),
                 data_root.manifest_file(membership.cohort_id)):
        data_root.require_inside(path)
    seed, found = None, []
    if seed_metadata:
        data_root.require_inside(data_root.gens_dir)
        # Every existing metadata.json is compared before anything is written.
        seed = _Seeder(membership, catalogs or {})
        found = _compare_metadata(membership, data_root, seed)
        if any(d.severity == ERROR for d in found):
            raise SpecError(found)
    directory.mkdir(parents=True, exist_ok=True)
    from cohort_dsl.cohort_lock import CohortLock

    with CohortLock(directory, on_wait=on_wait):
        _remove_stale_temps(directory)  # with the lock held, no live run has any
        outcome = _publish(membership, data_root, force, progress, inputs or {})
    outcome.diagnostics = list(membership.diagnostics) + found
    if seed is not None:
        _seed_metadata(membership, data_root, seed, outcome)
    return outcome


def _publish(membership, data_root: DataRoot, force: bool, progress, inputs: dict) -> Outcome:
    """Stage the three files, then publish them (see the module docstring)."""
    from itertools import islice

    cohort_id = membership.cohort_id
    directory = data_root.cohort_dir(cohort_id)
    slim_path = data_root.membership_file(cohort_id)
    wide_path, manifest_path = data_root.wide_file(cohort_id), data_root.manifest_file(cohort_id)
    with _Staged(slim_path) as slim, _Staged(wide_path) as wide, _Staged(manifest_path) as manifest_file:
        lines = membership.line_pairs()
        slim_header, wide_header = next(lines)
        slim.write(slim_header)
        wide.write(wide_header)
        while batch := list(islice(lines, 4096)):
            slim_lines, wide_lines = zip(*batch)
            slim.write("".join(slim_lines))
            wide.write("".join(wide_lines))
            if progress is not None:
                progress.advance(len(batch))
        stats = membership.summary()
        if stats is None or {name: s["count"] for name, s in stats.items() if name is not None} != membership.counts:
            stats = _counted_summary(membership)  # never a count the records do not have
        combos = stats.pop(None)
        new_hash = slim.digest.hexdigest()
        changed = not slim.unchanged
        if changed and slim_path.is_file() and not force:
            slim.flush()
            # Compared as data: a membership.csv saved with CRLF or a BOM
            # holds the same records; it is rewritten normalized, not refused.
            if not _same_records(slim_path, Path(slim.name)):
                raise SpecError(_refusal(membership, data_root, slim_path))
        manifest = {
            "cohort_id": cohort_id,
            "layout": membership.layout.name,
            "combos": sorted(combos),
            "stages": {
                name: {
                    "count": s["count"],
                    "templates": sorted(s["templates"]),
                    "llms": sorted(s["llms"]),
                    "replicates": {str(k): v for k, v in sorted(s["replicates"].items())},
                }
                for name, s in stats.items()
            },
            "membership": {"file": MEMBERSHIP_FILE, "rows": sum(s["count"] for s in stats.values()), "sha256": new_hash},
            # the wide file this manifest belongs with: a reader can tell a set
            # a killed run left half-published (cohort_dsl.service.set_problems)
            "wide": {"file": wide_path.name, "sha256": wide.digest.hexdigest()},
            **inputs,
            "tool": {"name": "cohort-dsl", "version": __version__},
        }
        manifest_file.write(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        staged = (wide, manifest_file, slim)  # the derived files first, the contract file last
        for part in staged:
            part.finish()
        for part in staged:
            part.publish()
    return Outcome(cohort_id, directory, {k: v["count"] for k, v in stats.items()}, changed)


def _counted_summary(membership) -> dict:
    """:meth:`~cohort_dsl.membership.Membership.summary` counted record by
    record (for a membership whose records are not its whole product)."""
    stats: dict = {s.name: {"count": 0, "templates": set(), "llms": set(), "replicates": {}}
                   for s in membership.layout.stages}
    combos: set[str] = set()
    for record in membership.records():
        stage = stats[record.stage]
        stage["count"] += 1
        if record.template_id:  # a stage without a template (single-stage) lists none
            stage["templates"].add(record.template_id)
        if record.llm_model_id:
            stage["llms"].add(record.llm_model_id)
        stage["replicates"][record.replicate] = stage["replicates"].get(record.replicate, 0) + 1
        if record.combo_id:
            combos.add(record.combo_id)
    return {None: combos, **stats}


class _Staged:
    """A temporary file beside ``path`` (hashing what is written), renamed
    onto it by :meth:`publish`; removed on exit if never published. Errors
    (a full disk) name ``path``, not the temporary file."""

    def __init__(self, path: Path):
        self.path = path
        import hashlib

        self.digest = hashlib.sha256()
        self.target_hash: str | None = None  # of the file it replaces ("" when there is none)

    def __enter__(self) -> "_Staged":
        from cohort_dsl.files import open_temp_beside

        # ``with`` calls no __exit__ for a failed __enter__: the file is
        # created and opened with stops held (a SIGTERM cannot leave it behind)
        with self._naming_path():
            self.handle, self.name = open_temp_beside(self.path)
        return self

    @contextlib.contextmanager
    def _naming_path(self):
        try:
            yield
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror or str(exc), str(self.path)) from None

    def write(self, text: str) -> None:
        with self._naming_path():
            self.handle.write(text)
        self.digest.update(text.encode("utf-8"))

    def flush(self) -> None:
        with self._naming_path():
            self.handle.flush()

    @property
    def unchanged(self) -> bool:
        if self.target_hash is None:  # hashed once: the cohort's lock keeps other runs from replacing it
            self.target_hash = _file_hash(self.path) if self.path.is_file() else ""
        return self.target_hash == self.digest.hexdigest()

    def finish(self) -> None:
        """Everything written is on disk (a full disk fails here, before
        any file of the set is published)."""
        with self._naming_path():
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()

    def publish(self) -> bool:
        """Rename onto the target unless it already has these bytes."""
        with self._naming_path():
            if self.unchanged:
                return False
            os.replace(self.name, self.path)
        return True

    def __exit__(self, *exc) -> None:
        if not self.handle.closed:
            with contextlib.suppress(OSError):  # a full disk fails the final flush too
                self.handle.close()
        try:
            os.unlink(self.name)
        except FileNotFoundError:
            pass


def _file_hash(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _remove_stale_temps(directory: Path) -> None:
    """Temporary files left by a run that was killed (called with the
    cohort's lock held: no live run has any)."""
    from cohort_dsl.files import TEMP_PREFIX

    for stale in directory.glob(TEMP_PREFIX + "*"):
        try:
            stale.unlink()
        except OSError:
            pass


def _same_records(existing: Path, staged: Path) -> bool:
    from itertools import zip_longest

    from cohort_dsl.service import iter_slim

    try:
        return all(a == b for a, b in zip_longest(iter_slim(existing), iter_slim(staged)))
    except SpecError:
        return False  # unreadable as a membership: it differs


def _refusal(membership, data_root: DataRoot, existing: Path) -> Diagnostic:
    """M003, as lint words it: the membership.csv changed after the check
    (another run published in between)."""
    from cohort_dsl.change import MATERIALIZED, compare_membership, materialized_side

    change = compare_membership(membership, materialized_side(data_root, membership.cohort_id), MATERIALIZED)
    return Diagnostic(
        STALE_MEMBERSHIP.code,
        f"cohort {membership.cohort_id} already has a different membership: {change.summary()}; nothing was written",
        change.edited_location() or Location(str(existing)), ERROR,
        "the cohort already ran: changing its spec orphans generations. Create a new cohort, or rerun with --force "
        f"to replace the membership (`cohort-dsl diff {membership.cohort_id}` lists the records)",
    )


class _Seeder:
    """The metadata record seeded for a membership record, and which of its
    fields are part of the generation's id."""

    def __init__(self, membership, catalogs: dict):
        stages = membership.layout.stages
        self.first_stage = stages[0].name
        self.modes = {stage.name: catalogs.get(stage.mode_axis) if stage.mode_axis else None for stage in stages}
        self.identity: dict[str, frozenset] = {}
        for depth, stage in enumerate(stages):
            fields = {"stage", "gen_id", "template_id", "replicate", "parent_gen_id" if depth else "combo_id"}
            if stage.llm and stage.llm_in_id:
                fields.add("llm_model_id")
            self.identity[stage.name] = frozenset(fields)

    def __call__(self, record) -> dict:
        catalog = self.modes.get(record.stage)
        mode = (catalog.attribute(record.template_id, "generator") if catalog else None) or DEFAULT_MODE
        metadata = {"stage": record.stage, "gen_id": record.gen_id, "origin_cohort_id": record.origin_cohort_id,
                    "mode": mode.strip().lower(), "template_id": record.template_id}
        if record.stage == self.first_stage:
            metadata["combo_id"] = record.combo_id
        else:
            metadata["parent_gen_id"] = record.parent_gen_id
        metadata["llm_model_id"] = record.llm_model_id
        metadata["replicate"] = record.replicate
        return metadata


class _Findings:
    """Diagnostics of the comparison, at most :data:`MAX_REPORTED` per code
    (the rest are counted): nothing proportional to the membership is held."""

    def __init__(self, gens: Path):
        self.gens = gens
        self.listed: list[Diagnostic] = []
        self.counts: dict[str, int] = {}

    def add(self, rule: LintRule, message: str, location: Location, hint: str | None = None) -> None:
        count = self.counts[rule.code] = self.counts.get(rule.code, 0) + 1
        if count <= MAX_REPORTED:
            self.listed.append(Diagnostic(rule.code, message, location, rule.severity, hint))

    def diagnostics(self) -> list[Diagnostic]:
        out = list(self.listed)
        for rule, what in ((METADATA_CONFLICT, "conflicts"), (METADATA_DIFFERS, "differences")):
            more = self.counts.get(rule.code, 0) - MAX_REPORTED
            if more > 0:
                out.append(Diagnostic(rule.code, f"{more:,} more metadata {what} of the same kind (not listed)",
                                      Location(str(self.gens)), rule.severity))
        return out


_CONFLICT_HINT = ("this folder holds another generation than the spec gives this id: correct the file if it was edited "
                  "by hand, or move the folder away. Nothing was written (--force does not change this)")
_UNREADABLE_HINT = ("a metadata.json is a JSON object (materialize seeds one when there is none): fix the file or "
                    "move it away. Nothing was written (--force does not change this)")
_KEPT_HINT = "the file is kept as it is; delete it to have materialize seed it again"
_ORIGIN_HINT = "a generation shared with another cohort keeps the origin it was first seeded with; the file is kept"


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _same(found, expected) -> bool:
    """Equal as the file has it: a JSON string with the record's text, an
    integer (not a boolean, not a float) with the replicate."""
    return type(found) is type(expected) and found == expected


def _read_metadata(path: Path, shown: str, findings: _Findings, data_root: DataRoot):
    """The JSON object in ``path``; None (with a finding) when it is not one."""
    from cohort_dsl.files import NotRegularFile, TooLarge, read_bounded

    where = Location(str(path))
    if data_root.escapes(path) is not None:
        findings.add(METADATA_CONFLICT, f"{shown} is a link that leads outside the data root: not read", where,
                     _UNREADABLE_HINT)
        return None
    try:
        data = read_bounded(path, MAX_METADATA_BYTES)
    except TooLarge:
        findings.add(METADATA_CONFLICT, f"{shown} is larger than {MAX_METADATA_BYTES:,} bytes: not a metadata seed",
                     where, _UNREADABLE_HINT)
        return None
    except NotRegularFile:
        findings.add(METADATA_CONFLICT, f"{shown} is not a regular file", where, _UNREADABLE_HINT)
        return None
    except OSError as exc:
        findings.add(METADATA_CONFLICT, f"{shown} cannot be read ({exc.strerror or exc})", where, _UNREADABLE_HINT)
        return None
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        findings.add(METADATA_CONFLICT, f"{shown} is not UTF-8 text (byte {exc.start})", where, _UNREADABLE_HINT)
        return None
    except json.JSONDecodeError as exc:
        findings.add(METADATA_CONFLICT, f"{shown} is not valid JSON: {exc.msg}", Location(str(path), exc.lineno, exc.colno),
                     _UNREADABLE_HINT)
        return None
    except (ValueError, RecursionError) as exc:
        findings.add(METADATA_CONFLICT, f"{shown} is not valid JSON: {exc}", where, _UNREADABLE_HINT)
        return None
    if not isinstance(value, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")
        findings.add(METADATA_CONFLICT, f"{shown} holds {kind}, not a JSON object", where, _UNREADABLE_HINT)
        return None
    return value


def _compare_metadata(membership, data_root: DataRoot, seed: _Seeder) -> list[Diagnostic]:
    """Compare each existing metadata.json with the record that would be
    seeded (one record and one file in memory at a time)."""
    findings = _Findings(data_root.gens_dir)
    inside: set[Path] = set()  # stage folders known to stay inside the data root
    for record in membership.records():
        path = data_root.metadata_file(record.stage, record.gen_id)
        # Seeds are written only inside the data root: a stage or generation
        # folder that is a link out of it stops the run before any write.
        if path.parent.parent not in inside:
            inside.add(data_root.require_inside(path.parent.parent))
        if os.path.islink(path.parent):
            data_root.require_inside(path.parent)
        if not os.path.lexists(path):
            continue
        shown = f"gens/{record.stage}/{record.gen_id}/metadata.json"
        existing = _read_metadata(path, shown, findings, data_root)
        if existing is None:
            continue
        where = Location(str(path))
        expected = seed(record)
        identity = seed.identity[record.stage]
        for key, value in expected.items():
            if key not in existing:
                findings.add(METADATA_DIFFERS, f"{shown} has no {key} (the spec gives {_show(value)})", where, _KEPT_HINT)
            elif not _same(existing[key], value):
                message = f"{key} is {_show(existing[key])} in {shown}, the spec gives {_show(value)}"
                if key in identity:
                    findings.add(METADATA_CONFLICT, message, where, _CONFLICT_HINT)
                else:
                    findings.add(METADATA_DIFFERS, message, where,
                                 _ORIGIN_HINT if key == "origin_cohort_id" else _KEPT_HINT)
        extra = [key for key in existing if key not in expected]
        if extra:
            findings.add(METADATA_DIFFERS, f"{shown} has keys materialize does not write: "
                         + ", ".join(_show(k) for k in extra[:10]) + (", …" if len(extra) > 10 else ""), where, _KEPT_HINT)
    return findings.diagnostics()


def _seed_metadata(membership, data_root: DataRoot, seed: _Seeder, outcome: Outcome) -> None:
    from cohort_dsl.files import atomic_writer

    for record in membership.records():
        path = data_root.metadata_file(record.stage, record.gen_id)
        if os.path.lexists(path):  # a file, or a link (never followed for writing)
            outcome.metadata_kept += 1
            continue
        with atomic_writer(path) as handle:
            handle.write(json.dumps(seed(record), indent=2, ensure_ascii=False) + "\n")
        outcome.metadata_written += 1
