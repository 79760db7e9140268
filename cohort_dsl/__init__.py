"""cohort-dsl: compile declarative cohort specs into deterministic rows and ids.

The package root stays import-light (the CLI's ``--version`` and the pre-commit
hook pay for every import); the public API is resolved lazily on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"

# name -> (module, attribute); resolved by __getattr__ so `import cohort_dsl`
# costs nothing beyond this file.
_LAZY = {
    "hookimpl": ("cohort_dsl.hookspecs", "hookimpl"),
    "hookspec": ("cohort_dsl.hookspecs", "hookspec"),
    "Diagnostic": ("cohort_dsl.diagnostics", "Diagnostic"),
    "Location": ("cohort_dsl.diagnostics", "Location"),
    "SpecError": ("cohort_dsl.diagnostics", "SpecError"),
    "RuleKind": ("cohort_dsl.registry", "RuleKind"),
    "Rule": ("cohort_dsl.registry", "Rule"),
    "Reference": ("cohort_dsl.registry", "Reference"),
    "LintRule": ("cohort_dsl.registry", "LintRule"),
    "ReportFormat": ("cohort_dsl.registry", "ReportFormat"),
    "CatalogSource": ("cohort_dsl.catalogs", "CatalogSource"),
    "Catalog": ("cohort_dsl.catalogs", "Catalog"),
    "Layout": ("cohort_dsl.registry", "Layout"),
    "Stage": ("cohort_dsl.registry", "Stage"),
    "load_bundle": ("cohort_dsl.bundle", "load_bundle"),
    "load_mapping": ("cohort_dsl.bundle", "load_mapping"),
    "compile_bundle": ("cohort_dsl.compiler", "compile_bundle"),
    "CompiledDesign": ("cohort_dsl.compiler", "CompiledDesign"),
    "get_plugin_manager": ("cohort_dsl.pluginmanager", "get_plugin_manager"),
    "Project": ("cohort_dsl.project", "Project"),
    "DataRoot": ("cohort_dsl.dataroot", "DataRoot"),
    "Settings": ("cohort_dsl.settings", "Settings"),
    "load_settings": ("cohort_dsl.settings", "load_settings"),
    "Policy": ("cohort_dsl.policy", "Policy"),
    "Report": ("cohort_dsl.report", "Report"),
    "UsageError": ("cohort_dsl.diagnostics", "UsageError"),
    # what plugin authors need (docs/plugins.md uses only these names)
    "error": ("cohort_dsl.diagnostics", "error"),
    "did_you_mean": ("cohort_dsl.diagnostics", "did_you_mean"),
    "ERROR": ("cohort_dsl.diagnostics", "ERROR"),
    "WARNING": ("cohort_dsl.diagnostics", "WARNING"),
    "as_level": ("cohort_dsl.levels", "as_level"),
    "written_number": ("cohort_dsl.levels", "written_number"),
    "PluginInfo": ("cohort_dsl.registry", "PluginInfo"),
    "Section": ("cohort_dsl.spec", "Section"),
    "Entry": ("cohort_dsl.spec", "Entry"),
    "Design": ("cohort_dsl.design", "Design"),
    "Factor": ("cohort_dsl.design", "Factor"),
    "LintContext": ("cohort_dsl.lint", "LintContext"),
    "Record": ("cohort_dsl.membership", "Record"),
    "gen_id": ("cohort_dsl.membership", "gen_id"),
    "load_fragment": ("cohort_dsl.schema", "load_fragment"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'cohort_dsl' has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(module_name), attribute)
    globals()[name] = value
    return value
