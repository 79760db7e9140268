"""The registry: what plugins declare, collected and checked in one place.

(The declaration types are records (:mod:`cohort_dsl.records`): dataclasses
whose methods are written out, since every pre-commit run defines them all.)

Plugins answer ``cohort_dsl_*`` hooks with *declarative data* (the types
below). The registry gathers every answer together with the plugin that gave
it, and rejects conflicts (two plugins claiming one rule-kind section, lint
code or format name) naming both plugins, and answers of the wrong type (a
hook that returns one object instead of a list, an item that is not the
declared type, a layout without stages, a malformed lint code) naming the
plugin and the expected type.

The registry holds declarations only: what validation derives from them
(the composed schema, the compiled checker, the jsonschema validator) is
cached per registry by :mod:`cohort_dsl.schema`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from cohort_dsl.diagnostics import ERROR, SEVERITIES, Location
from cohort_dsl.records import Record



@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class PluginInfo(Record):
    """Who a contribution comes from: the plugin's registered name and the
    distribution (with version) that ships it."""

    name: str
    dist: str = "cohort-dsl"
    version: str = ""
    builtin: bool = False

    def __init__(self, name: str, dist: str = "cohort-dsl", version: str = "", builtin: bool = False):
        self.name, self.dist, self.version, self.builtin = name, dist, version, builtin

    def __str__(self) -> str:
        return f"{self.name} ({self.dist} {self.version})" if self.version else f"{self.name} ({self.dist})"


@dataclass(init=False, repr=False, eq=False)
class Reference(Record):
    """A name a rule reads: an axis, or (``expects="any"``) an earlier rule.

    The core checks every reference before any rule runs: unknown names get
    a "did you mean", names of later rules get "move this rule below …".
    """

    name: str
    location: Location
    expects: str = "any"  # "any" | "axis"

    def __init__(self, name: str, location: Location, expects: str = "any"):
        self.name, self.location, self.expects = name, location, expects


@dataclass(init=False, repr=False, eq=False)
class Rule(Record):
    """One entry of a ``rules:`` section, as parsed by its rule kind.

    ``apply(design)`` filters or joins factors of the :class:`~cohort_dsl.design.Design`.
    A ``named`` rule may be referenced by later rules under ``name`` (it must
    call ``design.define`` when applied). ``introduces`` maps axes this rule can
    supply levels for (tuples fill ``null`` and undeclared axes) to the
    ``(value, location)`` pairs it lists.
    """

    kind: str
    name: str
    location: Location
    apply: Callable[[Any], None]
    references: tuple[Reference, ...] = ()
    introduces: Mapping[str, list] = field(default_factory=dict)
    named: bool = False
    plugin: PluginInfo | None = None

    def __init__(self, kind: str, name: str, location: Location, apply: Callable[[Any], None],
                 references: tuple[Reference, ...] = (), introduces: Mapping[str, list] | None = None,
                 named: bool = False, plugin: PluginInfo | None = None):
        self.kind, self.name, self.location, self.apply = kind, name, location, apply
        self.references, self.introduces = references, {} if introduces is None else introduces
        self.named, self.plugin = named, plugin

    @property
    def label(self) -> str:
        """``kind name``, as messages name the rule."""
        return f"{self.kind} {self.name}"


@dataclass(init=False, repr=False, eq=False)
class RuleKind(Record):
    """A section under ``rules:``.

    ``schema`` is the JSON Schema (Draft 2020-12) of the section's value; it is
    composed into the spec schema under ``rules.properties.<section>`` and may
    ``$ref`` the base definitions (``#/$defs/name``, ``level``, ``levels``,
    ``include``, ``levels_or_include``, ``axis_list``). ``parse(section)`` gets
    a :class:`~cohort_dsl.spec.Section` (already schema-valid) and returns
    :class:`Rule` objects in document order.
    """

    section: str
    schema: Mapping[str, Any]
    parse: Callable[[Any], Iterable[Rule]]
    summary: str = ""
    plugin: PluginInfo | None = None

    def __init__(self, section: str, schema: Mapping[str, Any], parse: Callable[[Any], Iterable[Rule]],
                 summary: str = "", plugin: PluginInfo | None = None):
        self.section, self.schema, self.parse, self.summary, self.plugin = section, schema, parse, summary, plugin


@dataclass(init=False, repr=False, eq=False)
class LintRule(Record):
    """A diagnostic code: its stable ``code``, readable ``name``, default
    ``severity``, a one-line ``summary`` and a paragraph of ``doc``.

    ``check(context)`` (optional) runs in the check stage on a compiled spec
    and yields :class:`~cohort_dsl.diagnostics.Diagnostic` objects. Codes
    without a check are emitted by a stage (loading, schema, rules); they are
    declared here so that every code is documented, selectable and ignorable.

    ``on_declared``: the check also runs when the rules could not be
    applied (a rule error), on the spec's declared levels (one factor per
    axis), so that its findings appear beside the rule error instead of
    after it is fixed.
    """

    code: str
    name: str
    summary: str
    doc: str = ""
    severity: str = ERROR
    check: Callable[[Any], Iterable[Any]] | None = None
    plugin: PluginInfo | None = None
    on_declared: bool = False

    def __init__(self, code: str, name: str, summary: str, doc: str = "", severity: str = ERROR,
                 check: Callable[[Any], Iterable[Any]] | None = None, plugin: PluginInfo | None = None,
                 on_declared: bool = False):
        self.code, self.name, self.summary, self.doc, self.severity = code, name, summary, doc, severity
        self.check, self.plugin, self.on_declared = check, plugin, on_declared


@dataclass(init=False, repr=False, eq=False)
class ReportFormat(Record):
    """An output format for ``lint --format NAME``: ``render(report, stream)``
    writes a :class:`~cohort_dsl.report.Report` to a text stream."""

    name: str
    render: Callable[[Any, Any], None]
    summary: str = ""
    plugin: PluginInfo | None = None

    def __init__(self, name: str, render: Callable[[Any, Any], None], summary: str = "",
                 plugin: PluginInfo | None = None):
        self.name, self.render, self.summary, self.plugin = name, render, summary, plugin


@dataclass(init=False, repr=False, eq=False)
class Stage(Record):
    """One generation stage of a :class:`Layout`: what its id hashes and
    what its record carries.

    Column fields list candidate names: the first one the spec has is
    used. A stage's id hashes, in this order: its parent's id (the previous
    stage's; the first stage has none), ``combo`` (first stage only),
    ``template``, ``llm`` (unless ``llm_in_id`` is False: then the llm is an
    attribute carried on the record, and records that differ only in it are
    refused as M002), ``replicate`` (absent: 1), each of ``columns``, then,
    when ``other_axes`` is True, every axis of the spec that no stage reads
    (in the spec's column order), and last the axes a spec adds itself with
    ``output.layout: {name: LAYOUT, STAGE: {id: [AXIS, ...]}}``.
    ``template``, ``combo``, ``llm`` and ``columns`` are required when
    declared (M001 names a missing one); ``()`` declares none.

    The record's wide columns: ``combo_id``, ``template_id``,
    ``llm_model_id`` and ``replicate`` from those fields (blank when the
    stage has none), then one column per id axis read through ``columns``,
    ``other_axes`` or the spec. The core does the rest for any layout:
    streaming, collision, separator and unread-axis checks, catalog checks
    and the manifest."""

    name: str
    #: prepended to the base-36 digest: ``d_`` gives ``d_1x2y...``
    prefix: str
    template: tuple[str, ...] = ()
    llm: tuple[str, ...] = ()
    #: False when the llm is an attribute of the record, not part of its id
    llm_in_id: bool = True
    replicate: tuple[str, ...] = ()
    #: the first stage's id starts with the combo
    combo: tuple[str, ...] = ()
    #: catalog axis whose ``generator`` column gives a record's mode
    mode_axis: str | None = None
    #: further columns the id hashes (each one required), after the replicate
    columns: tuple[str, ...] = ()
    #: the id also hashes every axis no other stage reads ("id from all axes")
    other_axes: bool = False

    def __init__(self, name: str, prefix: str, template: tuple[str, ...] = (), llm: tuple[str, ...] = (),
                 llm_in_id: bool = True, replicate: tuple[str, ...] = (), combo: tuple[str, ...] = (),
                 mode_axis: str | None = None, columns: tuple[str, ...] = (), other_axes: bool = False):
        self.name, self.prefix, self.template, self.llm, self.llm_in_id = name, prefix, template, llm, llm_in_id
        self.replicate, self.combo, self.mode_axis = replicate, combo, mode_axis
        self.columns, self.other_axes = columns, other_axes


@dataclass(init=False, repr=False, eq=False)
class Layout(Record):
    """A membership layout: a chain of stages, each the parent of the
    next; records are emitted stage by stage (see :mod:`cohort_dsl.membership`
    for the id algorithm). Pure data: the core computes every id."""

    name: str
    stages: tuple[Stage, ...]
    summary: str = ""
    plugin: object = None
    #: column names the layout does not read -> the one it reads instead
    #: (named in M001/M009 hints, so a spec using an old name is told what
    #: to rename it to)
    renamed: Mapping[str, str] = field(default_factory=dict)

    def __init__(self, name: str, stages: tuple[Stage, ...], summary: str = "", plugin: object = None,
                 renamed: Mapping[str, str] | None = None):
        self.name, self.stages, self.summary, self.plugin = name, stages, summary, plugin
        self.renamed = {} if renamed is None else renamed


class RegistryError(Exception):
    """Plugins that contradict each other or declare invalid data."""


#: a lint code: capital letters, then digits (``S001``, ``EX100``)
LINT_CODE = re.compile(r"[A-Z]+[0-9]+")


class Registry:
    """What the plugins declared, by kind (equal and hashable by identity:
    the schema cache is keyed by registry)."""

    def __init__(self, plugins: list[PluginInfo] | None = None):
        self.plugins: list[PluginInfo] = plugins if plugins is not None else []
        self.rule_kinds: dict[str, RuleKind] = {}
        self.lint_rules: dict[str, LintRule] = {}
        self.report_formats: dict[str, ReportFormat] = {}
        self.catalog_sources: dict[str, Any] = {}
        self.layouts: dict[str, Any] = {}
        self.spec_keys: dict[str, Mapping] = {}
        self.spec_key_plugins: dict[str, PluginInfo] = {}
        #: plugin name -> the JSON Schema of its [tool.cohort-dsl.plugins.NAME] table
        self.plugin_settings: dict[str, Mapping] = {}
        #: plugin name -> the registered object (a module or an instance): whose code runs
        self.plugin_objects: dict[str, object] = {}

    @classmethod
    def collect(cls, pm, infos: Mapping[str, PluginInfo]) -> "Registry":
        """Call every declaration hook plugin by plugin, so each answer is
        attributed (pluggy's combined call would lose who said what)."""
        # imported here: cohort_dsl.catalogs imports this module
        from cohort_dsl.catalogs import CatalogSource

        registry = cls(plugins=list(infos.values()))
        registry.plugin_objects = {name: pm.get_plugin(name) for name in infos}

        def call(impl, hook_name: str):
            info = infos.get(impl.plugin_name) or PluginInfo(impl.plugin_name)
            try:
                return info, impl.function()
            except Exception as exc:
                raise RegistryError(f"plugin {info} failed in {hook_name}: {type(exc).__name__}: {exc}") from exc

        def answers(hook_name: str, expected: type):
            hook = getattr(pm.hook, hook_name)
            # get_hookimpls() lists implementations in registration order,
            # so the built-ins are declared first.
            for impl in hook.get_hookimpls():
                info, result = call(impl, hook_name)
                if result is None:  # pluggy's "no answer"
                    continue
                if not isinstance(result, (list, tuple)):
                    raise RegistryError(f"plugin {info}: {hook_name} must return a list of {expected.__name__}, "
                                        f"got {type(result).__name__}")
                for item in result:
                    _expect(item, expected, info, hook_name)
                    yield info, item

        for info, kind in answers("cohort_dsl_rule_kinds", RuleKind):
            _claim(registry.rule_kinds, kind.section, _with_plugin(kind, info), "rule kind section")
        for info, rule in answers("cohort_dsl_lint_rules", LintRule):
            if not (isinstance(rule.code, str) and LINT_CODE.fullmatch(rule.code)):
                raise RegistryError(f"plugin {info}: lint rule code {rule.code!r} must be capital letters then digits "
                                    "(like 'MY001')")
            if rule.severity not in SEVERITIES:
                raise RegistryError(f"plugin {info}: lint rule {rule.code} has severity {rule.severity!r}; use 'error' or 'warning'")
            _claim(registry.lint_rules, rule.code, _with_plugin(rule, info), "lint code")
        for info, fmt in answers("cohort_dsl_report_formats", ReportFormat):
            _claim(registry.report_formats, fmt.name, _with_plugin(fmt, info), "report format")
        for info, source in answers("cohort_dsl_catalog_sources", CatalogSource):
            _claim(registry.catalog_sources, source.name, _with_plugin(source, info), "catalog source")
        for info, layout in answers("cohort_dsl_membership_layouts", Layout):
            _check_stages(layout, info)
            _claim(registry.layouts, layout.name, _with_plugin(layout, info), "membership layout")
        for impl in pm.hook.cohort_dsl_spec_keys.get_hookimpls():
            info, keys = call(impl, "cohort_dsl_spec_keys")
            if keys is None:
                continue
            if not isinstance(keys, Mapping):
                raise RegistryError(f"plugin {info}: cohort_dsl_spec_keys must return a mapping "
                                    f"{{key: json_schema}}, got {type(keys).__name__}")
            for key, schema in keys.items():
                if not (_is_name(key) and isinstance(schema, Mapping)):
                    raise RegistryError(f"plugin {info}: cohort_dsl_spec_keys must map key names to JSON Schema "
                                        f"objects (dicts), got {key!r}: {type(schema).__name__}")
                _claim(registry.spec_keys, key, _Keyed(schema, info), "top-level spec key")
        for impl in pm.hook.cohort_dsl_plugin_settings.get_hookimpls():
            info, schema = call(impl, "cohort_dsl_plugin_settings")
            if schema is None:
                continue
            if not isinstance(schema, Mapping):
                raise RegistryError(f"plugin {info}: cohort_dsl_plugin_settings must return a JSON Schema object "
                                    f"(a dict), got {type(schema).__name__}")
            registry.plugin_settings[info.name] = schema
        registry.spec_key_plugins = {k: v.plugin for k, v in registry.spec_keys.items()}
        registry.spec_keys = {k: v.value for k, v in registry.spec_keys.items()}
        return registry

    # -- the composed JSON Schema -------------------------------------------
    @property
    def schema(self) -> dict:
        """The composed spec schema (built once per registry and cached by
        :mod:`cohort_dsl.schema`, not stored here)."""
        from cohort_dsl.schema import spec_schema

        return spec_schema(self).schema


class _Keyed:
    __slots__ = ("value", "plugin")

    def __init__(self, value: Any, plugin: PluginInfo):
        self.value, self.plugin = value, plugin


def _with_plugin(item, info: PluginInfo):
    from dataclasses import replace

    return replace(item, plugin=info) if item.plugin is None else item


def _expect(item, cls, info: PluginInfo, hook: str) -> None:
    if not isinstance(item, cls):
        raise RegistryError(f"plugin {info}: {hook} must return {cls.__name__} objects, got {type(item).__name__}")
    _check_fields(item, cls.__name__, info, hook)


def shown(value) -> str:
    """``repr(value)``, shortened for a message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_name(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_names(value) -> bool:
    return isinstance(value, (tuple, list)) and all(_is_name(v) for v in value)


def _is_suffixes(value) -> bool:
    return isinstance(value, (tuple, list)) and bool(value) and all(
        isinstance(v, str) and v.startswith(".") and v == v.lower() for v in value)


def _is_renames(value) -> bool:
    return isinstance(value, Mapping) and all(_is_name(k) and _is_name(v) for k, v in value.items())


_NAME = (_is_name, "a non-empty string")
_TEXT = (lambda v: isinstance(v, str), "a string")
_FLAG = (lambda v: isinstance(v, bool), "True or False")
_NAMES = (_is_names, "a tuple of column names")
#: what each field of a declaration must hold: checked at start-up, so a
#: wrong type is reported naming the plugin, never met deep in a run
FIELD_SHAPES: dict[str, dict[str, tuple[Callable[[Any], bool], str]]] = {
    "RuleKind": {"section": _NAME, "schema": (lambda v: isinstance(v, Mapping), "a JSON Schema object (a dict)"),
                 "parse": (callable, "a callable parse(section)"), "summary": _TEXT},
    "LintRule": {"name": _NAME, "summary": _TEXT, "doc": _TEXT, "on_declared": _FLAG,
                 "check": (lambda v: v is None or callable(v), "None or a callable check(context)")},
    "ReportFormat": {"name": _NAME, "render": (callable, "a callable render(report, stream)"), "summary": _TEXT},
    "CatalogSource": {"name": _NAME, "load": (callable, "a callable load(path, column)"), "summary": _TEXT,
                      "suffixes": (_is_suffixes, "a non-empty tuple of lower-case suffixes like '.csv'")},
    "Layout": {"name": _NAME, "summary": _TEXT, "renamed": (_is_renames, "a mapping {old column: new column}")},
    "Stage": {"name": _NAME, "prefix": (lambda v: isinstance(v, str), "a string"), "template": _NAMES,
              "llm": _NAMES, "llm_in_id": _FLAG, "replicate": _NAMES, "combo": _NAMES, "columns": _NAMES,
              "other_axes": _FLAG, "mode_axis": (lambda v: v is None or _is_name(v), "None or an axis name")},
}


def _check_fields(item, kind: str, info: PluginInfo, hook: str) -> None:
    for name, (test, wanted) in FIELD_SHAPES.get(kind, {}).items():
        value = getattr(item, name)
        if not test(value):
            label = getattr(item, "section", None) or getattr(item, "code", None) or getattr(item, "name", None)
            raise RegistryError(f"plugin {info}: {hook}: {kind} {label!r} has {name}={shown(value)} "
                                f"({type(value).__name__}); it must be {wanted}")


def _check_stages(layout: Layout, info: PluginInfo) -> None:
    stages = layout.stages
    if not isinstance(stages, (list, tuple)):
        raise RegistryError(f"plugin {info}: membership layout {layout.name!r} must list its stages as a tuple of Stage, "
                            f"got {type(stages).__name__}")
    if not stages:
        raise RegistryError(f"plugin {info}: membership layout {layout.name!r} must have at least one Stage")
    for number, stage in enumerate(stages, 1):
        if not isinstance(stage, Stage):
            raise RegistryError(f"plugin {info}: stage {number} of membership layout {layout.name!r} must be a Stage, "
                                f"got {type(stage).__name__}")
        _check_fields(stage, "Stage", info, "cohort_dsl_membership_layouts")
    names = [stage.name for stage in stages]
    if len(set(names)) != len(names):
        raise RegistryError(f"plugin {info}: membership layout {layout.name!r} names a stage twice: {', '.join(names)}")
    if sum(stage.other_axes for stage in stages) > 1:
        raise RegistryError(f"plugin {info}: membership layout {layout.name!r}: only one stage can read the other axes "
                            "(other_axes=True)")


def _claim(table: dict, key: str, item, what: str) -> None:
    existing = table.get(key)
    if existing is not None:
        raise RegistryError(
            f"{what} {key!r} is declared twice: by {existing.plugin} and by {item.plugin}; "
            "disable one of them (--disable-plugin NAME or COHORT_DSL_DISABLE_PLUGINS)"
        )
    table[key] = item
