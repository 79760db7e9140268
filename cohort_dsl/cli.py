"""The ``cohort-dsl`` command line: the boundary no exception crosses.

Exit codes: 0 success (warnings allowed), 1 errors in the input, 2 usage,
configuration, plugin or internal errors. Imports are lazy: ``--version``
and the pre-commit hook pay only for what they use.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager, nullcontext

from cohort_dsl import __version__

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


def main(argv: list[str] | None = None, engine=None) -> int:
    """Run the CLI; ``engine`` (from :func:`cohort_dsl.pluginmanager.build_engine`)
    replaces the default plugin set, e.g. in tests."""
    whole_process = argv is None  # the console script, not a caller inside a longer-lived process
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv in (["--version"], ["-V"]):
        try:
            sys.stdout.write(f"cohort-dsl {__version__}\n")
            sys.stdout.flush()
        except (AttributeError, OSError, ValueError):  # stdout closed or gone: nothing to tell
            return EXIT_USAGE
        return EXIT_OK
    previous = _on_sigterm(_terminate)
    try:
        return _run(argv, engine, whole_process)
    except SystemExit as exc:  # argparse: --help (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("cohort-dsl: interrupted\n")
        return 130
    except Terminated:
        sys.stderr.write("cohort-dsl: terminated\n")
        return 143
    except BrokenPipeError:
        # The reader went away (`| head`): not an error of ours. Point
        # stdout at /dev/null so the interpreter's final flush is quiet.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_OK
    finally:
        _on_sigterm(previous)


class Terminated(BaseException):
    """SIGTERM, raised where the program is, so every ``finally`` (the
    removal of temporary files) runs before it exits — the default action
    would end the process on the spot."""


def _terminate(signum, frame):
    raise Terminated()


def _on_sigterm(handler):
    """Install ``handler`` for SIGTERM; the handler it replaces (None when
    it cannot be set: not the main thread, or no SIGTERM here)."""
    if handler is None:
        return None
    try:  # the C module behind `signal`, whose enums cost ~1 ms to build; same calls, plain ints
        import _signal as signal
    except ImportError:  # pragma: no cover - another Python implementation
        import signal
    try:
        return signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError, AttributeError):
        return None


def _run(argv: list[str], engine=None, whole_process: bool = False) -> int:
    from cohort_dsl.diagnostics import DEBUG_ENV, SpecError, UsageError, debugging

    try:
        from cohort_dsl.pluginmanager import PluginError

        with _start_up() if whole_process else nullcontext():
            engine = engine or _engine(argv)
            parser = build_parser(engine, only=_command_of(argv))
            args = parser.parse_args(argv)
        args.engine = engine
        return args.run(args)
    except SpecError as exc:
        _report_to_stderr(exc.diagnostics, engine)
        return EXIT_ERRORS
    except (UsageError, PluginError) as exc:
        sys.stderr.write(f"cohort-dsl: error: {exc}\n")
        return EXIT_USAGE
    except BrokenPipeError:
        raise  # handled in main(): the reader went away
    except OSError as exc:  # the environment: an unwritable --out, a full disk
        where = f"{exc.filename}: " if exc.filename else ""
        sys.stderr.write(f"cohort-dsl: error: {where}{exc.strerror or exc}\n")
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if debugging():
            raise
        from cohort_dsl.schema import SchemaFragmentError

        if isinstance(exc, SchemaFragmentError):
            sys.stderr.write(f"cohort-dsl: error: {exc}\n")
            return EXIT_USAGE
        sys.stderr.write(
            f"cohort-dsl: internal error: {type(exc).__name__}: {exc}\n"
            f"  hint: this is a bug; rerun with {DEBUG_ENV}=1 for the traceback and report it\n"
        )
        return EXIT_USAGE


#: the cycle collector's thresholds for a command's work (the console script
#: only): a young collection every 200,000 container allocations, not 700
COMMAND_GC_THRESHOLDS = (200_000, 30, 30)


@contextmanager
def _start_up():
    """No cycle collection while modules and plugins load: start-up makes
    ~100k objects and frees next to none, so the collector's passes over
    them (~3 % of a pre-commit run) find nothing. What is loaded by then
    is frozen out of later collections. The command's work then collects
    cycles less often: its big structures (a 100k-entry include's rows, a
    membership's records) live to the end, and the default thresholds walk
    them again and again (5-10 % of such a run) to free nothing; cycles
    still die within 200,000 allocations, so memory stays flat (as mypy
    does). Only for a whole process (the console script): a caller's own
    objects and settings are not ours to change."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.set_threshold(*COMMAND_GC_THRESHOLDS)
        if enabled:
            gc.enable()


def _engine(argv: list[str]):
    """Plugins must be known before the full parser exists (they add
    options), so the plugin flags are read first (by a parser of their own,
    when an argument may be one of them)."""
    import argparse

    from cohort_dsl.pluginmanager import build_engine, get_engine

    if not any(_may_be_plugin_flag(arg) for arg in argv):
        return get_engine()
    pre = argparse.ArgumentParser(add_help=False, formatter_class=_sized(argparse.HelpFormatter))
    _plugin_flags(pre)
    known, _ = pre.parse_known_args(argv)
    if not known.disable_plugin and not known.require_plugins:
        return get_engine()
    require = [name for value in known.require_plugins for name in value.split(",") if name]
    return build_engine(disable=known.disable_plugin, require=require)


PLUGIN_FLAGS = ("--disable-plugin", "--require-plugins")


def _may_be_plugin_flag(arg: str) -> bool:
    """``arg`` is a plugin flag, an abbreviation argparse would take for one,
    or its ``=value`` form."""
    name = arg.partition("=")[0]
    return len(name) > 2 and any(flag.startswith(name) for flag in PLUGIN_FLAGS)


def _plugin_flags(parser) -> None:
    group = parser.add_argument_group("plugins")
    group.add_argument("--disable-plugin", action="append", default=[], metavar="NAME",
                       help="do not load this plugin (entry point, distribution or module name); repeatable")
    group.add_argument("--require-plugins", action="append", default=[], metavar="NAMES",
                       help="fail unless these plugins (comma-separated) are installed")


def _command_of(argv: list[str]) -> str | None:
    """The subcommand when it is the first plain argument (then only its
    parser is built: eleven parsers cost a pre-commit hook ~15 ms)."""
    from cohort_dsl.commands import COMMANDS

    for arg in argv:
        if arg in ("-h", "--help"):
            return None
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def build_parser(engine=None, only: str | None = None):
    """The parser; with ``only``, just that subcommand (help and errors
    about unknown commands use the full parser)."""
    import argparse

    from cohort_dsl import commands

    parser = argparse.ArgumentParser(
        prog="cohort-dsl",
        description="Compile declarative cohort specs into rows and generation ids; lint them against catalogs.",
        formatter_class=_sized(argparse.HelpFormatter),
    )
    parser.add_argument("-V", "--version", action="version", version=f"cohort-dsl {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for name in commands.COMMANDS if only is None else [only]:
        command = commands.COMMANDS[name]
        sp = sub.add_parser(name, help=command.HELP, description=command.__doc__,
                            formatter_class=_sized(argparse.RawDescriptionHelpFormatter))
        sp.add_argument("--config", metavar="FILE", help="the settings file (pyproject.toml or cohort-dsl.toml); "
                        "default: found by walking up from the working directory")
        _plugin_flags(sp)
        command.add_arguments(sp)
        if engine is not None:
            engine.add_options(sp, name)
        sp.set_defaults(run=command.run, command=name)
    return parser


def _sized(formatter: type) -> type:
    """``formatter`` given the width it would ask ``shutil`` for: argparse
    makes one for every option it adds, and ``shutil`` imports bz2, lzma
    and zlib (~3 ms of a pre-commit run)."""

    class Sized(formatter):
        def __init__(self, prog, indent_increment=2, max_help_position=24, width=None, **options):
            width = _terminal_columns() - 2 if width is None else width
            super().__init__(prog, indent_increment, max_help_position, width, **options)

    return Sized


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``: $COLUMNS, else the terminal's, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def _report_to_stderr(diagnostics, engine) -> None:
    """What stopped a command (severities already set by the project's
    policy), through the registered text format."""
    from cohort_dsl.project import render

    render(engine.registry, diagnostics, out=sys.stderr, summary=False)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
