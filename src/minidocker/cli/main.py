"""Entry point of `minidocker`: global options, the command table, and error reporting.

`--help` imports no command module; each command's module is imported only when it runs,
so heavy imports (HTTP for pull, tarfile for save) never slow `minidocker run`.
Each command module provides `add_arguments(parser)` and `run(args) -> int`.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# name -> (module under minidocker.cli.commands, one-line summary)
COMMANDS: dict[str, tuple[str, str]] = {
    "build": ("build", "Build an image from a Dockerfile"),
    "builder": ("builder", "Manage the build cache"),
    "pull": ("pull", "Download an image from a registry"),
    "push": ("push", "Upload an image to a registry"),
    "images": ("images", "List images"),
    "image": ("image", "Manage images"),
    "tag": ("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"),
    "rmi": ("rmi", "Remove one or more images"),
    "load": ("load", "Load images from a Docker or OCI archive"),
    "save": ("save", "Save images to a Docker or OCI archive"),
    "import": ("import_image", "Import a rootfs tarball or directory as an image"),
    "history": ("history", "Show the history of an image"),
    "login": ("login", "Log in to a registry"),
    "logout": ("logout", "Log out from a registry"),
    "network": ("network", "Manage networks"),
    "run": ("run", "Create and run a new container from an image"),
    "create": ("create", "Create a new container"),
    "start": ("start", "Start one or more stopped containers"),
    "stop": ("stop", "Stop one or more running containers"),
    "restart": ("restart", "Restart one or more containers"),
    "kill": ("kill", "Kill one or more running containers"),
    "rm": ("rm", "Remove one or more containers"),
    "ps": ("ps", "List containers"),
    "port": ("port", "List port mappings or a specific mapping for the container"),
    "logs": ("logs", "Fetch the logs of a container"),
    "exec": ("exec", "Execute a command in a running container"),
    "inspect": ("inspect", "Return low-level information on containers or images"),
    "wait": ("wait", "Block until containers stop, then print their exit codes"),
    "pause": ("pause", "Pause all processes within one or more containers"),
    "unpause": ("unpause", "Unpause all processes within one or more containers"),
    "attach": ("attach", "Attach to a running container's input and output"),
    "top": ("top", "Display the running processes of a container"),
    "stats": ("stats", "Display a live stream of container resource usage"),
    "rename": ("rename", "Rename a container"),
    "cp": ("cp", "Copy files between a container and the local filesystem"),
    "diff": ("diff", "Inspect changes to files on a container's filesystem"),
    "export": ("export", "Export a container's filesystem as a tar archive"),
    "commit": ("commit", "Create a new image from a container's changes"),
    "container": ("container", "Manage containers"),
    "volume": ("volume", "Manage volumes"),
    "system": ("system", "Manage minidocker"),
    "events": ("events", "Get real time events from the engine"),
    "explain": ("explain", "Show what isolates a running container, read from the kernel"),
    "trace": ("trace", "Show a trace of the steps a container start took (--trace FILE)"),
    "info": ("info", "Display system-wide information"),
    "version": ("version", "Show the minidocker version information"),
}
ALIASES: dict[str, str] = {"remove": "rm"}
# commands that hold temporary state (ingest dirs, partial files, half-written archives):
# SIGTERM interrupts them like Ctrl-C, so that they clean up before they exit
# (`image load`, `container commit` ... count as their verb)
TERM_AS_INTERRUPT = frozenset({"pull", "push", "load", "save", "import", "commit", "export",
                               "cp", "build"})

USAGE = """\
Usage: minidocker [OPTIONS] COMMAND [ARG...]

A daemonless, Docker-like container engine.

Options:
  --root DIR     state directory (default /var/lib/minidocker, or $MINIDOCKER_ROOT)
  --debug        show tracebacks and debug output
  -v, --version  print the version and exit
  -h, --help     show this help

