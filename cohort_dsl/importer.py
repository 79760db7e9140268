"""Import: the spec of a cohort that already ran, derived from its
``membership.csv`` and the ``gens/<stage>/<gen_id>/metadata.json`` of its ids
(docs/cohorts.md, "Adopting cohort-dsl").

Every record of the last stage (an evaluation) is one row of the spec: its
values and those of its ancestors, read from the metadata. The row sequence is
then written as the smallest product of factors that gives it in that order
(:func:`factorize`): an axis where the values form a product, a tuple where
they don't. Each metadata record must hash to its own gen id, so a value is
never guessed; what cannot be explained is refused, naming the first id.

``--from-list`` builds the rows from a list of existing essays instead: each
essay (and its parent draft) keeps its id, times evaluation templates, llms
and replicates.

Nothing is published before the spec is proven: it is written to a staging
folder inside the data root, linted there, and its membership is compared
with the expected one (:func:`publish`); then one rename puts it in place.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from cohort_dsl.diagnostics import ERROR, Diagnostic, Location, SpecError
from cohort_dsl.records import Record
from cohort_dsl.registry import LintRule

IMPORT_UNEXPLAINED = LintRule("A001", "import-unexplained", "`import` cannot explain an id of the membership.",
                              "`cohort-dsl import` derives a spec from `membership.csv` and the metadata.json of each id: "
                              "every id needs a metadata file whose values hash to it, its parent in the membership and "
                              "an evaluation below it. Ids with the original pipeline's `-N` collision suffix, stages "
                              "the layout does not have, and a membership the derived spec does not reproduce byte for "
                              "byte are refused. The first id that could not be explained is named; nothing is written.")
SPEC_EXISTS = LintRule("A002", "spec-exists", "The cohort already exists (or has a spec).",
                       "`import` never replaces a spec unless `--force` is given (and the new spec must still "
                       "reproduce the membership); `new` refuses an existing cohort id. Nothing is written.")
LIST_PROBLEM = LintRule("A003", "import-list", "A `--from-list` file, or an essay it names, cannot be used.",
                        "The list is a CSV with an `essay_gen_id` (or `gen_id`) column of existing essays: each must "
                        "have a metadata.json under `gens/essay/`, as must its parent draft. The problem is located in "
                        "the list; nothing is written.")

#: A metadata.json larger than this is not read (a seed is a few hundred bytes).
MAX_METADATA_BYTES = 1 << 20
#: Levels or items written inline in config.yaml up to this many; more go to an include.
INLINE_MAX = 12
LIST_COLUMNS = ("essay_gen_id", "gen_id")


def refusal(rule: LintRule, message: str, where, hint: str | None = None) -> SpecError:
    """The error of a refusal, located; its message says nothing was written."""
    location = where if isinstance(where, Location) else Location(str(where) if where else None)
    return SpecError([Diagnostic(rule.code, message + "; nothing was written", location, ERROR, hint)])


# -- generations ---------------------------------------------------------------

@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class Generation(Record):
    """One metadata record, checked against its id."""

    stage: str
    gen_id: str
    parent: str | None
    #: column -> value (the stage's own columns)
    values: dict

    def __init__(self, stage: str, gen_id: str, parent: str | None, values: dict):
        self.stage, self.gen_id, self.parent, self.values = stage, gen_id, parent, values


class Generations:
    """Reads and checks metadata of one layout's stages under a data root."""

    def __init__(self, data_root, layout):
        self.data_root, self.layout = data_root, layout
        self.depth = {stage.name: i for i, stage in enumerate(layout.stages)}

    def columns(self, depth: int) -> list[str]:
        """The spec columns a stage's metadata gives (its combo, template,
        llm, replicate), in pipeline order."""
        stage = self.layout.stages[depth]
        return [c[0] for c in (stage.combo if depth == 0 else (), stage.template, stage.llm, stage.replicate) if c]

    @property
    def replicate_columns(self) -> set[str]:
        return {stage.replicate[0] for stage in self.layout.stages if stage.replicate}

    def check_id(self, stage_name: str, gen_id: str, where) -> None:
        stage = self.layout.stages[self.depth[stage_name]]
        if re.fullmatch(re.escape(stage.prefix) + r"[0-9a-z]+", gen_id):
            return
        if re.fullmatch(re.escape(stage.prefix) + r"[0-9a-z]+-[0-9]+", gen_id):
            raise refusal(IMPORT_UNEXPLAINED, f"{stage_name} {gen_id} has the original pipeline's -N collision suffix: "
                          "no spec gives that id", where,
                          "cohort-dsl refuses id collisions instead of renaming (M002): import the cohort without "
                          "these generations by hand, or keep it outside cohort-dsl")
        raise refusal(IMPORT_UNEXPLAINED, f"{gen_id!r} is not a {stage_name} id of the {self.layout.name} layout "
                      f"(they are {stage.prefix} and base 36)", where)

    def read(self, stage_name: str, gen_id: str, where) -> Generation:
        """The checked metadata of one generation: its values must hash to
        ``gen_id`` (with its parent's id)."""
        import json

        from cohort_dsl.files import read_bounded
        from cohort_dsl.membership import gen_id as hash_id

        self.check_id(stage_name, gen_id, where)
        depth = self.depth[stage_name]
        stage = self.layout.stages[depth]
        path = self.data_root.metadata_file(stage_name, gen_id)
        shown = f"gens/{stage_name}/{gen_id}/metadata.json"
        if os.path.lexists(path) and self.data_root.escapes(path) is not None:
            raise refusal(IMPORT_UNEXPLAINED, f"{stage_name} {gen_id}: {shown} leads out of the data root; it is not "
                          "read", Location(str(path)), "metadata files are files under the data root, not links out of it")
        try:
            data = json.loads(read_bounded(path, MAX_METADATA_BYTES).decode("utf-8-sig"))
        except FileNotFoundError:
            raise refusal(IMPORT_UNEXPLAINED, f"{stage_name} {gen_id} has no metadata ({shown} does not exist)", where,
                          "import needs the metadata.json of every id (`materialize --seed-metadata` writes them)") from None
        except (OSError, ValueError, RecursionError) as exc:
            raise refusal(IMPORT_UNEXPLAINED, f"{stage_name} {gen_id}: {shown} cannot be read as JSON "
                          f"({getattr(exc, 'strerror', None) or exc})", Location(str(path))) from None
        if not isinstance(data, dict):
            raise refusal(IMPORT_UNEXPLAINED, f"{stage_name} {gen_id}: {shown} is not a JSON object", Location(str(path)))

        def contradiction(detail: str):
            return refusal(IMPORT_UNEXPLAINED, f"{stage_name} {gen_id}: {shown} {detail}", Location(str(path)),
                           "the folder holds another generation than its name says: correct or move the file")

        for key, expected in (("stage", stage_name), ("gen_id", gen_id)):
            if key in data and data[key] != expected:
                raise contradiction(f"says {key} {data[key]!r}")
        fields = [("combo_id", stage.combo)] if depth == 0 else []
        fields += [("template_id", stage.template), ("llm_model_id", stage.llm)]
        values = {}
        for key, column in fields:
            if not column:
                continue
            value = data.get(key)
            if value is None and key == "llm_model_id":
                value = data.get("model_id")  # the original pipeline's earlier name of the field
            if not isinstance(value, str) or not value.strip():
                raise contradiction(f"has no {key} (a non-empty string)"
                                    + ("; the spec needs the essay's llm even where it is not part of the id"
                                       if key == "llm_model_id" and not stage.llm_in_id else ""))
            values[column[0]] = value
        replicate = data.get("replicate", 1)
        if isinstance(replicate, str) and re.fullmatch(r"[1-9][0-9]*", replicate):
            replicate = int(replicate)
        if type(replicate) is not int or replicate < 1:
            raise contradiction(f"has replicate {replicate!r}, not a positive integer")
        if stage.replicate:
            values[stage.replicate[0]] = str(replicate)
        parent = None
        own = [values[c[0]] for c in (stage.combo if depth == 0 else (), stage.template) if c]
        if stage.llm and stage.llm_in_id:
            own.append(values[stage.llm[0]])
        if depth:
            parent = data.get("parent_gen_id")
            if not isinstance(parent, str) or not parent:
                raise contradiction("has no parent_gen_id")
            own.insert(0, parent)
        computed = hash_id(stage.prefix, own + [replicate])
        if computed != gen_id:
            raise contradiction(f"has values that give the id {computed}, not {gen_id}")
        return Generation(stage_name, gen_id, parent, values)


