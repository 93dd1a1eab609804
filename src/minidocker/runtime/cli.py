"""`minidocker-runtime`: an OCI runtime with runc's command line.

A small flag parser of our own (argparse costs 5 ms per start, and runc's flags come in
Go's forms: `--flag value`, `--flag=value`, `-flag value`). Flags of a command stop at its
first positional argument, as with runc. Errors go to stderr and, with --log, to the log
file as a JSON line that containerd shows to its users.
"""

from __future__ import annotations

import os
import sys
import time

from minidocker.errors import MinidockerError, UsageError, describe
from minidocker.runtime.flags import int_flag, last, parse_flags

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

USAGE = """\
usage: minidocker-runtime [global options] COMMAND [options] [ARGS]

An OCI runtime with runc's command-line contract.

Commands:
  create    create a container from a bundle (runs up to the exec fifo)
  start     start the user process of a created container
  run       create and start a container (foreground unless -d)
  state     print the state of a container as JSON
  kill      send a signal to the container's init (or --all processes)
  delete    delete a container (--force kills it first)
  exec      run a new process in a running container
  ps        list the processes of a container
  list      list containers
  pause     freeze every process of a container
  resume    thaw a paused container
  update    change the resources of a running container
  events    show container events and statistics
  spec      write a default config.json into a bundle
  features  print the features document of this runtime

Global options:
  --root DIR            state directory (default /run/minidocker-runtime)
  --log FILE            also write errors to FILE
  --log-format FORMAT   text or json
  --debug               log debug messages, show tracebacks
  --systemd-cgroup      use systemd cgroup paths (fails: no systemd driver here)
  --trace FILE          append each step (namespaces, cgroups, mounts, privileges, exec)
                        to FILE as trace-event JSON (`minidocker trace show FILE`)
  -v, --version         print the version
"""

# global flags: name -> takes a value
GLOBAL_FLAGS = {"root": True, "log": True, "log-format": True, "debug": False,
                "systemd-cgroup": False, "rootless": True, "criu": True, "help": False,
                "version": False, "trace": True}
GLOBAL_ALIASES = {"h": "help", "v": "version"}


class Options:
    def __init__(self) -> None:
        self.root = ""
        self.log = ""
        self.log_format = "text"
        self.debug = False
        self.systemd_cgroup = False


def _one_id(rest: list[str], command: str) -> str:
    if len(rest) != 1:
        raise UsageError(f"{command} needs exactly one container id (got {len(rest)} "
                         "arguments)")
    return rest[0]


# ---- commands ---------------------------------------------------------------------------


def cmd_create(opts: Options, argv: list[str]) -> int:
    from minidocker.runtime.create import CreateOptions, create
    flags, rest = parse_flags(argv, {"bundle": True, "pid-file": True,
                                     "console-socket": True, "no-pivot": False,
                                     "no-new-keyring": False, "preserve-fds": True,
                                     "help": False}, {"b": "bundle", "h": "help"})
    if flags.get("help"):
        return _help("create [--bundle DIR] [--pid-file F] [--console-socket S] "
                     "[--no-pivot] [--no-new-keyring] [--preserve-fds N] ID")
    cid = _one_id(rest, "create")
    create(opts.root, cid, CreateOptions(
        bundle=last(flags, "bundle", "."), pid_file=last(flags, "pid-file"),
        console_socket=last(flags, "console-socket"),
        no_pivot=bool(flags.get("no-pivot")),
        preserve_fds=int_flag(flags, "preserve-fds"),
        systemd_cgroup=opts.systemd_cgroup,
        no_new_keyring=bool(flags.get("no-new-keyring"))))
    return 0


def cmd_start(opts: Options, argv: list[str]) -> int:
    from minidocker.runtime import operations
    _, rest = parse_flags(argv, {})
    operations.start(operations.load(opts.root, _one_id(rest, "start")))
    return 0


def cmd_state(opts: Options, argv: list[str]) -> int:
    from minidocker import jsonfast
    from minidocker.runtime import operations
    _, rest = parse_flags(argv, {})
    container = operations.load(opts.root, _one_id(rest, "state"))
    doc = container.oci_state()
    if doc["status"] == "creating":  # no pid or bundle to tell yet: an error, as runc's
        raise MinidockerError(f"container {container.id} is still being created",
                              hint="its state is there once create has returned")
    print(jsonfast.dumps_indented(doc))
    return 0


