"""The guard around every plugin callable a run calls (``parse``, ``apply``,
``check``, ``load``): an exception or an answer of the wrong type becomes a
diagnostic naming the plugin (its distribution and version) and the
callable, never an "internal error" of the core. A located
:class:`~cohort_dsl.diagnostics.SpecError` raised by the callable is its
ordinary way of reporting bad input and passes through unchanged.

Start-up problems (a declaration of the wrong type, a schema fragment that
does not compile, a report format's ``render`` that fails) are not
diagnostics: they stop the run with exit code 2 (see
:mod:`cohort_dsl.registry` and :mod:`cohort_dsl.pluginmanager`).
"""

from __future__ import annotations

from cohort_dsl.diagnostics import ERROR, Diagnostic, Location, SpecError
from cohort_dsl.registry import LintRule, shown

PLUGIN_CRASH = LintRule("P001", "plugin-error", "A plugin raised an exception.",
                        "A plugin callable (a rule kind's parse or apply, a lint check, a catalog source's load) "
                        "raised. The exception is reported as a diagnostic naming the plugin's distribution, version "
                        "and callable instead of crashing the run; the other checks and bundles still run. Report it "
                        "to the plugin's authors.")
WRONG_RESULT = LintRule("P002", "plugin-result", "A plugin callable answered with the wrong type.",
                        "A rule kind's parse must return (or yield) Rule objects, a lint check Diagnostic objects (or "
                        "None), a catalog source's load a mapping {axis or None: Catalog}. The diagnostic names the "
                        "plugin, the callable, the expected and the received type; the other checks and bundles still "
                        "run.")

_HINT = "this is a bug in the plugin; report it to its authors"


def plugin_crash(plugin, doing: str, exc: Exception, location: Location | None) -> Diagnostic:
    """A plugin's exception, turned into a diagnostic that names it."""
    return Diagnostic(PLUGIN_CRASH.code, f"plugin {plugin}: {doing} raised {type(exc).__name__}: {exc}",
                      location or Location(), ERROR, _HINT, plugin=getattr(plugin, "name", None))


def wrong_result(plugin, doing: str, expected: str, got, location: Location | None) -> Diagnostic:
    """A plugin's answer of the wrong type, as a diagnostic that names it."""
    return Diagnostic(WRONG_RESULT.code, f"plugin {plugin}: {doing} must give {expected}, got {type(got).__name__} "
                      f"{shown(got)}", location or Location(), ERROR, _HINT, plugin=getattr(plugin, "name", None))


def call(plugin, doing: str, function, *args, location: Location | None = None):
    """``function(*args)``; any exception but a SpecError becomes P001."""
    try:
        return function(*args)
    except SpecError:
        raise
    except Exception as exc:  # a plugin bug must not crash the run
        raise SpecError(plugin_crash(plugin, doing, exc, location)) from None


def results(plugin, doing: str, function, *args, expected: type, location: Location | None = None) -> list:
    """The items ``function(*args)`` returns or yields (None is no item),
    each checked to be an ``expected``: a wrong one is P002, an exception
    while calling or iterating P001."""
    answer = call(plugin, doing, function, *args, location=location)
    if answer is None:
        return []
    if isinstance(answer, (str, bytes, expected)) or not hasattr(answer, "__iter__"):
        raise SpecError(wrong_result(plugin, doing, f"an iterable of {expected.__name__}", answer, location))
    items = call(plugin, doing, list, answer, location=location)
    for item in items:
        if not isinstance(item, expected):
            raise SpecError(wrong_result(plugin, doing, f"{expected.__name__} objects", item, location))
    return items
