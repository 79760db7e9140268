"""The spec: a bundle validated against the schema and parsed into axes and
rules (load → **validate → parse** → expand → check → emit).

Rule kinds parse their own sections (see :class:`Section`); the core checks
what no single rule can: duplicate names, unknown names and references to
rules that come later.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from operator import lt

from cohort_dsl import guard
from cohort_dsl.bundle import Bundle
from cohort_dsl.diagnostics import ERROR, WARNING, Diagnostic, Location, SpecError, did_you_mean, error
from cohort_dsl.includes import Include, is_include
from cohort_dsl.levels import Origins, as_level, number_problems
from cohort_dsl.records import Record
from cohort_dsl.registry import LintRule, Rule

UNKNOWN_NAME = LintRule("R001", "unknown-name", "A rule names an axis or rule that does not exist.",
                        "Rules refer to axes (declared, or introduced by tuples) and to earlier ties, pairs and tuples by "
                        "name. A close match is suggested.")
FORWARD_REFERENCE = LintRule("R002", "forward-reference", "A rule refers to a rule that comes later.",
                             "Rules run in document order, so a rule may only use names defined above it. Move it below the rule "
                             "it uses.")
DUPLICATE_LEVEL = LintRule("R008", "duplicate-value", "A level or entry is listed twice; the repeat is ignored.",
                           "Duplicate levels of an axis, duplicate `allowed` entries and duplicate tuple items are dropped, "
                           "first occurrence kept.", WARNING)
EMPTY_AXIS = LintRule("R009", "empty-axis", "An axis has no levels.",
                      "An axis declared `null` must be filled by a tuples rule; a spec needs at least one axis.")
DUPLICATE_NAME = LintRule("R011", "duplicate-name", "A rule name is used twice, or is also an axis name.",
                          "Names of ties, pairs and tuples share one namespace with the axes; each must mean one thing.")
UNKNOWN_FIELD = LintRule("R013", "unknown-field", "output.field_order names a field that is not an axis.",
                         "field_order may only list axes (rule names never appear in rows).")
SPEC_LIMIT = LintRule("R015", "spec-limit", "Too many rules or levels.",
                      "The number of rules and the levels of one axis are bounded (limits.max-rules, limits.max-levels).")


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class Entry(Record):
    """One ``name: value`` entry of a rules section."""

    section: "Section"
    name: str
    value: object

    def __init__(self, section: "Section", name: str, value: object):
        self.section, self.name, self.value = section, name, value

    @property
    def path(self) -> tuple:
        """The entry's key path in config.yaml: ``("rules", section, name)``."""
        return self.section.path + (self.name,)

    @property
    def location(self) -> Location:
        """Where the entry's name was written."""
        return self.section.bundle.document.key_loc(self.path)

    def loc(self, *sub) -> Location:
        """Where the value at ``sub`` (keys/indices below the entry) was written."""
        return self.section.bundle.document.loc(self.path + sub)

    def raw(self, *sub) -> str | None:
        """The source text of the scalar at ``sub`` (None when not recorded)."""
        return self.section.bundle.document.raw(self.path + sub)

    def include(self, *sub) -> Include:
        """The file an ``@file:`` value at ``sub`` names."""
        value = self.get(*sub)
        return self.section.bundle.include(value, self.loc(*sub))

    def get(self, *sub):
        """The value at ``sub`` (keys/indices below the entry)."""
        value = self.value
        for key in sub:
            value = value[key]
        return value

    def levels(self, *sub, axis: str | None = None) -> list[tuple[str, Location]]:
        """An inline list of levels or an ``@file:`` include, as located levels."""
        return read_levels(self.section.bundle, self.path + sub, axis)


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class Section(Record):
    """A ``rules:`` section as its rule kind's ``parse`` sees it: already
    valid against the kind's schema fragment."""

    name: str
    value: dict
    bundle: Bundle
    diagnostics: list = field(default_factory=list)

    def __init__(self, name: str, value: dict, bundle: Bundle, diagnostics: list | None = None):
        self.name, self.value, self.bundle = name, value, bundle
        self.diagnostics = [] if diagnostics is None else diagnostics

    @property
    def path(self) -> tuple:
        """The section's key path in config.yaml: ``("rules", name)``."""
        return ("rules", self.name)

    def report(self, diagnostic: Diagnostic) -> None:
        """Record a non-fatal finding made while parsing (a warning)."""
        self.diagnostics.append(diagnostic)

    @property
    def location(self) -> Location:
        """Where the section's key was written."""
        return self.bundle.document.key_loc(self.path)

    def settings_for(self, plugin: str) -> dict:
        """The settings table of the plugin registered as ``plugin``
        (``[tool.cohort-dsl.plugins.NAME]``, validated; {} when none): a
        rule kind reads its settings here and binds them into its rules."""
        return self.bundle.plugin_settings.get(plugin, {})

    def entries(self):
        """The section's ``name: value`` entries as :class:`Entry` objects, in document order."""
        for name, value in self.value.items():
            yield Entry(self, name, value)


