"""List the installed plugins: distribution, version, every hook each
implements (cohort_dsl_add_options included), what it contributes (rule
kinds, lint codes, report formats, catalog sources, membership layouts,
spec keys) and the schema of its settings table."""

from __future__ import annotations

import sys

HELP = "list installed plugins and what they contribute"


def add_arguments(parser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")


def describe(engine) -> list[dict]:
    registry, pm = engine.registry, engine.pm
    out = []
    for info in registry.plugins:
        def mine(table):
            return sorted(key for key, item in table.items() if item.plugin is not None and item.plugin.name == info.name)

        out.append({
            "name": info.name,
            "distribution": info.dist,
            "version": info.version,
            "builtin": info.builtin,
            "hooks": sorted(caller.name for caller in (pm.get_hookcallers(pm.get_plugin(info.name)) or ())),
            "rule_kinds": mine(registry.rule_kinds),
            "lint_codes": mine(registry.lint_rules),
            "report_formats": mine(registry.report_formats),
            "catalog_sources": mine(registry.catalog_sources),
            "layouts": mine(registry.layouts),
            "spec_keys": sorted(k for k, p in registry.spec_key_plugins.items() if p is not None and p.name == info.name),
            "settings": registry.plugin_settings.get(info.name),
        })
    return out


def run(args) -> int:
    plugins = describe(args.engine)
    if args.format == "json":
        import json

        json.dump(plugins, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for plugin in plugins:
        origin = "built-in" if plugin["builtin"] else f"{plugin['distribution']} {plugin['version']}".strip()
        sys.stdout.write(f"{plugin['name']}  ({origin})\n")
        for key, label in (("rule_kinds", "rule kinds"), ("lint_codes", "lint codes"), ("report_formats", "formats"),
                           ("catalog_sources", "catalog sources"), ("layouts", "layouts"), ("spec_keys", "spec keys"),
                           ("hooks", "hooks")):
            if plugin[key]:
                sys.stdout.write(f"    {label}: {', '.join(plugin[key])}\n")
        if plugin["settings"] is not None:
            keys = ", ".join(plugin["settings"].get("properties", {})) or "(see its schema)"
            sys.stdout.write(f"    settings [tool.cohort-dsl.plugins.{plugin['name']}]: {keys}\n")
    return 0
