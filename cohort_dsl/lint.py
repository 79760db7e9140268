"""The lint gate: every stage of every bundle, plus the check stage.

``lint_bundle`` runs load → validate → expand for one bundle (collecting
what each stage reports), then every lint rule that has a ``check`` on the
compiled spec. ``targets`` maps the paths pre-commit passes (a spec file, an
include, a catalog, a cohort's membership.csv) to the bundles that depend on
them. Selection (``--select``/``--ignore``), inline suppression
(``# noqa: CODE`` on the offending line of a YAML file) and severities are
applied last, in one place.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from cohort_dsl.dataroot import MEMBERSHIP_FILE, SPEC, DataRoot
from cohort_dsl.diagnostics import ERROR, WARNING, Diagnostic, Location, SpecError, UsageError
from cohort_dsl.records import Record
from cohort_dsl.registry import LintRule

UNUSED_SUPPRESSION = LintRule("L001", "unused-suppression", "A `# noqa` comment suppresses nothing.",
                              "Suppressions that no longer match a diagnostic hide nothing but mislead readers (like ruff's RUF100). "
                              "Remove the comment, or the codes it lists that no longer occur on its line.", WARNING)
UNKNOWN_SUPPRESSION = LintRule("L002", "unknown-suppression", "A `# noqa: CODE` comment names no known code.",
                               "A misspelt code suppresses nothing and would hide that it does: `# noqa: c001` is not "
                               "`# noqa: C001` (codes are case-sensitive, as in `--select`). The comment is located and "
                               "a close code suggested.")
INTERNAL_ERROR = LintRule("L003", "internal-error", "Linting a bundle failed with an unexpected exception.",
                          "A bug in cohort-dsl (or an input no check foresaw): the bundle is reported with this "
                          "diagnostic, every other bundle is still linted, and lint exits 2 at the end. Rerun with "
                          "COHORT_DSL_DEBUG=1 for the traceback and report it.")
#: compiled (by ``re``'s cache) the first time a line mentions noqa: most runs never need it
NOQA = r"(?i)(?:^|\s)#\s*noqa(?::\s*(?P<codes>[A-Za-z0-9_,\s-]+?))?\s*$"
PARALLEL_THRESHOLD = 8


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class LintContext(Record):
    """What a lint rule's ``check(context)`` gets for one bundle."""

    bundle: object
    compiled: object
    catalogs: dict
    settings: object
    registry: object
    options: object = None
    #: shared by the checks of one bundle (work one check does for another)
    cache: dict = field(default_factory=dict)

    def __init__(self, bundle, compiled, catalogs: dict, settings, registry, options=None, cache: dict | None = None):
        self.bundle, self.compiled, self.catalogs, self.settings = bundle, compiled, catalogs, settings
        self.registry, self.options, self.cache = registry, options, {} if cache is None else cache

    @property
    def cohort_dir(self) -> Path | None:
        """``<data-root>/cohorts/<id>`` when the bundle sits at ``<id>/spec``."""
        located = DataRoot.of_bundle(self.bundle.directory)
        return located[0].cohort_dir(located[1]) if located else None

    @property
    def membership_file(self) -> Path | None:
        """The cohort's committed ``membership.csv`` path (None if not a cohort)."""
        located = DataRoot.of_bundle(self.bundle.directory)
        return located[0].membership_file(located[1]) if located else None

    @property
    def cohort_id(self) -> str:
        """The cohort's id (the bundle's folder name outside a data root)."""
        located = DataRoot.of_bundle(self.bundle.directory)
        if located:
            return located[1]
        return self.bundle.directory.name if self.bundle.directory else "cohort"

    @cached_property
    def membership(self):
        """The spec's membership under its layout (raises SpecError)."""
        from cohort_dsl.membership import build_membership

        return build_membership(self.compiled, self.registry, self.cohort_id)


class Selection:
    """``--select``/``--ignore``: codes, code prefixes (``C``, ``M00``) or
    rule names (``catalog-miss``), case-sensitive."""

    __slots__ = ("select", "ignore")

    def __init__(self, select: list[str] | None = None, ignore: list[str] | None = None):
        self.select: list[str] = select if select is not None else []
        self.ignore: list[str] = ignore if ignore is not None else []

    def wants(self, code: str, name: str = "") -> bool:
        def match(patterns):
            return any(code.startswith(p) or p == name for p in patterns)

        if self.select and not match(self.select):
            return False
        return not match(self.ignore)

    def check(self, registry) -> None:
        """A selector that matches no code, prefix or rule name is a usage
        error, so a typo cannot turn the gate green."""
        for option, selectors in (("select", self.select), ("ignore", self.ignore)):
            for selector in selectors:
                unknown = unknown_selector(selector, registry)
                if unknown:
                    raise UsageError(f"{option}: {unknown}")


