"""The registry: what plugins declare, collected and checked in one place.

(The declaration types are plain dataclasses, not frozen ones: a frozen
dataclass costs twice as much to define, and every pre-commit run defines
them all.)

Plugins answer ``cohort_dsl_*`` hooks with *declarative data* (the types
below). The registry gathers every answer together with the plugin that gave
it, and rejects conflicts (two plugins claiming one rule-kind section, lint
code or format name) naming both plugins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from cohort_dsl.diagnostics import ERROR, SEVERITIES, Location



@dataclass
class PluginInfo:
    """Who a contribution comes from: the plugin's registered name and the
    distribution (with version) that ships it."""

    name: str
    dist: str = "cohort-dsl"
    version: str = ""
    builtin: bool = False

    def __str__(self) -> str:
        return f"{self.name} ({self.dist} {self.version})" if self.version else f"{self.name} ({self.dist})"


@dataclass
class Reference:
    """A name a rule reads: an axis, or (``expects="any"``) an earlier rule.

    The core checks every reference before any rule runs: unknown names get
    a "did you mean", names of later rules get "move this rule below …".
    """

    name: str
    location: Location
    expects: str = "any"  # "any" | "axis"


@dataclass
class Rule:
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

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass
class RuleKind:
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


@dataclass
class LintRule:
    """A diagnostic code: its stable ``code``, readable ``name``, default
    ``severity``, a one-line ``summary`` and a paragraph of ``doc``.

    ``check(context)`` (optional) runs in the check stage on a compiled spec
    and yields :class:`~cohort_dsl.diagnostics.Diagnostic` objects. Codes
    without a check are emitted by a stage (loading, schema, rules); they are
    declared here so that every code is documented, selectable and ignorable.
    """

    code: str
    name: str
    summary: str
    doc: str = ""
    severity: str = ERROR
    check: Callable[[Any], Iterable[Any]] | None = None
    plugin: PluginInfo | None = None


@dataclass
class ReportFormat:
    """An output format for ``lint --format NAME``: ``render(report, stream)``
    writes a :class:`~cohort_dsl.report.Report` to a text stream."""

    name: str
    render: Callable[[Any, Any], None]
    summary: str = ""
    plugin: PluginInfo | None = None


@dataclass
class Stage:
    """One generation stage. Column fields list candidates: the first one
    the spec has is used."""

    name: str
    prefix: str
    template: tuple[str, ...]
    llm: tuple[str, ...] = ()
    #: False when the llm is an attribute of the record, not part of its id
    llm_in_id: bool = True
    replicate: tuple[str, ...] = ()
    #: the first stage's id starts with the combo
    combo: tuple[str, ...] = ()
    #: catalog axis whose ``generator`` column gives a record's mode
    mode_axis: str | None = None


@dataclass
class Layout:
    """A membership layout: a chain of stages; records are emitted stage by
    stage (see :mod:`cohort_dsl.membership` for the id algorithm)."""

    name: str
    stages: tuple[Stage, ...]
    summary: str = ""
    plugin: object = None


class RegistryError(Exception):
    """Plugins that contradict each other or declare invalid data."""


@dataclass
class Registry:
    plugins: list[PluginInfo] = field(default_factory=list)
    rule_kinds: dict[str, RuleKind] = field(default_factory=dict)
    lint_rules: dict[str, LintRule] = field(default_factory=dict)
    report_formats: dict[str, ReportFormat] = field(default_factory=dict)
    catalog_sources: dict[str, Any] = field(default_factory=dict)
    layouts: dict[str, Any] = field(default_factory=dict)
    spec_keys: dict[str, Mapping] = field(default_factory=dict)
    spec_key_plugins: dict[str, PluginInfo] = field(default_factory=dict)
    hooks_by_plugin: dict[str, list[str]] = field(default_factory=dict)
    _schema: dict | None = None
    _validator: Any = None
    _checker: Any = None

    @classmethod
    def collect(cls, pm, infos: Mapping[str, PluginInfo]) -> "Registry":
        """Call every declaration hook plugin by plugin, so each answer is
        attributed (pluggy's combined call would lose who said what)."""
        registry = cls(plugins=list(infos.values()))

        def answers(hook_name: str):
            hook = getattr(pm.hook, hook_name)
            # get_hookimpls() lists implementations in registration order,
            # so the built-ins are declared first.
            for impl in hook.get_hookimpls():
                info = infos.get(impl.plugin_name) or PluginInfo(impl.plugin_name)
                registry.hooks_by_plugin.setdefault(info.name, []).append(hook_name)
                try:
                    result = impl.function()
                except Exception as exc:
                    raise RegistryError(f"plugin {info} failed in {hook_name}: {type(exc).__name__}: {exc}") from exc
                for item in result or ():
                    yield info, item

        for info, kind in answers("cohort_dsl_rule_kinds"):
            _expect(kind, RuleKind, info, "cohort_dsl_rule_kinds")
            _claim(registry.rule_kinds, kind.section, _with_plugin(kind, info), "rule kind section")
        for info, rule in answers("cohort_dsl_lint_rules"):
            _expect(rule, LintRule, info, "cohort_dsl_lint_rules")
            if rule.severity not in SEVERITIES:
                raise RegistryError(f"plugin {info}: lint rule {rule.code} has severity {rule.severity!r}; use 'error' or 'warning'")
            _claim(registry.lint_rules, rule.code, _with_plugin(rule, info), "lint code")
        for info, fmt in answers("cohort_dsl_report_formats"):
            _expect(fmt, ReportFormat, info, "cohort_dsl_report_formats")
            _claim(registry.report_formats, fmt.name, _with_plugin(fmt, info), "report format")
        for info, source in answers("cohort_dsl_catalog_sources"):
            _claim(registry.catalog_sources, source.name, _with_plugin(source, info), "catalog source")
        for info, layout in answers("cohort_dsl_membership_layouts"):
            _claim(registry.layouts, layout.name, _with_plugin(layout, info), "membership layout")
        hook = pm.hook.cohort_dsl_spec_keys
        for impl in hook.get_hookimpls():
            info = infos.get(impl.plugin_name) or PluginInfo(impl.plugin_name)
            registry.hooks_by_plugin.setdefault(info.name, []).append("cohort_dsl_spec_keys")
            for key, schema in (impl.function() or {}).items():
                _claim(registry.spec_keys, key, _Keyed(schema, info), "top-level spec key")
        registry.spec_key_plugins = {k: v.plugin for k, v in registry.spec_keys.items()}
        registry.spec_keys = {k: v.value for k, v in registry.spec_keys.items()}
        return registry

    # -- the composed JSON Schema -------------------------------------------
    @property
    def schema(self) -> dict:
        if self._schema is None:
            from cohort_dsl.schema import compose

            self._schema = compose(self)
        return self._schema


@dataclass
class _Keyed:
    value: Any
    plugin: PluginInfo


def _with_plugin(item, info: PluginInfo):
    from dataclasses import replace

    return replace(item, plugin=info) if item.plugin is None else item


def _expect(item, cls, info: PluginInfo, hook: str) -> None:
    if not isinstance(item, cls):
        raise RegistryError(f"plugin {info}: {hook} must return {cls.__name__} objects, got {type(item).__name__}")


def _claim(table: dict, key: str, item, what: str) -> None:
    existing = table.get(key)
    if existing is not None:
        raise RegistryError(
            f"{what} {key!r} is declared twice: by {existing.plugin} and by {item.plugin}; "
            "disable one of them (--disable-plugin NAME or COHORT_DSL_DISABLE_PLUGINS)"
        )
    table[key] = item