def cmd_kill(opts: Options, argv: list[str]) -> int:
    from minidocker.runtime import operations
    flags, rest = parse_flags(argv, {"all": False}, {"a": "all"})
    if not 1 <= len(rest) <= 2:
        raise UsageError("usage: kill [--all] ID [SIGNAL]")
    sig = operations.parse_signal(rest[1] if len(rest) == 2 else "SIGTERM")
    operations.kill(operations.load(opts.root, rest[0]), sig, bool(flags.get("all")))
    return 0


def cmd_delete(opts: Options, argv: list[str]) -> int:
    from minidocker.errors import NotFound
    from minidocker.runtime import operations
    flags, rest = parse_flags(argv, {"force": False}, {"f": "force"})
    if not rest:
        raise UsageError("usage: delete [--force] ID...")
    force = bool(flags.get("force"))
    failed = 0
    for cid in rest:
        try:
            operations.delete(operations.load(opts.root, cid), force)
        except NotFound:
            from minidocker.runtime.state import sweep_dead_creates
            sweep_dead_creates(opts.root)  # a create of `cid` killed before it showed
            if not force:
                raise
        except MinidockerError as e:
            if len(rest) == 1:
                raise
            _report(opts, e)
            failed += 1
    return 1 if failed else 0


def cmd_list(opts: Options, argv: list[str]) -> int:
    from minidocker.runtime.state import list_containers
    flags, rest = parse_flags(argv, {"quiet": False, "format": True}, {"q": "quiet",
                                                                        "f": "format"})
    fmt = last(flags, "format", "table")
    if fmt not in ("table", "json"):
        raise UsageError(f"invalid --format {fmt!r}: use table or json")
    rows = []
    for c in list_containers(opts.root):
        doc = c.oci_state()
        try:
            st = c.state
            created, owner = st.created, st.owner
        except MinidockerError:
            created, owner = "", ""
        rows.append({**doc, "rootfs": getattr(c._state, "rootfs", ""), "created": created,
                     "owner": _owner_name(owner)})
    if flags.get("quiet"):
        for r in rows:
            print(r["id"])
    elif fmt == "json":  # compact, as runc's
        from minidocker import jsonfast
        print(jsonfast.dumps(rows))
    else:
        table = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
        table += [(r["id"], str(r["pid"]), r["status"], r["bundle"], r["created"],
                   r["owner"]) for r in rows]
        widths = [max(len(row[i]) for row in table) for i in range(6)]
        for row in table:
            print("   ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _owner_name(uid: str) -> str:
    if not uid.isdigit():
        return uid
    try:
        import pwd
        return pwd.getpwuid(int(uid)).pw_name
    except (KeyError, ImportError):
        return f"#{uid}"


def cmd_ps(opts: Options, argv: list[str]) -> int:
    from minidocker.runtime import operations
    flags, rest = parse_flags(argv, {"format": True}, {"f": "format"})
    if not rest:
        raise UsageError("usage: ps [--format table|json] ID [ps options]")
    container = operations.load(opts.root, rest[0])
    pids = operations.pids_of(container)
    fmt = last(flags, "format", "table")
    if fmt == "json":  # compact, as runc's: [19862,19901]
        from minidocker import jsonfast
        print(jsonfast.dumps(pids))
        return 0
    if fmt != "table":
        raise UsageError(f"invalid --format {fmt!r}: use table or json")
    import subprocess
    ps_args = rest[1:] or ["-ef"]
    out = subprocess.run(["ps", *ps_args], capture_output=True, text=True)
    if out.returncode != 0:
        raise MinidockerError(f"ps {' '.join(ps_args)}: {out.stderr.strip()}")
    lines = out.stdout.splitlines()
    header = lines[0].split()
    if "PID" not in header:
        raise MinidockerError("ps output has no PID column")
    col = header.index("PID")
    print(lines[0])
    wanted = set(pids)
    for line in lines[1:]:
        fields = line.split()
        if len(fields) > col and fields[col].isdigit() and int(fields[col]) in wanted:
            print(line)
    return 0


def cmd_run(opts: Options, argv: list[str]) -> int:
    from minidocker.runtime.run import run
    flags, rest = parse_flags(argv, {"bundle": True, "pid-file": True, "detach": False,
                                     "console-socket": True, "no-pivot": False,
                                     "no-new-keyring": False, "preserve-fds": True,
                                     "keep": False, "no-subreaper": False},
                              {"b": "bundle", "d": "detach"})
    cid = _one_id(rest, "run")
    from minidocker.runtime.create import CreateOptions
    return run(opts.root, cid, CreateOptions(
        bundle=last(flags, "bundle", "."), pid_file=last(flags, "pid-file"),
        console_socket=last(flags, "console-socket"),
        no_pivot=bool(flags.get("no-pivot")),
        preserve_fds=int_flag(flags, "preserve-fds"),
        systemd_cgroup=opts.systemd_cgroup,
        no_new_keyring=bool(flags.get("no-new-keyring"))),
        detach=bool(flags.get("detach")), keep=bool(flags.get("keep")))


def cmd_exec(opts: Options, argv: list[str]) -> int:
    from minidocker.runtime.run import exec_command
    flags, rest = parse_flags(argv, {
        "process": True, "tty": False, "console-socket": True, "env": True, "cwd": True,
        "user": True, "cap": True, "detach": False, "pid-file": True, "preserve-fds": True,
        "no-new-privs": False, "additional-gids": True, "process-label": True,
        "apparmor": True, "cgroup": True, "ignore-paused": False},
        {"p": "process", "t": "tty", "e": "env", "u": "user", "c": "cap", "d": "detach",
         "g": "additional-gids"})
    if not rest:
        raise UsageError("usage: exec [options] ID [COMMAND [ARGS...]]")
    return exec_command(opts.root, rest[0], rest[1:], flags)


def cmd_pause(opts: Options, argv: list[str]) -> int:
    from minidocker.runtime import operations
    _, rest = parse_flags(argv, {})
    operations.pause(operations.load(opts.root, _one_id(rest, "pause")))
    return 0


def cmd_resume(opts: Options, argv: list[str]) -> int:
    from minidocker.runtime import operations
    _, rest = parse_flags(argv, {})
    operations.resume(operations.load(opts.root, _one_id(rest, "resume")))
    return 0


def cmd_spec(opts: Options, argv: list[str]) -> int:
    from minidocker import jsonfast
    from minidocker.runtime.spec import default_spec
    flags, rest = parse_flags(argv, {"rootless": False, "bundle": True}, {"b": "bundle"})
    if rest:
        raise UsageError("spec takes no arguments")
    bundle = last(flags, "bundle", ".")
    path = os.path.join(bundle, "config.json")
    if os.path.exists(path):
        raise MinidockerError(f"{path} exists already: remove it first")
    data = jsonfast.dumps_indented(default_spec(bool(flags.get("rootless")))) + "\n"
    try:
        with open(path, "x") as f:
            f.write(data)
    except OSError as e:
        raise MinidockerError(f"write {path}: {e.strerror}")
    return 0


def cmd_features(opts: Options, argv: list[str]) -> int:
    from minidocker import jsonfast
    from minidocker.runtime.features import features
    parse_flags(argv, {})
    print(jsonfast.dumps_indented(features()))
    return 0


def cmd_update(opts: Options, argv: list[str]) -> int:
    from minidocker.runtime.update import update_command
    return update_command(opts.root, argv)


def cmd_events(opts: Options, argv: list[str]) -> int:
    from minidocker.runtime.update import events_command
    return events_command(opts.root, argv)


COMMANDS: dict[str, Callable[[Options, list[str]], int]] = {
    "create": cmd_create, "start": cmd_start, "state": cmd_state, "kill": cmd_kill,
    "delete": cmd_delete, "list": cmd_list, "ps": cmd_ps, "run": cmd_run,
    "exec": cmd_exec, "pause": cmd_pause, "resume": cmd_resume, "spec": cmd_spec,
    "features": cmd_features, "update": cmd_update, "events": cmd_events,
}


def _help(usage: str) -> int:
    print(f"usage: minidocker-runtime {usage}")
    return 0


def _report(opts: Options, exc: BaseException) -> None:
    message = describe(exc)
    sys.stderr.write(f"minidocker-runtime: error: {message}\n")
    hint = getattr(exc, "hint", None)
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
    if opts.log:
        _log(opts, "error", message)


def _check_log(path: str) -> None:
    """--log must name a file we can append to, as with runc (which opens it at once)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC |
                         os.O_NONBLOCK, 0o644))
    except OSError as e:
        import errno
        if e.errno != errno.ENXIO:  # a fifo nobody reads yet: can't tell
            raise MinidockerError(f"--log {path}: {e.strerror}")


def _log(opts: Options, level: str, message: str) -> None:
    t = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e9):09d}Z"
    if opts.log_format == "json":  # as runc's (logrus): {"level":..,"msg":..,"time":..}
        from minidocker import jsonfast
        line = jsonfast.dumps({"level": level, "msg": message, "time": stamp})
    else:
        line = f'time="{stamp}" level={level} msg="{message}"'
    try:
        fd = os.open(opts.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
    except OSError:
        pass


def _traced(command: Callable[[Options, list[str]], int], opts: Options, rest: list[str],
            path: str, argv: list[str]) -> int:
    """Run `command` with minidocker.TRACE recording its steps into `path`."""
    import minidocker
    from minidocker.trace import Tracer
    try:
        tracer = Tracer(path, f"minidocker-runtime {rest[0]}",
                        command=["minidocker-runtime", *argv])
    except OSError as e:
        raise MinidockerError(f"--trace {path}: {e.strerror}")
    minidocker.TRACE = tracer
    code = 1
    try:
        code = command(opts, rest[1:])
        return code
    finally:
        tracer.finish(exit_code=code)


def warm_cgroup_migration() -> None:
    """Start the kernel's cgroup-migration grace period now, in a thread, while Python
    imports the runtime.

    The first move of a process between cgroups after a quiet spell waits for an RCU
    grace period (about 10 ms here: cgroup_threadgroup_rwsem); moves in the next ~10 ms
    are instant. Writing our own pid into the cgroup we are already in is a move that
    changes nothing but opens that window, so the container's move (some 10 ms later)
    does not wait. Best effort: any error is ignored.

    Only on a cgroup v2 host: on v1 (and hybrid) the init joins its cgroups itself
    through `tasks`, which skips that lock (CgroupManager.open_self_join), and a warm-up
    would only hold cgroup_mutex through the grace period, delaying our mkdirs.
    """
    if os.geteuid() != 0 or not os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        return
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return
    target = None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for base in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup") if not controllers else \
                [f"/sys/fs/cgroup/{c}" for c in controllers.split(",")][:1]:
            if os.path.exists(f"{base}{path.rstrip('/')}/cgroup.procs"):
                target = f"{base}{path.rstrip('/')}/cgroup.procs"
                break
        if target:
            break
    if target is None:
        return

    def move_self(path: str = target, pid: bytes = str(os.getpid()).encode()) -> None:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)
        except OSError:
            pass

    import _thread
    _thread.start_new_thread(move_self, ())


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    opts = Options()
    try:
        flags, rest = parse_flags(argv, GLOBAL_FLAGS, GLOBAL_ALIASES)
        if flags.get("version"):
            from minidocker import OCI_VERSION, __version__
            print(f"minidocker-runtime version {__version__}\nspec: {OCI_VERSION}")
            return 0
        if flags.get("help") or not rest or rest[0] == "help":
            sys.stdout.write(USAGE)
            return 0 if flags.get("help") or rest else 1
        from minidocker.runtime.state import default_root
        opts.root = os.path.abspath(last(flags, "root") or default_root())
        opts.log = last(flags, "log", "")
        if opts.log:
            _check_log(opts.log)
        opts.log_format = last(flags, "log-format", "text")
        if opts.log_format not in ("text", "json"):
            raise UsageError(f"invalid --log-format {opts.log_format!r}: use text or json")
        opts.debug = bool(flags.get("debug"))
        opts.systemd_cgroup = bool(flags.get("systemd-cgroup"))
        command = COMMANDS.get(rest[0])
        if rest[0] in ("create", "run"):
            warm_cgroup_migration()
        if command is None:
            raise UsageError(f"unknown command {rest[0]!r}",
                             hint="see 'minidocker-runtime --help'")
        if opts.systemd_cgroup and not os.path.isdir("/run/systemd/system"):
            raise MinidockerError("--systemd-cgroup: systemd is not running on this host")
        if "trace" in flags:
            return _traced(command, opts, rest, last(flags, "trace"), argv)
        return command(opts, rest[1:])
    except KeyboardInterrupt:
        return 130
    except (MinidockerError, OSError) as e:
        if opts.debug:
            import traceback
            traceback.print_exc()
        _report(opts, e)
        code = getattr(e, "exit_code", 1)
        return 1 if code == 125 or not isinstance(code, int) else code
    except Exception as e:  # a bug of ours: still one line unless --debug
        if opts.debug:
            raise
        _report(opts, MinidockerError(f"internal error: {type(e).__name__}: {e}",
                                      hint="run with --debug for a traceback"))
        return 1


def entry() -> None:
    """The console entry point: main(), then leave without the interpreter's teardown
    (module and object finalization costs ~3 ms on every call; nothing of ours needs it
    once stdout and stderr are flushed).

    The cyclic garbage collector is off: a runtime call lives milliseconds and makes no
    garbage worth collecting, and a collection in a forked child (stage 1, the init) would
    touch every object and copy the pages it shares with its parent."""
    import gc
    gc.disable()
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 1
    os._exit(code)


if __name__ == "__main__":
    entry()