# -- rows from a membership or a list ------------------------------------------

@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class Derived(Record):
    """The rows a spec must produce, and the membership it must reproduce."""

    columns: list[str]
    rows: list[tuple]
    #: (stage, gen_id) in membership order
    expected: list[tuple[str, str]]

    def __init__(self, columns: list[str], rows: list[tuple], expected: list[tuple[str, str]]):
        self.columns, self.rows, self.expected = columns, rows, expected


def from_membership(data_root, layout, cohort_id: str) -> Derived:
    """The rows of a materialized cohort, one per record of the last stage,
    read from its membership.csv and metadata."""
    from cohort_dsl.service import iter_slim

    path = data_root.membership_file(cohort_id)
    if not path.is_file():
        raise refusal(IMPORT_UNEXPLAINED, f"cohort {cohort_id} has no membership.csv to import", path,
                      "import derives a spec from a cohort that already ran; `cohort-dsl new` starts a new one")
    generations = Generations(data_root, layout)
    expected = list(iter_slim(path))
    known: dict[str, Generation] = {}
    for stage_name, gen_id in expected:
        where = Location(str(path))
        if stage_name not in generations.depth:
            raise refusal(IMPORT_UNEXPLAINED, f"{gen_id} is of stage {stage_name!r}, which the {layout.name} layout does "
                          f"not have (its stages: {', '.join(generations.depth)})", where)
        generation = generations.read(stage_name, gen_id, where)
        depth = generations.depth[stage_name]
        if depth:
            parent = known.get(generation.parent)
            if parent is None or generations.depth[parent.stage] != depth - 1:
                raise refusal(IMPORT_UNEXPLAINED, f"{stage_name} {gen_id} has the parent {generation.parent}, which is not "
                              f"a {layout.stages[depth - 1].name} listed before it in membership.csv", where)
        known[gen_id] = generation
    return _rows(generations, known, expected, path)