Commands:
"""


def _usage() -> str:
    width = max((len(n) for n in COMMANDS), default=8) + 2
    lines = [f"  {name:<{width}}{summary}" for name, (_, summary) in sorted(COMMANDS.items())]
    tail = "\n\nRun 'minidocker COMMAND --help' for a command's options.\n"
    return USAGE + "\n".join(lines) + tail


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = False
    root = os.environ.get("MINIDOCKER_ROOT") or "/var/lib/minidocker"
    while argv and argv[0].startswith("-"):
        opt = argv.pop(0)
        if opt in ("-h", "--help"):
            sys.stdout.write(_usage())
            return 0
        if opt in ("-v", "--version"):
            from minidocker import __version__
            print(f"minidocker version {__version__}")
            return 0
        if opt in ("-D", "--debug"):
            debug = True
        elif opt == "--root" or opt.startswith("--root="):
            value = opt.split("=", 1)[1] if "=" in opt else (argv.pop(0) if argv else "")
            if not value:
                return _error("--root needs a directory", 125)
            root = value
        else:
            return _error(f"unknown option {opt}", 125, "see 'minidocker --help'")
    if not argv:
        sys.stderr.write(_usage())
        return 125
    name = ALIASES.get(argv[0], argv[0])
    if name not in COMMANDS:
        return _error(f"unknown command {argv[0]!r}", 125, "see 'minidocker --help'")
    return run_command(name, argv[1:], debug, os.path.abspath(root))


def run_command(name: str, argv: list[str], debug: bool, root: str) -> int:
    """Run command `name`: its module parses `argv`; `args.root` and `args.debug` are
    the global options (the engine's root is explicit from here on: nothing reads the
    environment for it)."""
    import importlib

    from minidocker.errors import MinidockerError, NotModified, describe

    module_name, summary = COMMANDS[name]
    module = importlib.import_module(f"minidocker.cli.commands.{module_name}")
    # a command may parse the plain cases itself (argparse costs ~5 ms of import and
    # set-up); None leaves it to argparse, which also words every usage error
    parse_fast = getattr(module, "parse_fast", None)
    args = parse_fast(argv) if parse_fast is not None else None
    if args is None:
        import argparse
        parser = argparse.ArgumentParser(prog=f"minidocker {name}", description=summary)
        module.add_arguments(parser)
    verb = argv[0] if name in ("image", "container") and argv else name
    terminated = _terminate_as_interrupt() if verb in TERM_AS_INTERRUPT else [False]
    try:
        if args is None:
            args = parser.parse_args(argv)
        args.debug = debug
        args.root = root
        if getattr(args, "trace", None):  # run, create, start, exec --trace FILE
            return _traced(module, args, name, argv)
        return int(module.run(args) or 0)
    except SystemExit as e:  # argparse: usage errors exit 2; Docker uses 125
        code = e.code if isinstance(e.code, int) else 1
        return 125 if code == 2 else code
    except KeyboardInterrupt:
        return 143 if terminated[0] else 130
    except NotModified:
        return 0  # already as asked (start of a running container, ...)
    except MinidockerError as e:
        if debug:
            raise
        return _error(e.message, e.exit_code, e.hint)
    except OSError as e:
        if debug:
            raise
        return _error(describe(e), 125)


def _terminate_as_interrupt() -> list[bool]:
    """Make SIGTERM raise KeyboardInterrupt (unless the caller ignores it); the list
    returned holds True once SIGTERM came, for the exit code (143, as a shell shows it)."""
    import _signal  # not signal: its enums cost milliseconds

    seen = [False]
    if _signal.getsignal(_signal.SIGTERM) != _signal.SIG_DFL:
        return seen

    def interrupt(signum: int, frame: object) -> None:
        seen[0] = True
        raise KeyboardInterrupt

    _signal.signal(_signal.SIGTERM, interrupt)
    return seen


def _traced(module: Any, args: Any, name: str, argv: list[str]) -> int:
    """Run the command with minidocker.TRACE recording its steps into args.trace."""
    import minidocker
    from minidocker.errors import MinidockerError
    from minidocker.trace import Tracer
    try:
        tracer = Tracer(args.trace, f"minidocker {name}", command=["minidocker", name, *argv])
    except OSError as e:
        raise MinidockerError(f"--trace {args.trace}: {e.strerror}")
    minidocker.TRACE = tracer
    code = 125
    try:
        code = int(module.run(args) or 0)
        return code
    finally:
        tracer.finish(exit_code=code)


def _error(message: str, code: int, hint: str | None = None) -> int:
    sys.stderr.write(f"minidocker: error: {message}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
    return code


def entry() -> None:
    """The `minidocker` program: main(), then exit without the interpreter's teardown.

    Tearing down the modules writes to nearly every object, and after `run` forked the
    monitor each of those pages is copy-on-write: ~5 ms of page faults for nothing. So
    when nothing is left to run at exit (no atexit callbacks, no threads) and the output
    is flushed, we leave at once; otherwise the usual exit, with the same code."""
    code = main()
    if "threading" not in sys.modules and _atexit_callbacks() == 0:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001 - the usual exit reports it as Python does
            sys.exit(code)
        os._exit(code & 0xFF)
    sys.exit(code)


def _atexit_callbacks() -> int:
    import atexit
    count = getattr(atexit, "_ncallbacks", None)
    return int(count()) if count is not None else 1


if __name__ == "__main__":
    entry()