class AxisDecl:
    """A declared axis: its levels (None when a rule supplies them), where
    it was declared, and where each level was written."""

    __slots__ = ("name", "levels", "location", "origins")

    def __init__(self, name: str, levels: list[str] | None, location: Location,
                 origins: dict[str, Location] | None = None):
        self.name, self.levels, self.location = name, levels, location
        self.origins: dict[str, Location] = origins if origins is not None else {}


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class Spec(Record):
    """A parsed spec: the axes and rules in document order, the output options and what parsing found."""

    bundle: Bundle
    axes: list[AxisDecl]
    rules: list[Rule]
    field_order: list[tuple[str, Location]]
    seed: int | None
    layout: str | None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __init__(self, bundle: Bundle, axes: list[AxisDecl], rules: list[Rule], field_order: list[tuple[str, Location]],
                 seed: int | None, layout: str | None, diagnostics: list[Diagnostic] | None = None):
        self.bundle, self.axes, self.rules, self.field_order = bundle, axes, rules, field_order
        self.seed, self.layout, self.diagnostics = seed, layout, [] if diagnostics is None else diagnostics

    def axis(self, name: str) -> AxisDecl | None:
        for decl in self.axes:
            if decl.name == name:
                return decl
        return None


def read_levels(bundle: Bundle, path: tuple, axis: str | None) -> list[tuple[str, Location]]:
    return list(zip(*read_column(bundle, path, axis)))


def read_column(bundle: Bundle, path: tuple, axis: str | None) -> tuple[list[str], Sequence[Location]]:
    """An inline list of levels or an ``@file:`` include: the levels, and
    where each was written (aligned with them)."""
    document = bundle.document
    value = document.data
    for key in path:
        value = value[key]
    if is_include(value):
        return bundle.include(value, document.loc(path)).column(axis)
    locations = [document.loc(path + (i,)) for i in range(len(value))]
    return [as_level(v, loc, document.raw(path + (i,))) for i, (v, loc) in enumerate(zip(value, locations))], locations


def dedupe(located: list[tuple[object, Location]], what: str, report) -> tuple[list, dict]:
    """Drop repeated values (first occurrence kept), reporting each repeat.
    Returns the values in order and where each was first written."""
    origins: dict = {}
    hints: dict = {}  # value -> the hint of its repeats (a location's text costs a relpath)
    for value, loc in located:
        if value in origins:
            hint = hints.get(value)
            if hint is None:
                first = origins[value]
                hint = hints[value] = f"first listed at {first}" if first.line else ""
            shown = list(value) if isinstance(value, tuple) else value
            report(Diagnostic(DUPLICATE_LEVEL.code, f"{shown!r} is listed twice in {what}; the repeat is ignored", loc, WARNING,
                              hint or None))
            continue
        origins[value] = loc
    return list(origins), origins


def distinct(values: list, locations: Sequence[Location], what: str, report) -> tuple[list, Mapping]:
    """:func:`dedupe` for values (levels, or rows of a relation) aligned
    with their ``locations``. Values without repeats, the usual case, are
    kept as they are (an include's own list) with lazy
    :class:`~cohort_dsl.levels.Origins`: no pair, dict or Location per value.
    Values in strictly increasing order (generated ids often are) have no
    repeats: one pass of comparisons, not a set of a million values."""
    if all(map(lt, values, islice(values, 1, None))) or len(set(values)) == len(values):
        return values, Origins(values, locations)
    return dedupe(zip(values, locations), what, report)


def parse_spec(bundle: Bundle, registry) -> Spec:
    """Validate and parse; raise :class:`SpecError` with every error found."""
    from cohort_dsl.schema import validate

    document = bundle.document
    # Numbers not written in canonical decimal (`010`, `1:30`, `+5`, `1e3`)
    # are refused wherever they are written, never rewritten; the schema's
    # complaint about the same value (a name must be text, …) is dropped.
    numbers = number_problems(document, _what_is)
    flagged = {d.location for d in numbers}
    problems = list(document.diagnostics) + numbers + [d for d in validate(document, registry) if d.location not in flagged]
    if problems:
        raise SpecError(problems)
    data = document.data
    warnings: list[Diagnostic] = []
    errors: list[Diagnostic] = []

    axes: list[AxisDecl] = []
    for name, value in data["axes"].items():
        location = document.key_loc(("axes", name))
        if value is None:
            axes.append(AxisDecl(name, None, location))
            continue
        try:
            values, locations = read_column(bundle, ("axes", name), name)
        except SpecError as exc:
            errors.extend(exc.diagnostics)
            continue
        _check_count(len(values), bundle.limits.max_levels, f"axis {name!r}", location)
        levels, origins = distinct(values, locations, f"axis {name!r}", warnings.append)
        axes.append(AxisDecl(name, levels, location, origins))

    rules: list[Rule] = []
    for section_name, section_value in (data.get("rules") or {}).items():
        kind = registry.rule_kinds[section_name]
        section = Section(section_name, section_value, bundle)
        try:
            for rule in guard.results(kind.plugin, f"parse() of rule kind {section_name!r}", kind.parse, section,
                                      expected=Rule, location=section.location):
                rule.plugin = rule.plugin or kind.plugin
                rules.append(rule)
        except SpecError as exc:
            errors.extend(exc.diagnostics)
        warnings.extend(section.diagnostics)
    _check_count(len(rules), bundle.limits.max_rules, "the spec's rules", document.key_loc(("rules",)))

    if not errors:
        errors.extend(_check_names(axes, rules))
    output = data.get("output") or {}
    field_order = [(name, document.loc(("output", "field_order", i))) for i, name in enumerate(output.get("field_order", []))]
    if errors:
        raise SpecError(warnings + errors)
    return Spec(bundle, axes, rules, field_order, output.get("seed"), output.get("layout"), warnings)


