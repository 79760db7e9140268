"""List the installed plugins: distribution, version, hooks, and what each
contributes (rule kinds, lint codes, report formats, catalog sources,
membership layouts)."""

from __future__ import annotations

import sys

HELP = "list installed plugins and what they contribute"


def add_arguments(parser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")


def describe(registry) -> list[dict]:
    out = []
    for info in registry.plugins:
        def mine(table):
            return sorted(key for key, item in table.items() if item.plugin is not None and item.plugin.name == info.name)

        out.append({
            "name": info.name,
            "distribution": info.dist,
            "version": info.version,
            "builtin": info.builtin,
            "hooks": sorted(set(registry.hooks_by_plugin.get(info.name, []))),
            "rule_kinds": mine(registry.rule_kinds),
            "lint_codes": mine(registry.lint_rules),
            "report_formats": mine(registry.report_formats),
            "catalog_sources": mine(registry.catalog_sources),
            "layouts": mine(registry.layouts),
        })
    return out


def run(args) -> int:
    plugins = describe(args.engine.registry)
    if args.format == "json":
        import json

        json.dump(plugins, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for plugin in plugins:
        origin = "built-in" if plugin["builtin"] else f"{plugin['distribution']} {plugin['version']}".strip()
        sys.stdout.write(f"{plugin['name']}  ({origin})\n")
        for key, label in (("rule_kinds", "rule kinds"), ("lint_codes", "lint codes"), ("report_formats", "formats"),
                           ("catalog_sources", "catalog sources"), ("layouts", "layouts"), ("hooks", "hooks")):
            if plugin[key]:
                sys.stdout.write(f"    {label}: {', '.join(plugin[key])}\n")
    return 0