def _rows(generations: Generations, known: dict, expected: list, where) -> Derived:
    """One row per last-stage record (its values and its ancestors'); every
    other record must be an ancestor of one."""
    last = len(generations.layout.stages) - 1
    columns = [c for depth in range(last + 1) for c in generations.columns(depth)]
    rows, reached = [], set()
    for stage_name, gen_id in expected:
        if generations.depth[stage_name] != last:
            continue
        values: dict = {}
        node = known[gen_id]
        while node is not None:
            reached.add(node.gen_id)
            values.update(node.values)
            node = known.get(node.parent) if node.parent else None
        rows.append(tuple(values[c] for c in columns))
    for stage_name, gen_id in expected:
        if gen_id not in reached:
            raise refusal(IMPORT_UNEXPLAINED, f"no {generations.layout.stages[last].name} of the cohort descends from "
                          f"{stage_name} {gen_id}", Location(str(where)),
                          f"in a spec every row is one {generations.layout.stages[last].name} with all its ancestors, "
                          "so such a generation cannot be reproduced")
    # A replicate column that is 1 everywhere is left out (absent means 1).
    keep = [i for i, c in enumerate(columns)
            if not (c in generations.replicate_columns and all(r[i] == "1" for r in rows))]
    return Derived([columns[i] for i in keep], [tuple(r[i] for i in keep) for r in rows], expected)


