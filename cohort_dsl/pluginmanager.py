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
from types import FunctionType, MethodType, ModuleType
from typing import Iterable

import pluggy

from cohort_dsl import __version__
from cohort_dsl.hookspecs import PROJECT
from cohort_dsl.registry import PluginInfo, Registry

ENTRY_POINT_GROUP = PROJECT

# The built-ins the engine cannot run without (like pytest's
# essential_plugins): the codes the core stages emit, the core rule kinds and
# the text report format every command prints errors with. They cannot be
# disabled.
ESSENTIAL_PLUGINS = (
    "cohort_dsl.builtin.core",
    "cohort_dsl.builtin.subsets",
    "cohort_dsl.builtin.ties",
    "cohort_dsl.builtin.pairs",
    "cohort_dsl.builtin.tuples",
    "cohort_dsl.builtin.reporters",
)
# Every built-in, in registration order (they declare first).
DEFAULT_PLUGINS = ESSENTIAL_PLUGINS + (
    "cohort_dsl.builtin.ci_reporters",
    "cohort_dsl.builtin.html_report",
    "cohort_dsl.builtin.checks",
    "cohort_dsl.builtin.two_phase",
    "cohort_dsl.builtin.single_stage",
    "cohort_dsl.builtin.catalog_sources",
)
BUILTIN_DIST = "cohort-dsl"

DISABLE_ENV = "COHORT_DSL_DISABLE_PLUGINS"
NO_AUTOLOAD_ENV = "COHORT_DSL_DISABLE_PLUGIN_AUTOLOAD"


class PluginError(Exception):
    """A plugin could not be loaded or contradicts another: exit code 2."""


class _PluginManager(pluggy.PluginManager):
    """pluggy's manager, finding a module's hooks in its namespace.

    pluggy inspects every name of a plugin (``inspect.getattr_static``,
    ~10 µs each, ~400 names in the built-ins): for a module, a name is a
    hook exactly when its value is a function carrying the marker, which
    one dictionary lookup tells. Anything else goes to pluggy's lookup.
    """

    def parse_hookimpl_opts(self, plugin, name: str):
        if isinstance(plugin, ModuleType):
            value = plugin.__dict__.get(name)
            if isinstance(value, FunctionType):
                opts = getattr(value, f"{PROJECT}_impl", None)
                return opts if isinstance(opts, dict) else None
            if not isinstance(value, (staticmethod, classmethod, MethodType)):
                return None
        return super().parse_hookimpl_opts(plugin, name)


class Engine:
    """A plugin manager and the registry collected from it."""

    def __init__(self, pm, registry: Registry):
        self.pm = pm
        self.registry = registry

    def add_options(self, parser, command: str) -> None:
        """Call every plugin's ``cohort_dsl_add_options`` for one subcommand
        parser; one that raises (a clashing option, a bug) stops start-up
        naming the plugin."""
        try:
            self.pm.hook.cohort_dsl_add_options(parser=parser, command=command)
        except Exception as exc:
            raise PluginError(f"plugin {self._raiser(exc, 'cohort_dsl_add_options')}: cohort_dsl_add_options for "
                              f"{command} raised {type(exc).__name__}: {exc}") from None

    def _raiser(self, exc: Exception, hook_name: str):
        """The plugin whose implementation of ``hook_name`` is on the
        traceback of ``exc`` (pluggy's combined call does not say)."""
        codes = {impl.function.__code__: impl.plugin_name for impl in getattr(self.pm.hook, hook_name).get_hookimpls()
                 if hasattr(impl.function, "__code__")}
        tb, name = exc.__traceback__, None
        while tb is not None:
            name = codes.get(tb.tb_frame.f_code, name)
            tb = tb.tb_next
        infos = {info.name: info for info in self.registry.plugins}
        return infos.get(name, name or "(unknown)")


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
    from cohort_dsl import hookspecs
    from cohort_dsl.registry import RegistryError

    disabled = set(disable) | _env_list(DISABLE_ENV)
    _check_disabled(disabled)
    if entry_points is None:
        entry_points = not os.environ.get(NO_AUTOLOAD_ENV)
    pm = _PluginManager(PROJECT)
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
    installed = None
    for obj in plugins:
        if isinstance(obj, str):
            obj = importlib.import_module(obj)
        name = getattr(obj, "__name__", None) or type(obj).__name__
        if installed is None and isinstance(obj, ModuleType):
            installed = {ep.value.strip(): info for ep, info in _entry_points() if ":" not in ep.value}
        # a module an installed distribution names as its entry point keeps that
        # name (its settings table, --disable-plugin) and its distribution
        register(obj, (installed or {}).get(name) or PluginInfo(name, "in-process", ""))

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
    _check_plugin_schemas(registry)
    return Engine(pm, registry)


def _check_disabled(disabled: set[str]) -> None:
    """Disabling is by name, and only what can go: naming the built-ins'
    distribution (which would disable all of them) or an essential plugin
    is a usage error that says why."""
    if BUILTIN_DIST in disabled:
        optional = [m for m in DEFAULT_PLUGINS if m not in ESSENTIAL_PLUGINS]
        raise PluginError(f"--disable-plugin {BUILTIN_DIST} would disable every built-in plugin; name the ones to "
                          f"disable by module: {', '.join(optional)}")
    essential = sorted(disabled & set(ESSENTIAL_PLUGINS))
    if essential:
        raise PluginError(f"{essential[0]} is essential and cannot be disabled: the engine cannot run without "
                          "the codes the core stages report, the core rule kinds and the text report format")


