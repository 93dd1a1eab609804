"""Entry point of `minidocker`: global options, the command table, and error reporting.

`--help` imports no command module; each command's module is imported only when it runs,
so heavy imports (HTTP for pull, tarfile for save) never slow `minidocker run`.
Each command module provides `SPEC` (its usage, flags and arguments: cli/flags.py) and
`run(args) -> int`, or a SPEC with sub-commands, each with its handler.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from minidocker.cli.flags import Spec

# name -> (module under minidocker.cli.commands, one-line summary: Docker's where Docker
# has the command)
COMMANDS: dict[str, tuple[str, str]] = {
    "attach": ("attach", "Attach local standard input, output, and error streams to a "
               "running container"),
    "build": ("build", "Build an image from a Dockerfile"),
    "builder": ("builder", "Manage builds"),
    "commit": ("commit", "Create a new image from a container's changes"),
    "completion": ("completion", "Generate the autocompletion script for the specified "
                   "shell"),
    "container": ("container", "Manage containers"),
    "cp": ("cp", "Copy files/folders between a container and the local filesystem"),
    "create": ("create", "Create a new container"),
    "diff": ("diff", "Inspect changes to files or directories on a container's "
             "filesystem"),
    "events": ("events", "Get real time events from the server"),
    "exec": ("exec", "Run a command in a running container"),
    "explain": ("explain", "Show what isolates a running container, read from the kernel"),
    "export": ("export", "Export a container's filesystem as a tar archive"),
    "history": ("history", "Show the history of an image"),
    "image": ("image", "Manage images"),
    "images": ("images", "List images"),
    "import": ("import_image", "Import the contents from a tarball to create a filesystem "
               "image"),
    "info": ("info", "Display system-wide information"),
    "inspect": ("inspect", "Return low-level information on minidocker objects"),
    "kill": ("kill", "Kill one or more running containers"),
    "load": ("load", "Load an image from a tar archive or STDIN"),
    "login": ("login", "Log in to a Docker registry"),
    "logout": ("logout", "Log out from a Docker registry"),
    "logs": ("logs", "Fetch the logs of a container"),
    "network": ("network", "Manage networks"),
    "pause": ("pause", "Pause all processes within one or more containers"),
    "port": ("port", "List port mappings or a specific mapping for the container"),
    "ps": ("ps", "List containers"),
    "pull": ("pull", "Pull an image or a repository from a registry"),
    "push": ("push", "Push an image or a repository to a registry"),
    "rename": ("rename", "Rename a container"),
    "restart": ("restart", "Restart one or more containers"),
    "rm": ("rm", "Remove one or more containers"),
    "rmi": ("rmi", "Remove one or more images"),
    "run": ("run", "Run a command in a new container"),
    "save": ("save", "Save one or more images to a tar archive (streamed to STDOUT by "
             "default)"),
    "start": ("start", "Start one or more stopped containers"),
    "stats": ("stats", "Display a live stream of container(s) resource usage statistics"),
    "stop": ("stop", "Stop one or more running containers"),
    "system": ("system", "Manage minidocker"),
    "tag": ("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"),
    "top": ("top", "Display the running processes of a container"),
    "trace": ("trace", "Show a trace of the steps a container start took (--trace FILE)"),
    "unpause": ("unpause", "Unpause all processes within one or more containers"),
    "unshare": ("unshare", "Run a command in the rootless session's user namespace"),
    "update": ("update", "Update configuration of one or more containers"),
    "version": ("version", "Show the minidocker version information"),
    "volume": ("volume", "Manage volumes"),
    "wait": ("wait", "Block until one or more containers stop, then print their exit "
             "codes"),
}
# other names of a command (the seed's `remove`), not listed in --help
ALIASES: dict[str, str] = {"remove": "rm"}
# commands that touch no state: they never enter the rootless session
OUTSIDE_SESSION = frozenset({"version", "trace"})
# the commands with sub-commands ("Management Commands" in --help)
MANAGEMENT = frozenset({"builder", "completion", "container", "image", "network", "system",
                        "trace", "volume"})
# commands that hold temporary state (ingest dirs, partial files, half-written archives):
# SIGTERM interrupts them like Ctrl-C, so that they clean up before they exit
# (`image load`, `container commit` ... count as their verb)
TERM_AS_INTERRUPT = frozenset({"pull", "push", "load", "save", "import", "commit", "export",
                               "cp", "build"})

# Docker's global options, and ours (--root); -H, --context and --tls* are not here: this
# command line talks to no daemon (the Docker client does, to `minidocker system service`)
GLOBAL_FLAGS: tuple[tuple[Any, ...], ...] = (
    ("", "config", "string", "Location of client config files (default \"~/.docker\", "
     "or $DOCKER_CONFIG)", {"complete": "directory"}),
    ("D", "debug", "bool", "Enable debug mode (tracebacks)"),
    ("l", "log-level", "string", "Set the logging level (\"debug\"|\"info\"|\"warn\"|"
     "\"error\"|\"fatal\")", {"default": "info",
                                 "complete": ("debug", "info", "warn", "error", "fatal")}),
    ("", "root", "string", "State directory (default \"/var/lib/minidocker\", or "
     "$MINIDOCKER_ROOT; other users: $XDG_DATA_HOME/minidocker, docs/rootless.md)",
     {"complete": "directory"}),
    ("v", "version", "bool", "Print version information and quit"),
)


def root_spec() -> Spec:
    from minidocker.cli.flags import Spec
    return Spec("[OPTIONS] COMMAND", GLOBAL_FLAGS, (("command", "..."),),
                interspersed=False)


def usage() -> str:
    """`minidocker --help`: Docker's layout; no command module is imported."""
    from minidocker.cli.flags import flag_lines
    out = ["", "Usage:  minidocker [OPTIONS] COMMAND", "",
           "A daemonless, Docker-like container engine", "", "Options:"]
    out += flag_lines(list(GLOBAL_FLAGS))
    for title, names in (("Management Commands", sorted(MANAGEMENT)),
                         ("Commands", sorted(set(COMMANDS) - MANAGEMENT))):
        out += ["", f"{title}:"]
        out += [f"  {name:<12}{COMMANDS[name][1]}" for name in names]
    out += ["", "Run 'minidocker COMMAND --help' for more information on a command."]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    from minidocker.cli.flags import FlagError, HelpRequested, parse
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        options = parse(root_spec(), argv)
    except HelpRequested:
        sys.stdout.write(usage())
        return 0
    except FlagError as e:
        return _flag_error("minidocker", e)
    if options.version:
        from minidocker import __version__
        print(f"minidocker version {__version__}")
        return 0
    debug = options.debug or options.log_level == "debug"
    root = options.root or os.environ.get("MINIDOCKER_ROOT") or ""
    if not root:
        if _as_host_root():
            root = "/var/lib/minidocker"
        else:
            from minidocker.engine.rootless import default_root
            root = default_root()
    if options.config:
        os.environ["DOCKER_CONFIG"] = options.config  # read by the credential store
    argv = options.command
    if not argv:
        sys.stdout.write(usage())
        return 0
    name = ALIASES.get(argv[0], argv[0])
    if name == "help":
        return _help(argv[1:])
    if name not in COMMANDS:
        sys.stderr.write(f"minidocker: '{name}' is not a minidocker command.\n"
                         "See 'minidocker --help'\n")
        return 1
    return run_command(name, argv[1:], debug, os.path.abspath(root))


