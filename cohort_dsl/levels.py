"""Levels: the values an axis takes. Always strings.

YAML integers become strings (``1`` -> ``"1"``); anything else that YAML typed
(booleans, nulls, floats) or nested lists/mappings are errors, with a hint to
quote the value as written (YAML 1.1 reads ``no``, ``on``, ``off``, ``yes`` as
booleans: the classic trap).
"""

from __future__ import annotations

from cohort_dsl.diagnostics import Location, SpecError, error
from cohort_dsl.registry import LintRule

NON_STRING_LEVEL = LintRule("Y003", "non-string-value", "A level (or name) was read by YAML as a boolean, null, number or list.",
                            "Levels are text. YAML 1.1 reads `yes`, `no`, `on`, `off`, `true`, `false` as booleans, `~` and "
                            "`null` as null and `1.5` as a number, so `[yes, no]` is not two levels named yes and no. Quote the "
                            "value to keep the text. YAML integers are accepted and become text (`1` -> `\"1\"`).")

_YAML_TYPE_NAMES = {bool: "a boolean", type(None): "null", float: "a number", list: "a list", dict: "a mapping"}


def as_level(value, location: Location, raw: str | None = None, what: str = "level") -> str:
    """Return ``value`` as a level string, or raise a located Y003 error."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise SpecError(non_string_level(value, location, raw, what))


def non_string_level(value, location: Location, raw: str | None = None, what: str = "level"):
    """The Y003 diagnostic for a value that is not a string (shared by the
    schema check, which sees the same mistake first for inline levels)."""
    kind = _YAML_TYPE_NAMES.get(type(value), type(value).__name__)
    if isinstance(value, (list, dict)):
        return error(
            NON_STRING_LEVEL.code,
            f"a {what} must be a single value, not {kind}",
            location,
            hint="write each level as a plain string",
        ).diagnostics[0]
    shown = raw if raw is not None else ("null" if value is None else str(value).lower())
    return error(
        NON_STRING_LEVEL.code,
        f"{what} {shown} was read as {kind}, not as text",
        location,
        hint=f'quote it to keep the text: "{shown}" (YAML reads yes/no/on/off/true/false/null/~ and numbers with a point as non-text)',
    ).diagnostics[0]