def _check_plugin_schemas(registry) -> None:
    """A third-party schema fragment must be valid JSON Schema and compose
    with the others; built-in fragments are guarded by tests, so a run
    without third-party fragments never imports jsonschema for this."""
    from cohort_dsl.schema import SchemaFragmentError, check_fragments, metaschema_problem, third_party_fragments

    for name, schema in registry.plugin_settings.items():
        name = next((str(info) for info in registry.plugins if info.name == name), name)
        problem = metaschema_problem(schema)
        if problem is not None:
            raise PluginError(f"plugin {name}: the schema of its settings (cohort_dsl_plugin_settings) is invalid "
                              f"at {problem}")
        _check_refs(schema, schema, f"plugin {name}: the schema of its settings")
    fragments = third_party_fragments(registry)
    if not fragments:
        return
    try:
        check_fragments(registry, fragments)
        composed = registry.schema  # composition: clashing $defs are reported here
    except SchemaFragmentError as exc:
        raise PluginError(str(exc)) from None
    for what, plugin, fragment in fragments:
        _check_refs(fragment, composed, f"plugin {plugin}: the schema fragment of {what}",
                    "refer to the base definitions (#/$defs/level, #/$defs/levels, ...) or define it under the "
                    "fragment's own $defs; `cohort-dsl schema` prints the composed schema")


def _check_refs(fragment, root: dict, owner: str, hint: str = "") -> None:
    """Every ``$ref`` of ``fragment`` resolves inside ``root``, or start-up
    stops: a dangling one would fail every later validation instead."""
    for ref in _refs(fragment):
        if not _resolves(ref, root):
            raise PluginError(f"{owner} has \"$ref\": {ref!r}, which points at nothing in the schema it is part of"
                              + (f"\n  hint: {hint}" if hint else ""))


def _refs(node):
    """Every ``$ref`` string inside a schema fragment."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolves(ref: str, schema: dict) -> bool:
    """A local JSON pointer (``#/$defs/level``) that names a node of the
    composed schema; remote references are never fetched, so never valid."""
    if not ref.startswith("#"):
        return False
    node = schema
    for part in filter(None, ref[1:].split("/")):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def _entry_points():
    """``(entry point, PluginInfo)`` for the group ``cohort_dsl``.

    The ``entry_points.txt`` of each installed distribution is read
    directly: importing ``importlib.metadata`` costs ~40 ms, a third of a
    pre-commit run's budget. Where a sys.path entry is not a plain folder
    (a zip or egg), ``importlib.metadata`` does the work instead.
    """
    import sys

    if any(entry and not os.path.isdir(entry) and os.path.exists(entry) for entry in sys.path):
        yield from _entry_points_from_metadata()
        return
    seen: set[str] = set()
    for entry in sys.path:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            folder = os.path.join(entry or ".", name)
            try:
                with open(os.path.join(folder, "entry_points.txt"), encoding="utf-8") as handle:
                    text = handle.read()
            except OSError:
                continue
            if f"[{ENTRY_POINT_GROUP}]" not in text:
                continue
            dist, version = _dist_name_version(name, folder)
            if dist.lower().replace("-", "_") in seen:  # shadowed by an earlier sys.path entry
                continue
            seen.add(dist.lower().replace("-", "_"))
            for ep_name, value in _section(text, ENTRY_POINT_GROUP):
                yield _EntryPoint(ep_name, value), PluginInfo(ep_name, dist, version)


class _EntryPoint:
    """The part of ``importlib.metadata.EntryPoint`` used here."""

    def __init__(self, name: str, value: str):
        self.name, self.value = name, value

    def load(self):
        module_name, _, attribute = self.value.partition(":")
        obj = importlib.import_module(module_name.strip())
        for part in filter(None, attribute.strip().split(".")):
            obj = getattr(obj, part)
        return obj


def _section(text: str, group: str):
    inside = False
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            inside = line == f"[{group}]"
        elif inside and "=" in line and not line.startswith(("#", ";")):
            name, _, value = line.partition("=")
            yield name.strip(), value.strip()


def _dist_name_version(folder_name: str, folder: str) -> tuple[str, str]:
    stem = folder_name.rsplit(".", 1)[0]
    name, _, version = stem.partition("-")
    for meta in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(folder, meta), encoding="utf-8") as handle:
                for line in handle:
                    if line.startswith("Name:"):
                        name = line[5:].strip()
                    elif line.startswith("Version:"):
                        version = line[8:].strip()
                    elif not line.strip():
                        break
            break
        except OSError:
            continue
    return name, version.split("-")[0] if version else ""


def _entry_points_from_metadata():
    from importlib.metadata import entry_points

    seen = set()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        if (ep.name, ep.value) in seen:
            continue
        seen.add((ep.name, ep.value))
        yield ep, PluginInfo(ep.name, dist.name if dist else "?", dist.version if dist else "")


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