def from_list(data_root, layout, list_path: Path, templates: list[str], llms: list[str], replicates: int) -> Derived:
    """The rows of a curated cohort: each essay of the list (first
    occurrence) with its draft, times every last-stage template, llm and
    replicate."""
    generations = Generations(data_root, layout)
    if len(layout.stages) != 3:
        raise refusal(LIST_PROBLEM, f"--from-list needs a draft -> essay -> evaluation layout; {layout.name} has "
                      f"{len(layout.stages)} stages", None)
    essay_stage, last_stage = layout.stages[1], layout.stages[2]
    known: dict[str, Generation] = {}
    essays = []
    for gen_id, where in _read_list(list_path):
        if gen_id in known:
            continue
        if not re.fullmatch(re.escape(essay_stage.prefix) + r"[0-9a-z]+(-[0-9]+)?", gen_id):
            raise refusal(LIST_PROBLEM, f"{gen_id!r} is not an {essay_stage.name} id ({essay_stage.prefix}…)", where)
        if not data_root.metadata_file(essay_stage.name, gen_id).is_file():
            raise refusal(LIST_PROBLEM, f"unknown {essay_stage.name} {gen_id}: there is no "
                          f"gens/{essay_stage.name}/{gen_id}/metadata.json", where,
                          "list essays that exist (materialize --seed-metadata writes their metadata)")
        essay = known[gen_id] = generations.read(essay_stage.name, gen_id, where)
        if essay.parent not in known:
            known[essay.parent] = generations.read(layout.stages[0].name, essay.parent, where)
        essays.append(essay)
    if not essays:
        raise refusal(LIST_PROBLEM, f"{list_path.name} lists no essay", Location(str(list_path)))
    expected = list(dict.fromkeys((layout.stages[0].name, e.parent) for e in essays))
    expected += [(essay_stage.name, e.gen_id) for e in essays]
    from cohort_dsl.membership import gen_id as hash_id

    last_ids = []
    templates, llms = list(dict.fromkeys(templates)), list(dict.fromkeys(llms))
    for essay in essays:
        for template in templates:
            for llm in llms:
                for replicate in range(1, replicates + 1):
                    last_ids.append((last_stage.name, hash_id(last_stage.prefix, [essay.gen_id, template, llm, replicate])))
                    vid = last_ids[-1][1]
                    known[vid] = Generation(last_stage.name, vid, essay.gen_id, {
                        last_stage.template[0]: template, last_stage.llm[0]: llm,
                        **({last_stage.replicate[0]: str(replicate)} if last_stage.replicate else {})})
    return _rows(generations, known, expected + last_ids, list_path)


def _read_list(path: Path):
    """``(gen id, location)`` for each row of the list's id column."""
    import csv

    from cohort_dsl.files import open_text

    shown = str(path)
    try:
        with open_text(path) as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            cells = [h.strip() for h in header or ()]
            column = next((c for c in LIST_COLUMNS if c in cells), None)
            if column is None:
                raise refusal(LIST_PROBLEM, f"{path.name} has no essay_gen_id or gen_id column", Location(shown, 1),
                              "the first row is the header; the essay ids go in a column named essay_gen_id or gen_id")
            index = cells.index(column)
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                value = row[index].strip() if index < len(row) else ""
                where = Location(shown, reader.line_num, None)
                if not value:
                    raise refusal(LIST_PROBLEM, f"{path.name}: empty {column}", where)
                yield value, where
    except (UnicodeDecodeError, csv.Error) as exc:
        raise refusal(LIST_PROBLEM, f"{path.name} is not a readable UTF-8 CSV ({exc})", Location(shown)) from None
    except OSError as exc:
        raise refusal(LIST_PROBLEM, f"cannot read {path.name} ({exc.strerror or exc})", Location(shown)) from None


# -- the smallest product ------------------------------------------------------

@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class Factor(Record):
    """Columns (indexes) and their rows, in order."""

    columns: tuple[int, ...]
    rows: list[tuple]

    def __init__(self, columns: tuple[int, ...], rows: list[tuple]):
        self.columns, self.rows = columns, rows