def _help(topic: list[str]) -> int:
    """`minidocker help [COMMAND [SUB-COMMAND]]`: that command's --help."""
    if not topic:
        sys.stdout.write(usage())
        return 0
    if topic[0] not in COMMANDS:
        sys.stderr.write(f"unknown help topic: {' '.join(topic)}\n")
        return 1
    return run_command(topic[0], [*topic[1:], "--help"], False, "/nonexistent")


def resolve(name: str, argv: list[str], prog: str | None = None
            ) -> tuple[Spec, str, str, list[str], Any, tuple[str, ...]]:
    """The Spec that `minidocker NAME ARGV...` runs, after its sub-commands: (spec, prog,
    summary, the rest of argv, handler, aliases shown). A sub-command that is a
    top-level command resolves to that command (container ls = ps)."""
    import importlib
    module_name, summary = COMMANDS[name]
    module = importlib.import_module(f"minidocker.cli.commands.{module_name}")
    spec: Spec = module.SPEC
    prog = prog or f"minidocker {name}"
    handler = getattr(module, "run", None)
    aliases: tuple[str, ...] = ()
    while spec.subcommands is not None and argv and not argv[0].startswith("-"):
        sub = spec.subcommands.get(argv[0])
        if sub is None:
            break
        prog = f"{prog} {argv[0]}"
        argv = argv[1:]
        if sub.delegate is not None:
            target, _, summary_, rest, handler, _ = resolve(sub.delegate, argv, prog)
            return target, prog, sub.summary or summary_, rest, handler, sub.aliases
        spec, summary, handler, aliases = sub, sub.summary, sub.handler, sub.aliases
    return spec, prog, summary, argv, handler, aliases