def _what_is(path: tuple) -> tuple[str, bool]:
    """How the value at ``path`` of config.yaml is named in a Y003 message,
    and whether it is an integer (the base schema's only one is
    ``output.seed``)."""
    if tuple(path) == ("output", "seed"):
        return "output.seed", True
    if path and path[0] in ("axes", "rules"):
        return "level", False
    return "value", False


def _check_count(count: int, limit: int, what: str, location: Location) -> None:
    if count > limit:
        name = "max-rules" if "rules" in what else "max-levels"
        raise error(SPEC_LIMIT.code, f"{what} has {count:,} entries, above the limit of {limit:,}", location,
                    f"raise limits.{name} in the config if this is intended")


def axis_names(axes: list[AxisDecl], rules: list[Rule]) -> list[str]:
    """Declared axes in order, then axes that only rules introduce, in
    first-seen order."""
    names = [a.name for a in axes]
    for rule in rules:
        for axis in rule.introduces:
            if axis not in names:
                names.append(axis)
    return names


def _check_names(axes: list[AxisDecl], rules: list[Rule]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    known_axes = set(axis_names(axes, rules))
    named: dict[str, tuple[int, Rule]] = {}
    for index, rule in enumerate(rules):
        if not rule.named:
            continue
        if rule.name in named:
            first = named[rule.name][1]
            out.append(Diagnostic(DUPLICATE_NAME.code, f"rule name {rule.name!r} is already used by {first.label}{_at_line(first.location)}",
                                  rule.location, ERROR, "rule names must be unique across sections"))
        elif rule.name in known_axes:
            out.append(Diagnostic(DUPLICATE_NAME.code, f"{rule.label}: {rule.name!r} is also an axis name", rule.location, ERROR,
                                  "rename the rule: a name used in rules must mean one thing"))
        else:
            named[rule.name] = (index, rule)
    for index, rule in enumerate(rules):
        for ref in rule.references:
            if ref.name in known_axes:
                continue
            if ref.name in named:
                where, other = named[ref.name]
                if ref.expects == "axis":
                    out.append(Diagnostic(UNKNOWN_NAME.code, f"{rule.label}: {ref.name!r} is {other.label}, but an axis is expected here",
                                          ref.location, ERROR))
                elif where == index:
                    out.append(Diagnostic(FORWARD_REFERENCE.code, f"{rule.label} refers to itself", ref.location, ERROR))
                elif where > index:
                    out.append(Diagnostic(
                        FORWARD_REFERENCE.code,
                        f"{rule.label} uses {other.label}, which is defined later{_at_line(other.location)}",
                        ref.location, ERROR,
                        f"rules run in document order: move {rule.label} below {other.label}",
                    ))
                continue
            candidates = sorted(known_axes) + ([] if ref.expects == "axis" else list(named))
            what = "axis" if ref.expects == "axis" else "axis or rule"
            out.append(Diagnostic(UNKNOWN_NAME.code, f"{rule.label}: unknown {what} {ref.name!r}", ref.location, ERROR,
                                  did_you_mean(ref.name, candidates) or _list_hint(candidates)))
    return out


def _at_line(location: Location) -> str:
    return f" (line {location.line})" if location.line else ""


def _list_hint(candidates: list[str]) -> str | None:
    if not candidates:
        return None
    shown = ", ".join(candidates[:8]) + (", …" if len(candidates) > 8 else "")
    return f"known names: {shown}"


def check_field_order(spec: Spec, columns: list[str]) -> list[str]:
    """Columns: ``output.field_order`` first, then the other axes in order."""
    known = set(columns)
    first = []
    for name, loc in spec.field_order:
        if name not in known:
            raise error(UNKNOWN_FIELD.code, f"output.field_order names {name!r}, which is not an axis", loc,
                        did_you_mean(name, columns) or _list_hint(columns))
        first.append(name)
    return first + [c for c in columns if c not in set(first)]
