"""The project: settings and plugins, and the one sequence every entry point
runs — load → validate → expand → check → emit.

The CLI's commands, the testing kit and library users all go through a
:class:`Project`; none of them strings the stages together itself. A
project's settings never change (flags make a new project with
:meth:`Project.override`), its data root is a
:class:`~cohort_dsl.dataroot.DataRoot`, and its :class:`~cohort_dsl.policy.Policy`
decides every diagnostic's severity, so a spec is an error in every command
or in none, and an error stops every command that writes. See docs/api.md.
"""

from __future__ import annotations

import contextlib

import sys
from pathlib import Path
from typing import Iterable

from cohort_dsl.dataroot import DataRoot
from cohort_dsl.diagnostics import SpecError, UsageError
from cohort_dsl.policy import Policy
from cohort_dsl.settings import Settings, check_plugin_settings, load_settings

TEXT_FORMAT = "text"


class Project:
    """Settings, the plugin engine and the operations on specs and cohorts."""

    def __init__(self, settings: Settings | None = None, engine=None):
        if engine is None:
            from cohort_dsl.pluginmanager import get_engine

            engine = get_engine()
        self.settings = settings if settings is not None else load_settings()
        self.engine = engine
        self.policy = Policy(engine.registry, dict(self.settings.severity))
        self.selection.check(engine.registry)  # a mistyped selector is a usage error, never a green gate
        check_plugin_settings(self.settings, engine.registry)

    @classmethod
    def load(cls, config: str | Path | None = None, *, start: Path | None = None, engine=None) -> "Project":
        """The project of the settings file ``config`` (or the one found by
        walking up from ``start``, the working directory by default)."""
        return cls(load_settings(config, start), engine)

    def override(self, **values) -> "Project":
        """A project with some settings replaced (see
        :meth:`cohort_dsl.settings.Settings.override`)."""
        return Project(self.settings.override(**values), self.engine)

    @property
    def registry(self):
        return self.engine.registry

    @property
    def selection(self):
        from cohort_dsl.lint import Selection

        return Selection(list(self.settings.select), list(self.settings.ignore))

    @property
    def data_root(self) -> DataRoot:
        return DataRoot(self.settings.data_root)

    # -- load, validate, expand ----------------------------------------------
    def load_bundle(self, spec: str | Path):
        """The spec bundle at ``spec`` (its folder, its config.yaml, or a
        file inside it)."""
        from cohort_dsl.bundle import load_bundle

        return load_bundle(spec, self.settings.limits, self.settings.plugins)

    def compile(self, spec, observe=None):
        """The compiled design of a spec (a path or a loaded bundle). Its
        ``diagnostics`` carry the policy's severities; an error-severity
        diagnostic raises :class:`SpecError`, so nothing is emitted.
        ``observe``: see :func:`cohort_dsl.compiler.compile_bundle`."""
        from cohort_dsl.compiler import compile_bundle

        bundle = spec if hasattr(spec, "document") else self.load_bundle(spec)
        try:
            compiled = compile_bundle(bundle, self.engine, max_rows=self.settings.max_rows, observe=observe)
        except SpecError as exc:
            raise SpecError(self.policy.apply(exc.diagnostics)) from None
        compiled.diagnostics = self.policy.refuse_errors(compiled.diagnostics)
        return compiled

    def explain(self, spec) -> dict:
        """What ``explain --format json`` prints (without ``--why``)."""
        from cohort_dsl.explain import report

        return report(self.compile(spec))

    def membership(self, spec, cohort_id: str, layout: str | None = None):
        """The membership (:class:`cohort_dsl.membership.Membership`) of a
        spec under its layout; an error (an id collision, say) raises
        :class:`SpecError` before any record is emitted."""
        from cohort_dsl.membership import build_membership

        self.data_root.check_cohort_id(cohort_id)
        compiled = spec if hasattr(spec, "design") else self.compile(spec)
        membership = build_membership(compiled, self.registry, cohort_id, layout)
        membership.diagnostics = self.policy.refuse_errors(compiled.diagnostics + membership.diagnostics)
        return membership

    # -- check ----------------------------------------------------------------
    def catalogs(self, extra_refs: Iterable = ()) -> tuple[dict, list]:
        """The configured catalogs (settings, then ``extra_refs``) by axis,
        and the diagnostics of those that cannot be read."""
        from cohort_dsl.catalogs import load_catalogs, settings_refs

        return load_catalogs(settings_refs(self.settings) + list(extra_refs), self.registry)

    def lint(self, paths: Iterable[str | Path] = (), *, extra_catalog_refs: Iterable = (), options=None,
             jobs: int | None = None, use_cache: bool = True, tracked_only: bool = False, progress=None):
        """Lint the bundles ``paths`` affect (every bundle of the data root
        when none is given); returns a :class:`cohort_dsl.report.Report`.
        With ``tracked_only`` (pre-commit), bundles git does not track or
        stage are left out and listed in ``report.skipped``. ``progress``
        is a factory ``progress(total)`` of a
        :class:`cohort_dsl.progress.Progress`."""
        from cohort_dsl.catalogs import catalog_files, settings_refs
        from cohort_dsl.lint import LintRun, finish, lint_many, targets
        from time import perf_counter

        from cohort_dsl.report import Report

        started = perf_counter()
        refs = settings_refs(self.settings) + list(extra_catalog_refs)
        run = LintRun(self.engine, self.settings, None, self.selection, options, policy=self.policy,
                      catalog_loader=lambda: self.catalogs(extra_catalog_refs))
        if use_cache:
            from cohort_dsl.cache import LintCache

            run.cache = LintCache.for_run(run, refs)  # reads the catalogs unless a cache entry vouches for them
        if run.cache is None:
            run.read_catalogs()
        catalogs_done = perf_counter()
        paths = [str(p) for p in paths]
        if paths:
            configs = targets(paths, self.data_root, catalog_files(refs), self.settings.path)
        else:
            configs = self.data_root.bundles()
            if not configs:
                raise UsageError(f"no spec bundles under {self.data_root.cohorts_dir}/*/spec/ "
                                 "(set --data-root or data-root in the config)")
        skipped: list[Path] = []
        if tracked_only:
            from cohort_dsl.vcs import committed_bundles

            configs, skipped = committed_bundles(configs, Path.cwd())
        bar = progress(len(configs)) if progress is not None else None
        try:
            found = lint_many(configs, run, jobs or self.settings.jobs, bar)
            diagnostics = finish(run.catalog_problems, run) + found
        finally:
            if bar is not None:
                bar.close()
        done = perf_counter()
        timings = {"catalogs": catalogs_done - started, "bundles": done - catalogs_done, "total": done - started}
        return Report(diagnostics, self.registry, [str(c) for c in configs], settings_path=self.settings.path,
                      skipped=[str(s) for s in skipped], timings=timings, settings=self.settings)

    # -- emit -------------------------------------------------------------------
    def materialize(self, cohort_id: str, *, force: bool = False, seed_metadata: bool = False,
                    layout: str | None = None, extra_catalog_refs: Iterable = (), progress=None, on_wait=None):
        """Write a cohort's membership files (see docs/cohorts.md). The
        cohort is linted first, exactly as ``lint`` would: any error (but a
        stale membership when ``force``) raises :class:`SpecError` and
        nothing is written. Returns a :class:`cohort_dsl.materialize.Outcome`.
        ``progress``: a factory ``progress(total)`` as for :meth:`lint`;
        ``on_wait()`` is called when another run of the cohort holds its lock."""
        from cohort_dsl.catalogs import catalog_files, settings_refs
        from cohort_dsl.files import recording
        from cohort_dsl.materialize import environment_digest, input_digests, input_changed, materialize

        config = self.data_root.require_cohort(cohort_id)
        with recording() as reads:  # what the checked and compiled membership comes from
            found = self._checked_for_writing(config, extra_catalog_refs, allow_change=force)
            catalogs, _ = self.catalogs(extra_catalog_refs) if seed_metadata else ({}, [])
            compiled = self.compile(config)
        if reads.changed:
            raise SpecError([input_changed(path) for path in sorted(reads.changed)])
        inputs = input_digests(reads, config.parent,
                               catalog_files(settings_refs(self.settings) + list(extra_catalog_refs)), self.data_root)
        membership = self.membership(compiled, cohort_id, layout)
        bar = progress(sum(membership.stage_sizes())) if progress is not None else None
        try:
            # the environment too: what lint's stale-membership check keys on besides the files
            recorded = {**inputs, "environment": environment_digest(self.registry, self.settings)}
            outcome = materialize(membership, self.data_root, catalogs=catalogs, force=force, seed_metadata=seed_metadata,
                                  progress=bar, on_wait=on_wait, inputs=recorded)
        except SpecError as exc:
            raise SpecError(self.policy.apply(exc.diagnostics)) from None
        finally:
            if bar is not None:
                bar.close()
        outcome.diagnostics = list(dict.fromkeys(found + self.policy.apply(outcome.diagnostics)))
        outcome.inputs = inputs
        return outcome

    def inputs(self, cohort_id: str, *, extra_catalog_refs: Iterable = ()) -> dict:
        """What a materialize of the cohort would be computed from now, as
        its manifest.json records it: ``{"spec": {"digest", "files"},
        "catalogs": {path: digest}}`` (docs/cohorts.md). A spec that does
        not compile still gives the digests of what was read."""
        from cohort_dsl.catalogs import catalog_files, settings_refs
        from cohort_dsl.files import recording
        from cohort_dsl.materialize import input_digests

        config = self.data_root.require_cohort(cohort_id)
        with recording() as reads:
            self.catalogs(extra_catalog_refs)
            try:
                self.compile(config)
            except SpecError:
                pass
        return input_digests(reads, config.parent,
                             catalog_files(settings_refs(self.settings) + list(extra_catalog_refs)), self.data_root)

    # -- adoption (docs/cohorts.md, "Adopting cohort-dsl") ------------------------
    def new_cohort(self, cohort_id: str, *, from_id: str | None = None) -> Path:
        """A new cohort folder with a starter spec (levels from the
        catalogs), or a copy of cohort ``from_id``'s bundle; an existing id
        raises :class:`SpecError`. Returns the spec folder."""
        from cohort_dsl import scaffold

        root = self.data_root
        root.check_cohort_id(cohort_id)
        if from_id is not None:
            return scaffold.create_cohort(root, cohort_id, source=root.require_cohort(from_id).parent)
        catalogs, _ = self.catalogs()
        text = scaffold.starter_spec(cohort_id, self._default_layout(), catalogs)
        return scaffold.create_cohort(root, cohort_id, {"config.yaml": text.encode("utf-8")})

    def import_cohort(self, cohort_id: str, *, force: bool = False):
        """Derive and publish the spec of a cohort that already ran from its
        membership.csv and metadata; it reproduces the membership byte for
        byte, or :class:`SpecError` and nothing is written. Returns a
        :class:`cohort_dsl.importer.Imported`."""
        from cohort_dsl import importer
        from cohort_dsl.cohort_lock import CohortLock

        self.data_root.check_cohort_id(cohort_id)
        importer.refuse_existing(self.data_root, cohort_id, force)
        folder = self.data_root.cohort_dir(cohort_id)
        # a materialize of this cohort (which rewrites membership.csv) and this import take turns
        with CohortLock(folder) if folder.is_dir() else contextlib.nullcontext():
            derived = importer.from_membership(self.data_root, self._default_layout(), cohort_id)
            files = importer.render_spec(derived, cohort_id, "its membership.csv and gens/*/*/metadata.json",
                                         "`cohort-dsl materialize` gives back that membership.csv byte for byte.")
            return importer.publish(self, cohort_id, files, derived.expected, force=force)

    def import_list(self, cohort_id: str, list_path: str | Path, templates, llms, replicates: int = 1, *,
                    force: bool = False):
        """Write the spec of a curated cohort: the essays listed in
        ``list_path``, their drafts, and an evaluation per essay x template
        x llm x replicate, all with the ids they already have. Returns a
        :class:`cohort_dsl.importer.Imported`."""
        from cohort_dsl import importer

        self.data_root.check_cohort_id(cohort_id)
        importer.refuse_existing(self.data_root, cohort_id, force)
        derived = importer.from_list(self.data_root, self._default_layout(), Path(list_path), list(templates),
                                     list(llms), replicates)
        importer.refuse_other_membership(self.data_root, cohort_id, derived.expected)
        files = importer.render_spec(derived, cohort_id, f"the essays listed in {Path(list_path).name}",
                                     "Its membership: those essays and their drafts, with the ids they have, and one "
                                     "evaluation per essay x template x llm x replicate.")
        return importer.publish(self, cohort_id, files, derived.expected, force=force)

    def migrate_catalogs(self, *, write: bool = False):
        """The migrations of the configured catalogs that have a legacy
        ``active`` column (:mod:`cohort_dsl.catalog_migration`); done when
        ``write``. A problem in any raises :class:`SpecError` first."""
        from cohort_dsl.catalog_migration import plan

        migrations = plan(self.settings, self.data_root)
        if write:
            for migration in migrations:
                migration.write()
        return migrations

    def _default_layout(self):
        from cohort_dsl.membership import DEFAULT_LAYOUT

        return self.registry.layouts[DEFAULT_LAYOUT]

    def diff(self, cohort_id: str, rev: str | None = None, *, layout: str | None = None,
             extra_catalog_refs: Iterable = ()):
        """The :class:`cohort_dsl.change.Change` from what the cohort has
        (its membership.csv, or with ``rev`` the membership its spec and the
        settings file give at that git revision) to what its spec gives now.
        See docs/cohorts.md, "Reviewing a change"."""
        import tempfile

        from cohort_dsl.change import MATERIALIZED, compare_membership, materialized_side, side_at

        config = self.data_root.require_cohort(cohort_id)
        membership = self.membership(self.compile(config), cohort_id, layout)
        catalogs, _ = self.catalogs(extra_catalog_refs)  # only to say a removed value left its catalog
        with tempfile.TemporaryDirectory(prefix="cohort-dsl-rev-") as workdir:
            if rev is None:
                old, base = materialized_side(self.data_root, cohort_id), MATERIALIZED
            else:
                old, base = side_at(self, rev, config, cohort_id, Path(workdir)), f"the spec at {rev}"
            return compare_membership(membership, old, base, catalogs=catalogs)

    def preview(self, cohort_id: str, *, layout: str | None = None, extra_catalog_refs: Iterable = ()):
        """What :meth:`materialize` would change, writing nothing: the
        cohort is linted as materialize lints it, and any error but the
        change itself (M003) and a mixed set (M013, which materialize
        repairs) raises :class:`SpecError`. Returns ``(change, warnings)``."""
        config = self.data_root.require_cohort(cohort_id)
        found = self._checked_for_writing(config, extra_catalog_refs, allow_change=True)
        return self.diff(cohort_id, layout=layout, extra_catalog_refs=extra_catalog_refs), found

    def _checked_for_writing(self, config: Path, extra_catalog_refs: Iterable, *, allow_change: bool) -> list:
        """Lint a cohort as materialize does before it writes: any error
        raises :class:`SpecError` but a mixed set (M013, which materialize
        repairs) and, when ``allow_change``, the change itself (M003).
        Returns the warnings (and the allowed diagnostics)."""
        from cohort_dsl.membership import STALE_MEMBERSHIP
        from cohort_dsl.service import MIXED_SET

        report = self.lint([config], extra_catalog_refs=extra_catalog_refs, use_cache=False, jobs=1)
        allowed = {MIXED_SET.code} | ({STALE_MEMBERSHIP.code} if allow_change else set())
        return self.policy.refuse_errors([d for d in report.diagnostics if d.code not in allowed])

    # -- reports ------------------------------------------------------------------
    def report(self, diagnostics, fmt: str = TEXT_FORMAT, out=None, *, summary: bool = True,
               bundles: Iterable[str] = ()) -> None:
        """Render diagnostics (or a :class:`~cohort_dsl.report.Report`)
        through the report-format registry."""
        render(self.registry, diagnostics, fmt, out, summary=summary, bundles=bundles)


def render(registry, diagnostics, fmt: str = TEXT_FORMAT, out=None, *, summary: bool = True,
           bundles: Iterable[str] = ()) -> None:
    """Render through the report-format registry: the text format is a
    registered format like any other (and an essential plugin)."""
    from cohort_dsl.report import Report

    report = diagnostics if isinstance(diagnostics, Report) else Report(list(diagnostics), registry, list(bundles))
    report.show_summary = summary and report.show_summary
    format_ = format_for(registry, fmt)
    try:
        format_.render(report, out if out is not None else sys.stdout)
    except OSError:
        raise  # the stream's own failure (a closed pipe, a full disk): the CLI reports it
    except Exception as exc:  # a plugin bug: name the plugin, never "internal error"
        from cohort_dsl.pluginmanager import PluginError

        raise PluginError(f"plugin {format_.plugin}: render() of report format {format_.name!r} raised "
                          f"{type(exc).__name__}: {exc}\n  hint: this is a bug in the plugin; report it to its "
                          "authors, or use another --format") from None


def format_for(registry, name: str):
    format_ = registry.report_formats.get(name)
    if format_ is None:
        raise UsageError(f"unknown format {name!r} (formats: {', '.join(sorted(registry.report_formats))})")
    return format_