def factorize(width: int, rows: list[tuple]) -> list[Factor]:
    """Factors whose product, in order (the last varying fastest), is
    ``rows`` exactly: at each step the slowest factor is the one with the
    fewest rows that splits the sequence into equal blocks, constant in its
    columns, that repeat the same sequence in the others. A column
    constant at a step is a factor of one row. The fallback (one block per
    row) always applies, so this ends with a tuple of what is left."""
    factors: list[Factor] = []
    columns = list(range(width))
    while columns and rows:
        constant = [c for c in columns if all(r[c] == rows[0][c] for r in rows)]
        factors += [Factor((c,), [(rows[0][c],)]) for c in constant]
        columns = [c for c in columns if c not in constant]
        if not columns:
            break
        n = len(rows)
        for k in (k for k in range(2, n + 1) if n % k == 0):
            size = n // k
            blocks = [rows[i * size:(i + 1) * size] for i in range(k)]
            slow = tuple(c for c in columns if all(r[c] == b[0][c] for b in blocks for r in b))
            if not slow:
                continue
            rest = [c for c in columns if c not in slow]
            first = [tuple(r[c] for c in rest) for r in blocks[0]]
            if all([tuple(r[c] for c in rest) for r in b] == first for b in blocks[1:]):
                factors.append(Factor(slow, [tuple(b[0][c] for c in slow) for b in blocks]))
                rows, columns = blocks[0], rest
                break
    return factors


# -- writing the spec ----------------------------------------------------------

_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"}


@cache
def _plain() -> re.Pattern:
    """Compiled when a spec is first written (lint imports this module for its codes)."""
    return re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*|[1-9][0-9]*")


def scalar(text: str) -> str:
    """A level as YAML: plain when nothing can misread it, else double-quoted."""
    import json

    if _plain().fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def _flow(values) -> str:
    return "[" + ", ".join(scalar(v) for v in values) + "]"


def _csv(header, rows) -> str:
    from cohort_dsl.rows import csv_field

    return "".join(",".join(csv_field(v) for v in row) + "\n" for row in [tuple(header), *rows])


def render_spec(derived: Derived, cohort_id: str, origin: str, promise: str) -> dict[str, str]:
    """The spec bundle's files (relative path -> text) for ``derived``;
    ``origin`` and ``promise`` say, in its header, where it comes from and
    what its membership is."""
    columns = derived.columns
    factors = factorize(len(columns), derived.rows)
    files: dict[str, str] = {}
    axes, tuples = [], []
    # Single-row factors first (their place does not change the order), then
    # the others in product order: a factor sits at its earliest axis.
    for factor in sorted(factors, key=lambda f: len(f.rows) > 1):
        names = [columns[c] for c in factor.columns]
        if len(names) == 1:
            levels = [row[0] for row in factor.rows]
            if len(levels) > INLINE_MAX:
                files[f"items/{names[0]}.csv"] = _csv(names, factor.rows)
                axes.append(f"  {names[0]}: '@file:items/{names[0]}.csv'")
            else:
                axes.append(f"  {names[0]}: {_flow(levels)}")
            continue
        name = f"coupled_{len(tuples) + 1}"
        axes += [f"  {axis}: null{'  # from the tuple ' + name if i == 0 else ''}" for i, axis in enumerate(names)]
        if len(factor.rows) > INLINE_MAX:
            files[f"items/{name}.csv"] = _csv(names, factor.rows)
            tuples.append(f"    {name}:\n      items: '@file:items/{name}.csv'")
        else:
            items = "".join(f"        - {_flow(row)}\n" for row in factor.rows)
            tuples.append(f"    {name}:\n      axes: {_flow(names)}\n      items:\n{items.rstrip()}")
    sizes = " x ".join(str(len(f.rows)) for f in factors if len(f.rows) > 1) or "1"
    text = (f"# {cohort_id} — derived by `cohort-dsl import` from {origin}.\n# {promise}\n"
            f"#\n# Rows: {sizes} = {len(derived.rows)}\n\naxes:\n" + "\n".join(axes) + "\n")
    if tuples:
        text += "\nrules:\n  tuples:\n" + "\n".join(tuples) + "\n"
    text += f"\noutput:\n  field_order: {_flow(columns)}\n"
    files["config.yaml"] = text
    return files


# -- proving and publishing ----------------------------------------------------

def _slim_text(pairs) -> str:
    from cohort_dsl.membership import SLIM_COLUMNS
    from cohort_dsl.rows import csv_field

    return ",".join(SLIM_COLUMNS) + "\n" + "".join(f"{csv_field(stage)},{gid}\n" for stage, gid in pairs)


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class Imported(Record):
    """A published spec: where, the records per stage of its membership,
    and the warnings its lint found."""

    spec: Path
    counts: dict[str, int]
    diagnostics: list[Diagnostic]

    def __init__(self, spec: Path, counts: dict[str, int], diagnostics: list[Diagnostic]):
        self.spec, self.counts, self.diagnostics = spec, counts, diagnostics


