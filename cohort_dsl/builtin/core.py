"""The codes the core stages emit (loading, schema, includes, rules).

They are declared like any plugin's lint rules so that every code is
documented (docs/rules.md is generated from the registry), selectable and
ignorable. None of them has a ``check``: the stage that finds the problem
reports it.
"""

from __future__ import annotations

from cohort_dsl.diagnostics import WARNING
from cohort_dsl.hookspecs import hookimpl
from cohort_dsl.registry import LintRule

CORE_CODES = (
    LintRule("Y001", "yaml-syntax", "The file is not valid YAML (or not UTF-8).",
             "The spec (or a YAML/JSON include) could not be parsed: a syntax error, a tab used for indentation, "
             "several documents in one file, or bytes that are not UTF-8. The diagnostic points at the first "
             "offending character; nothing after it is checked."),
    LintRule("Y002", "duplicate-key", "A mapping key is written twice.",
             "PyYAML silently keeps the last of two equal keys, so one of the entries would vanish. Keys are "
             "compared as written, so `1` and `\"1\"` are the same key. The first entry is kept and the repeat "
             "reported at its own line."),
    LintRule("Y003", "non-string-value", "A level (or name) was read by YAML as a boolean, null, number or list.",
             "Levels are text. YAML 1.1 reads `yes`, `no`, `on`, `off`, `true`, `false` as booleans, `~` and "
             "`null` as null and `1.5` as a number, so `[yes, no]` is not two levels named yes and no. Quote the "
             "value to keep the text. YAML integers are accepted and become text (`1` -> `\"1\"`)."),
    LintRule("Y004", "resource-limit", "The document is too large, too deep, or expands too far through aliases.",
             "Every input is bounded: the size of config.yaml, its nesting depth and the number of nodes after "
             "expanding anchors and aliases (which stops alias bombs before they expand). The limits are "
             "configurable under [tool.cohort-dsl.limits]."),
    LintRule("Y005", "unsupported-yaml", "A YAML feature the DSL does not accept (tags, merge keys, complex keys).",
             "Custom tags, `<<` merge keys, recursive aliases and mappings used as keys are refused: a spec is "
             "plain data. Write the entries out."),
    LintRule("S001", "schema-violation", "The spec does not match the schema.",
             "The spec's structure is checked against the composed JSON Schema (the base schema plus every "
             "rule kind's fragment; `cohort-dsl schema` prints it). The diagnostic is placed on the offending "
             "node; for alternatives (a list or an include) the best-matching explanation is shown."),
    LintRule("S002", "unknown-key", "A key the schema does not know.",
             "Only `axes`, `rules`, `output` (and keys that installed plugins declare) may appear at the top "
             "level; only installed rule kinds may appear under `rules:`. A close match is suggested."),
    LintRule("S003", "not-a-mapping", "The spec is empty or not a mapping.",
             "config.yaml must be a mapping with at least `axes:`."),
    LintRule("I001", "include-missing", "An @file: include does not exist (or is a folder).",
             "Includes are resolved relative to the spec folder. The diagnostic suggests a close file name."),
    LintRule("I002", "include-escape", "An @file: include leaves the spec folder.",
             "A bundle must be self-contained so that it can be reviewed and reproduced: `..`, absolute paths and "
             "symlinks that resolve outside the bundle are refused."),
    LintRule("I003", "include-format", "An include cannot be read: bad extension, encoding, JSON/YAML or CSV shape.",
             "Includes are .csv (UTF-8, header row), .txt (one value per line), or .yaml/.yml/.json (a list). "
             "Rows with too few or too many fields, duplicate header names, a missing header and invalid JSON are "
             "reported at their row."),
    LintRule("I004", "include-empty-cell", "A CSV include has an empty cell.",
             "Every cell of a CSV include must hold a value; the diagnostic gives the file and row."),
    LintRule("I005", "include-too-large", "An include is above the size or row limit.",
             "Includes are bounded (limits.max-include-bytes, limits.max-levels) so that a wrong file cannot "
             "exhaust memory."),
    LintRule("I006", "include-columns", "A CSV include's header does not match what the rule expects.",
             "Columns of CSV includes are matched by header name, never by position: a tuple's CSV must name its "
             "axes, a pair's CSV its sides (a tuple side by its axes). Missing and unexpected columns are "
             "reported at the header."),
    LintRule("R001", "unknown-name", "A rule names an axis or rule that does not exist.",
             "Rules refer to axes (declared, or introduced by tuples) and to earlier ties, pairs and tuples by "
             "name. A close match is suggested."),
    LintRule("R002", "forward-reference", "A rule refers to a rule that comes later.",
             "Rules run in document order, so a rule may only use names defined above it. Move it below the rule "
             "it uses."),
    LintRule("R003", "subset-unknown-level", "A subsets value is not a level of the axis.",
             "The value keeps nothing: it is misspelt, or an earlier rule already removed it.", WARNING),
    LintRule("R005", "empty-result", "A rule leaves no rows.",
             "A subset that keeps nothing, a tie whose axes share no level, or a pair/tuple whose combinations "
             "match nothing left by earlier rules."),
    LintRule("R006", "out-of-domain", "A pair or tuple value is not a level of its axis.",
             "Every value of a pair must be in its side's current domain; tuple item values must be levels of "
             "declared axes. The entry is located in config.yaml or in the included CSV."),
    LintRule("R007", "pair-imbalance", "A balanced pair is not balanced.",
             "With `balance: left` (`right`, `both`) every left (right) value must occur equally often in "
             "`allowed`; the counts are listed."),
    LintRule("R008", "duplicate-value", "A level or entry is listed twice; the repeat is ignored.",
             "Duplicate levels of an axis, duplicate `allowed` entries and duplicate tuple items are dropped, "
             "first occurrence kept.", WARNING),
    LintRule("R009", "empty-axis", "An axis has no levels.",
             "An axis declared `null` must be filled by a tuples rule; a spec needs at least one axis."),
    LintRule("R010", "arity-mismatch", "A tuple item or pair value has the wrong number of values.",
             "A tuple item lists one value per axis; a pair entry is `[left, right]`, where a side naming a tuple "
             "or pair takes a list."),
    LintRule("R011", "duplicate-name", "A rule name is used twice, or is also an axis name.",
             "Names of ties, pairs and tuples share one namespace with the axes; each must mean one thing."),
    LintRule("R012", "pair-self", "A pair's two sides are the same or overlap.",
             "`left` and `right` must name different axes or rules that share no axis."),
    LintRule("R013", "unknown-field", "output.field_order names a field that is not an axis.",
             "field_order may only list axes (rule names never appear in rows)."),
    LintRule("R014", "row-limit", "The spec expands to more rows than allowed.",
             "The row count is computed before any row exists. Above max-rows (default 1,000,000) the spec is "
             "refused; raise the limit with --max-rows or max-rows in [tool.cohort-dsl] if it is intended."),
    LintRule("R015", "spec-limit", "Too many rules or levels.",
             "The number of rules and the levels of one axis are bounded (limits.max-rules, limits.max-levels)."),
    LintRule("L001", "unused-suppression", "A `# noqa` comment suppresses nothing.",
             "Suppressions that no longer match a diagnostic hide nothing but mislead readers (like ruff's RUF100). "
             "Remove the comment, or the codes it lists that no longer occur on its line.", WARNING),
    LintRule("P001", "plugin-error", "A plugin raised an exception.",
             "The exception is reported as a diagnostic naming the plugin instead of crashing the run; the "
             "other checks still run. Report it to the plugin's authors."),
)


@hookimpl
def cohort_dsl_lint_rules():
    return list(CORE_CODES)