def unknown_selector(selector: str, registry) -> str | None:
    """Why ``selector`` selects nothing, or None when it selects a code."""
    rules = registry.lint_rules
    if any(code.startswith(selector) for code in rules) or any(rule.name == selector for rule in rules.values()):
        return None
    from cohort_dsl.diagnostics import did_you_mean

    candidates = list(rules) + [rule.name for rule in rules.values()]
    upper = selector.upper()
    if upper != selector and any(code.startswith(upper) for code in rules):
        hint = f"did you mean {upper!r}?"
    else:
        hint = did_you_mean(selector, candidates)
    return (f"{selector!r} matches no code, code prefix or rule name (codes are case-sensitive"
            + (f"; {hint}" if hint else "; `cohort-dsl rules` lists them") + ")")


class LintRun:
    """Everything shared by the bundles of one run."""

    def __init__(self, engine, settings, catalogs: dict | None, selection: Selection, options=None, cache=None,
                 policy=None, catalog_loader=None):
        self.engine, self.settings, self.selection, self.options = engine, settings, selection, options
        #: by axis; None until :meth:`read_catalogs` (given a ``catalog_loader``)
        self.catalogs = catalogs
        #: a :class:`cohort_dsl.cache.LintCache`, or None
        self.cache = cache
        if policy is None:
            from cohort_dsl.policy import Policy

            policy = Policy(engine.registry, dict(getattr(settings, "severity", {}) or {}))
        #: the :class:`cohort_dsl.policy.Policy` (the registry's severities by default)
        self.policy = policy
        #: ``() -> (catalogs, problems)``, called once by :meth:`read_catalogs`
        self.catalog_loader = catalog_loader
        #: the digests of the catalogs' bytes: what the cache was keyed on, or what was read
        self.catalog_reads: dict | None = None
        #: the diagnostics of catalogs that could not be read
        self.catalog_problems: list[Diagnostic] = []

    def read_catalogs(self) -> list[Diagnostic]:
        """Read the catalogs unless already read (a run whose bundles all
        hit the cache never reads them); their problems. Call it outside a
        bundle's recording: the catalogs are part of the run's key, not of
        a bundle's. Bytes other than those the cache was keyed on (a
        catalog edited during the run) make the run store nothing more."""
        if self.catalogs is None:
            from cohort_dsl.files import recording

            with recording() as reads:
                self.catalogs, self.catalog_problems = self.catalog_loader()
            if self.cache is not None and self.catalog_reads is not None and (reads.changed or dict(reads) != self.catalog_reads):
                self.cache.frozen = True
            self.catalog_reads = dict(reads)
        return self.catalog_problems


def lint_bundle(config_path: Path, run: LintRun) -> list[Diagnostic]:
    """Every diagnostic for one bundle (selected, suppressed, with
    registry severities); from the cache when nothing it depends on changed."""
    if run.cache is None:
        return _lint_bundle(config_path, run)
    from cohort_dsl.files import recording

    key = run.cache.key(config_path)
    cached = run.cache.get(key)
    if cached is None:
        run.read_catalogs()
        with recording() as reads:  # the bytes this result is computed from
            cached = _lint_bundle(config_path, run)
        run.cache.put(key, cached, reads)
    return cached


def _lint_bundle(config_path: Path, run: LintRun) -> list[Diagnostic]:
    """load -> validate -> expand -> check for one bundle. Whatever goes
    wrong becomes a diagnostic of this bundle: the gate survives any
    bundle, and the others are still linted."""
    from cohort_dsl.bundle import load_bundle
    from cohort_dsl.compiler import compile_bundle

    run.read_catalogs()
    found: list[Diagnostic] = []
    bundle = compiled = None
    try:
        bundle = load_bundle(config_path, run.settings.limits, run.settings.plugins)
        compiled = compile_bundle(bundle, run.engine)
        found.extend(compiled.diagnostics)
    except SpecError as exc:
        found.extend(exc.diagnostics)
    except Exception as exc:  # noqa: BLE001 - reported, then exit 2 at the end
        found.append(_internal_error(exc, config_path))
    try:
        if compiled is not None:
            found.extend(_run_checks(_context(bundle, compiled, run), run))
        elif bundle is not None:
            # The rules stopped; the checks that can still tell something
            # from the declared levels run on those (a catalog miss is
            # reported beside the rule error, not after it is fixed).
            declared = _declared(bundle, run)
            if declared is not None:
                found.extend(_run_checks(_context(bundle, declared, run), run, declared_only=True))
    except Exception as exc:  # noqa: BLE001
        found.append(_internal_error(exc, config_path))
    return finish(found, run, config_path)