def publish(project, cohort_id: str, files: dict[str, str], expected: list[tuple[str, str]], *,
            force: bool = False) -> Imported:
    """Write ``files`` as the cohort's spec bundle once they are proven: in
    a staging folder inside the data root the bundle must lint without
    errors and give exactly the ``expected`` membership. Then one rename
    publishes it (with ``force``, the old spec is moved away first and
    restored if that fails). On any refusal nothing is left anywhere."""
    import io
    import shutil

    from cohort_dsl.files import write_text
    from cohort_dsl.membership import write_records

    from cohort_dsl.diagnostics import UsageError

    root = project.data_root
    target = root.spec_dir(cohort_id)
    if os.path.lexists(target.parent) and root.escapes(target.parent) is not None:
        raise UsageError(f"{target.parent} leads outside the data root through a symbolic link: nothing is written there")
    staging = root.staging_dir("import")
    try:
        bundle = staging / "bundle"
        for name, text in files.items():
            write_text(bundle / name, text)
        found = [_relocate(d, bundle, target) for d in project.lint([bundle], use_cache=False, jobs=1).diagnostics]
        errors = [replace(d, message=d.message + " (in the derived spec; nothing was written)")
                  for d in found if d.severity == ERROR]
        if errors:
            raise SpecError(errors)
        out = io.StringIO()
        write_records(project.membership(project.compile(bundle), cohort_id).records(), out)
        got, want = out.getvalue(), _slim_text(expected)
        if got != want:
            first = _first_difference(got, want)
            raise refusal(IMPORT_UNEXPLAINED, f"the derived spec does not reproduce {first}: the membership's order or "
                          "ids are not those of any spec of the layout", root.membership_file(cohort_id))
        target.parent.mkdir(parents=True, exist_ok=True)
        if force and target.exists():
            old = staging / "replaced"
            os.replace(target, old)
            try:
                os.replace(bundle, target)
            except OSError:
                os.replace(old, target)
                raise
        else:
            os.rename(bundle, target)
        counts: dict[str, int] = {}
        for stage, _ in expected:
            counts[stage] = counts.get(stage, 0) + 1
        return Imported(target, counts, found)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _first_difference(got: str, want: str) -> str:
    for a, b in zip(got.splitlines(), want.splitlines()):
        if a != b:
            return f"membership.csv's '{b}' (it gives '{a}' there)"
    longer, shorter = (want, got) if len(want) > len(got) else (got, want)
    extra = longer.splitlines()[len(shorter.splitlines())]
    return f"'{extra}' ({'missing' if longer is want else 'extra'})"


def _relocate(diagnostic: Diagnostic, staged: Path, target: Path) -> Diagnostic:
    """A diagnostic of the staged bundle, located where the spec goes."""
    path = diagnostic.location.path
    if path and Path(path).absolute().is_relative_to(staged.absolute()):
        path = str(target / Path(path).absolute().relative_to(staged.absolute()))
        return replace(diagnostic, location=replace(diagnostic.location, path=path))
    return diagnostic


def refuse_existing(root, cohort_id: str, force: bool) -> None:
    spec = root.spec_dir(cohort_id)
    if os.path.lexists(spec) and not force:
        raise refusal(SPEC_EXISTS, f"cohort {cohort_id} already has a spec", spec,
                      "rerun with --force to replace it (the new spec must still reproduce membership.csv)")



def refuse_other_membership(root, cohort_id: str, expected: list[tuple[str, str]]) -> None:
    """A cohort that already ran keeps its membership: a curated spec for it
    must give the same one."""
    from cohort_dsl.service import iter_slim

    path = root.membership_file(cohort_id)
    if path.is_file() and list(iter_slim(path)) != expected:
        raise refusal(SPEC_EXISTS, f"cohort {cohort_id} already ran with another membership", path,
                      "a curated cohort is a new cohort: choose a new COHORT_ID")