def run_command(name: str, argv: list[str], debug: bool, root: str,
                prog: str | None = None) -> int:
    """Run command `name` with `argv`: parse it by the command's Spec, then its handler
    with `args.root` and `args.debug` (the global options: the engine's root is explicit
    from here on, nothing reads the environment for it)."""
    from minidocker.cli.flags import FlagError, HelpRequested, help_text, parse
    from minidocker.errors import MinidockerError, NotModified, describe

    spec, prog, summary, argv, handler, aliases = resolve(name, argv, prog)
    try:
        if spec.subcommands is not None:  # a management command with no sub-command
            if argv and argv[0] not in ("--help", "-h"):
                if argv[0].startswith("-"):
                    raise FlagError(f"unknown flag: {argv[0]}")
                sys.stderr.write(f"minidocker: '{prog.removeprefix('minidocker ')} "
                                 f"{argv[0]}' is not a minidocker command.\n"
                                 f"See '{prog} --help'\n")
                return 1
            raise HelpRequested
        if spec.raw:
            import types
            args = types.SimpleNamespace(argv=argv)
        else:
            args = parse(spec, argv)
    except HelpRequested:
        sys.stdout.write(help_text(prog, spec, summary, _width(),
                                   _summaries(spec), aliases))
        return 0
    except FlagError as e:
        return _flag_error(prog, e, spec, summary)
    verb = prog.split()[-1]
    terminated = _terminate_as_interrupt() if verb in TERM_AS_INTERRUPT else [False]
    try:
        args.debug = debug
        args.root = root
        args.prog = prog
        if name not in OUTSIDE_SESSION and prog != "minidocker system migrate":
            enter_session()
        if getattr(args, "trace", None):  # run, create, start, exec --trace FILE
            return _traced(handler, args, prog, argv)
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        return 143 if terminated[0] else 130
    except NotModified:
        return 0  # already as asked (start of a running container, ...)
    except FlagError as e:  # a value the command checks itself
        return _flag_error(prog, e, spec, summary)
    except MinidockerError as e:
        if debug:
            raise
        return _error(e.message, _exit_code(prog, e.exit_code), e.hint)
    except OSError as e:
        if debug:
            raise
        return _error(describe(e), _exit_code(prog, 125))


# Docker's client exits 125 when run or create fails (with 126 and 127 for a command
# that cannot be invoked or found), and 1 for any other command's error; a flag error
# is 125 everywhere.
ENGINE_ERROR_125 = frozenset(("minidocker run", "minidocker create", "minidocker container run",
                              "minidocker container create"))


def _exit_code(prog: str, code: int) -> int:
    return 1 if code == 125 and prog not in ENGINE_ERROR_125 else code


def _as_host_root() -> bool:
    """Root of the host (not only of a user namespace): linux.userns.rootless() without
    its import, on every command's path."""
    if os.geteuid() != 0:
        return False
    try:
        with open("/proc/self/uid_map", "rb") as f:
            return f.read().split() == [b"0", b"0", b"4294967295"]
    except OSError:
        return True


def enter_session() -> None:
    """An unprivileged user's commands run in the user's rootless session (a user
    namespace where the user is root: engine/session.py), entered here, once, while the
    process has one thread. Root's commands run as they are."""
    if _as_host_root():
        return
    from minidocker.engine import rootless, session
    for warning in session.enter(rootless.run_dir()):
        sys.stderr.write(f"minidocker: warning: {warning}\n")


def _summaries(spec: Spec) -> Any:
    def summary(name: str) -> str:
        sub = (spec.subcommands or {}).get(name)
        if sub is None:
            return ""
        return sub.summary or (COMMANDS[sub.delegate][1] if sub.delegate else "")
    return summary


def _width() -> int:
    try:
        return max(os.get_terminal_size(1).columns, 60) if os.isatty(1) else 80
    except OSError:
        return 80


def _flag_error(prog: str, e: Any, spec: Spec | None = None, summary: str = "") -> int:
    """Docker's two lines for a usage error (three more, the usage, for a wrong number of
    arguments)."""
    from minidocker.cli.flags import usage_line
    message = f'"{prog}" {e.message}' if e.usage else e.message
    text = f"minidocker: error: {message}\nSee '{prog} --help'.\n"
    if e.usage and spec is not None:
        text += f"\n{usage_line(prog, spec)}\n\n{summary}\n"
    sys.stderr.write(text)
    return int(e.exit_code)


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


def _traced(handler: Any, args: Any, prog: str, argv: list[str]) -> int:
    """Run the command with minidocker.TRACE recording its steps into args.trace."""
    import minidocker
    from minidocker.errors import MinidockerError
    from minidocker.trace import Tracer
    try:
        tracer = Tracer(args.trace, prog, command=[*prog.split(), *argv])
    except OSError as e:
        raise MinidockerError(f"--trace {args.trace}: {e.strerror}")
    minidocker.TRACE = tracer
    code = 125
    try:
        code = int(handler(args) or 0)
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