def _context(bundle, compiled, run: LintRun) -> LintContext:
    return LintContext(bundle, compiled, run.catalogs, run.settings, run.engine.registry, run.options)


def _declared(bundle, run: LintRun):
    """The spec's declared levels as a design of one factor per axis (no
    rule applied), or None when the spec itself cannot be read."""
    from cohort_dsl.compiler import CompiledDesign, initial_design
    from cohort_dsl.spec import parse_spec

    try:
        spec = parse_spec(bundle, run.engine.registry)
        design = initial_design(spec)
    except SpecError:
        return None
    return CompiledDesign(spec, design, list(design.axis_order), [])


def _internal_error(exc: Exception, config_path: Path) -> Diagnostic:
    from cohort_dsl.diagnostics import debugging

    if debugging():
        raise exc
    return Diagnostic(INTERNAL_ERROR.code, f"internal error while linting this bundle: {type(exc).__name__}: {exc}",
                      Location(str(Path(config_path).absolute())), ERROR,
                      "this is a bug; rerun with COHORT_DSL_DEBUG=1 for the traceback and report it")


def _run_checks(context: LintContext, run: LintRun, declared_only: bool = False) -> list[Diagnostic]:
    from cohort_dsl import guard

    out: list[Diagnostic] = []
    # Checks run whatever the selection (one check may report several codes);
    # selection filters what they find, in finish().
    for rule in run.engine.registry.lint_rules.values():
        if rule.check is None or (declared_only and not rule.on_declared):
            continue
        try:  # a broken check must not stop the others
            out.extend(guard.results(rule.plugin, f"check() of lint rule {rule.code} ({rule.name})", rule.check,
                                     context, expected=Diagnostic, location=context.bundle.document.loc()))
        except SpecError as exc:
            out.extend(exc.diagnostics)
    return out


def finish(found: list[Diagnostic], run: LintRun, config_path: Path | None = None) -> list[Diagnostic]:
    """The policy's severities, selection, suppression comments, dedup."""
    registry = run.engine.registry
    out: list[Diagnostic] = []
    seen = set()
    for d in run.policy.apply(found):
        rule = registry.lint_rules.get(d.code)
        if not run.selection.wants(d.code, rule.name if rule else ""):
            continue
        key = (d.code, d.message, d.location)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return _apply_suppressions(out, run, config_path)


def _apply_suppressions(diagnostics: list[Diagnostic], run: LintRun, config_path: Path | None = None) -> list[Diagnostic]:
    """Drop diagnostics whose line carries ``# noqa`` (all codes) or
    ``# noqa: CODE[, CODE]``; warn about suppressions that suppress nothing
    (in the bundle's config.yaml even when it has no finding)."""
    files = {d.location.path for d in diagnostics if d.location.path and d.location.line}
    if config_path is not None:
        files.add(str(Path(config_path).absolute()))
    comments: dict[str, dict[int, tuple[set | None, int]]] = {}
    for path in files:
        if path.endswith((".yaml", ".yml")):
            comments[path] = _noqa_comments(path)
    kept, used = [], set()
    for d in diagnostics:
        entry = comments.get(d.location.path or "", {}).get(d.location.line or 0)
        if entry is not None:
            codes, _ = entry
            if codes is None or any(d.code.startswith(c) for c in codes):
                used.add((d.location.path, d.location.line, d.code if codes is not None else "*"))
                continue
        kept.append(d)
    registry = run.engine.registry
    for path, table in comments.items():
        for line, (codes, col) in table.items():
            for code in sorted(codes or ()):
                unknown = unknown_selector(code, registry)
                if unknown and run.selection.wants(UNKNOWN_SUPPRESSION.code):
                    kept.append(Diagnostic(UNKNOWN_SUPPRESSION.code, f"`# noqa: {code}`: {unknown}", Location(path, line, col),
                                           ERROR))
            if codes:
                table[line] = ({c for c in codes if not unknown_selector(c, registry)}, col)
    if run.selection.wants(UNUSED_SUPPRESSION.code):
        for path, table in comments.items():
            for line, (codes, col) in table.items():
                if codes is not None and not codes:
                    continue  # only unknown codes: reported above
                if codes is None:
                    if not any(u[0] == path and u[1] == line for u in used):
                        kept.append(Diagnostic(UNUSED_SUPPRESSION.code, "`# noqa` suppresses nothing on this line",
                                               Location(path, line, col), WARNING, "remove the comment"))
                    continue
                unused = sorted(c for c in codes if not any(u[0] == path and u[1] == line and u[2].startswith(c) for u in used))
                if unused:
                    kept.append(Diagnostic(UNUSED_SUPPRESSION.code, f"`# noqa: {', '.join(unused)}` suppresses nothing on this line",
                                           Location(path, line, col), WARNING, "remove the code from the comment"))
    return kept


