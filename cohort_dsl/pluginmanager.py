"""The plugin manager: built-ins first, then entry points, then checks.

Built-in plugins are ordinary modules listed in :data:`DEFAULT_PLUGINS` (as in
pytest's ``default_plugins``); third-party plugins come from the entry point
group ``cohort_dsl``. Failures are loud: a plugin that cannot be imported,
implements an unknown hook, or contradicts another plugin stops the run with
a message naming its distribution and version.
"""

from __future__ import annotations

import importlib
import os
from typing import Iterable

from cohort_dsl import __version__
from cohort_dsl.hookspecs import PROJECT
from cohort_dsl.registry import PluginInfo, Registry

ENTRY_POINT_GROUP = PROJECT

DEFAULT_PLUGINS = (
    "cohort_dsl.builtin.core",
    "cohort_dsl.builtin.subsets",
    "cohort_dsl.builtin.ties",
    "cohort_dsl.builtin.pairs",
    "cohort_dsl.builtin.tuples",
    "cohort_dsl.builtin.reporters",
    "cohort_dsl.builtin.ci_reporters",
    "cohort_dsl.builtin.checks",
    "cohort_dsl.builtin.two_phase",
    "cohort_dsl.builtin.catalog_sources",
)

DISABLE_ENV = "COHORT_DSL_DISABLE_PLUGINS"
NO_AUTOLOAD_ENV = "COHORT_DSL_DISABLE_PLUGIN_AUTOLOAD"


class PluginError(Exception):
    """A plugin could not be loaded or contradicts another: exit code 2."""


class Engine:
    """A plugin manager and the registry collected from it."""

    def __init__(self, pm, registry: Registry):
        self.pm = pm
        self.registry = registry


def build_engine(
    plugins: Iterable = (),
    *,
    builtins: bool = True,
    entry_points: bool | None = None,
    disable: Iterable[str] = (),
    require: Iterable[str] = (),
) -> Engine:
    """Make a plugin manager with the built-ins, the installed entry points
    and ``plugins`` (modules or objects, registered last), and collect the
    registry. ``disable`` names plugins to skip (entry point name,
    distribution name or module name); ``require`` names plugins that must be
    present."""
    import pluggy

    from cohort_dsl import hookspecs
    from cohort_dsl.registry import RegistryError

    disabled = set(disable) | _env_list(DISABLE_ENV)
    if entry_points is None:
        entry_points = not os.environ.get(NO_AUTOLOAD_ENV)
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    infos: dict[str, PluginInfo] = {}

    def register(obj, info: PluginInfo) -> None:
        if {info.name, info.dist} & disabled:
            return
        try:
            pm.register(obj, name=info.name)
        except ValueError as exc:  # a second plugin under the same name
            raise PluginError(f"plugin {info}: {exc}") from None
        infos[info.name] = info

    if builtins:
        for module_name in DEFAULT_PLUGINS:
            register(importlib.import_module(module_name), PluginInfo(module_name, "cohort-dsl", __version__, True))
    if entry_points:
        for ep, info in _entry_points():
            if {info.name, info.dist} & disabled:
                continue
            try:
                obj = ep.load()
            except Exception as exc:
                raise PluginError(
                    f"plugin {info} failed to load ({ep.value}): {type(exc).__name__}: {exc}\n"
                    f"  hint: fix or uninstall {info.dist}, or disable it with --disable-plugin {info.name} "
                    f"or {DISABLE_ENV}={info.name}"
                ) from None
            register(obj, info)
    for obj in plugins:
        if isinstance(obj, str):
            obj = importlib.import_module(obj)
        name = getattr(obj, "__name__", None) or type(obj).__name__
        register(obj, PluginInfo(name, "(in-process)", ""))

    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        info = infos.get(pm.get_name(exc.plugin)) if exc.plugin is not None else None
        raise PluginError(f"plugin {info or exc.plugin}: {exc}") from None
    missing = [name for name in require if not ({name} & (set(infos) | {i.dist for i in infos.values()}))]
    if missing:
        raise PluginError(
            "required plugin" + ("s" if len(missing) > 1 else "") + " not installed: " + ", ".join(missing)
            + "\n  hint: pip install the distribution that provides it; `cohort-dsl plugins` lists what is installed"
        )
    try:
        registry = Registry.collect(pm, infos)
    except RegistryError as exc:
        raise PluginError(str(exc)) from None
    return Engine(pm, registry)


def _entry_points():
    from importlib.metadata import entry_points

    seen = set()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        info = PluginInfo(ep.name, dist.name if dist else "?", dist.version if dist else "")
        if (ep.name, ep.value) in seen:  # one distribution seen twice on sys.path
            continue
        seen.add((ep.name, ep.value))
        yield ep, info


def _env_list(name: str) -> set[str]:
    return {part.strip() for part in os.environ.get(name, "").split(",") if part.strip()}


_default: Engine | None = None


def get_engine() -> Engine:
    """The process-wide engine with the default plugin set (cached)."""
    global _default
    if _default is None:
        _default = build_engine()
    return _default


def get_plugin_manager():
    return get_engine().pm