def _noqa_comments(path: str) -> dict[int, tuple[set | None, int]]:
    from cohort_dsl.files import read_bounded
    from cohort_dsl.limits import DEFAULT_LIMITS

    table = {}
    try:
        text = read_bounded(path, DEFAULT_LIMITS.max_include_bytes).decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return table
    from cohort_dsl.document import editor_lines

    for number, line in enumerate(editor_lines(text), start=1):
        if "noqa" not in line.lower():
            continue
        match = re.search(NOQA, line)
        if match:
            raw = match.group("codes")
            codes = {c.strip() for c in re.split(r"[,\s]+", raw) if c.strip()} if raw else None  # case-sensitive
            table[number] = (codes, match.start() + (1 if line[match.start()] != "#" else 0) + 1)
    return table


# -- which bundles to lint ---------------------------------------------------

def targets(paths: list[str], data_root: DataRoot, catalog_files: set[str], settings_file: Path | None = None) -> list[Path]:
    """The config.yaml of every bundle the given paths affect: the bundle a
    file lies in; a cohort's membership.csv -> its bundle; a catalog file or
    the settings file -> every bundle under the data root. A path that git
    tracks but that is gone from the work tree (``pre-commit run
    --all-files`` after a deletion) affects what it would have: a deleted
    include lints its bundle, a deleted cohort nothing; any other missing
    path is a usage error."""
    out: list[Path] = []
    resolved_catalogs = {os.path.realpath(c) for c in catalog_files}
    if settings_file is not None:
        resolved_catalogs.add(os.path.realpath(settings_file))
    missing = [raw for raw in paths if not os.path.lexists(raw)]
    if missing:
        from cohort_dsl.vcs import tracked_or_staged

        deleted = tracked_or_staged([Path(raw) for raw in missing], Path.cwd()) or set()
        for raw in missing:
            if Path(raw).absolute() not in deleted:
                raise UsageError(f"{raw}: no such file or folder")
    for raw in paths:
        path = Path(raw)
        if os.path.realpath(path) in resolved_catalogs:
            out.extend(data_root.bundles())
            continue
        if path.is_dir():
            if (path / "config.yaml").is_file():
                out.append(path / "config.yaml")
            else:  # a data root or cohorts folder: every bundle below it
                out.extend(DataRoot.bundles_below(path))
            continue
        owner = _owning_config(path)
        if owner is not None:
            out.append(owner)
        elif path.name == MEMBERSHIP_FILE:
            located = DataRoot.of_bundle(path.parent / SPEC)
            if located is not None and located[0].config(located[1]).is_file():
                out.append(located[0].config(located[1]))
    unique = list(dict.fromkeys(p.absolute() for p in out))
    return unique


def _owning_config(path: Path) -> Path | None:
    if path.name == "config.yaml" and path.is_file():
        return path
    for parent in path.absolute().parents:
        candidate = parent / "config.yaml"
        if candidate.is_file():
            return candidate
        if DataRoot.is_cohorts_dir(parent):
            break
    return None


def lint_many(configs: list[Path], run: LintRun, jobs: int | None = None, progress=None) -> list[Diagnostic]:
    """Lint bundles, in parallel when there are many (they are independent).
    ``progress`` (a :class:`cohort_dsl.progress.Progress`) advances per bundle."""
    jobs = jobs or os.cpu_count() or 1
    advance = progress.advance if progress is not None else (lambda n=1: None)
    if len(configs) < PARALLEL_THRESHOLD or jobs < 2 or not _can_fork():
        out = []
        for config in configs:
            out.extend(lint_bundle(config, run))
            advance()
        return out
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    run.read_catalogs()  # once, here: a worker's problems or changed reads would not reach this process
    global _RUN
    _RUN = run  # inherited by forked workers; nothing is pickled but paths and results
    context = multiprocessing.get_context("fork")
    chunk = max(1, len(configs) // (jobs * 4))
    with ProcessPoolExecutor(max_workers=min(jobs, len(configs)), mp_context=context) as pool:
        out = []
        for result in pool.map(_lint_in_worker, configs, chunksize=chunk):
            out.extend(result)
            advance()
        return out


_RUN: LintRun | None = None


def _lint_in_worker(config: Path) -> list[Diagnostic]:
    return lint_bundle(config, _RUN)


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def exit_code(diagnostics: list[Diagnostic]) -> int:
    """0 clean (warnings allowed), 1 errors, 2 when linting a bundle failed
    internally (every bundle is reported first)."""
    if any(d.code == INTERNAL_ERROR.code for d in diagnostics):
        return 2
    return 1 if any(d.severity == ERROR for d in diagnostics) else 0
