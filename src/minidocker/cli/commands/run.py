"""minidocker run: create a container from an image and start it."""

from __future__ import annotations

import sys

from minidocker.cli.commands import _container_flags as flags

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import SimpleNamespace

SPEC = flags.spec(flags.RUN_FLAGS + flags.CREATE_FLAGS)


def run(args: SimpleNamespace) -> int:
    from minidocker.cli.commands._common import Terminal, check_tty, context
    from minidocker.engine.service import containers

    ctx = context(args, Terminal(sys.stderr))  # a pull's progress: stdout is the container's
    # its monitor (or the supervisor's connection) is made while we read the flags
    monitor = containers.prefork(ctx, attach=not args.detach)
    try:
        streams = _attached(args)
        check_tty(args.interactive and "stdin" in streams and not args.detach, args.tty)
        body = flags.options_from(args, detach=args.detach)
        cidfile = flags.CidFile(args.cidfile)
        keys = None
        if not args.detach or args.detach_keys is not None:
            from minidocker.cli.attach import detach_keys
            keys = detach_keys(args.detach_keys, ctx.auth_config)
    except BaseException:
        if monitor is not None:
            monitor.close()
        raise
    if args.attach:
        body.update(AttachStdin=args.interactive and "stdin" in streams,
                    AttachStdout="stdout" in streams, AttachStderr="stderr" in streams)
    interactive = args.interactive and "stdin" in streams
    try:
        created, stream = containers.run(ctx, body, attach=not args.detach,
                                         interactive=interactive, monitor=monitor,
                                         pull=args.pull, platform=args.platform)
    except BaseException:
        cidfile.discard()
        raise
    cidfile.write(created["Id"])
    if args.detach:
        print(created["Id"])
        return 0
    assert stream is not None
    from minidocker.cli.attach import finish
    from minidocker.cli.attach import stream as serve
    code = serve(stream, stdin=interactive, tty=args.tty, forward_signals=args.sig_proxy,
                 outputs=tuple(n for n, name in ((1, "stdout"), (2, "stderr"))
                               if name in streams), keys=keys)
    stream.close()
    return finish(code, lambda: containers.why_the_stream_ended(ctx, created["Id"]))


def _attached(args: SimpleNamespace) -> set[str]:
    """-a STDIN|STDOUT|STDERR (repeatable): the streams attached; all three without it."""
    from minidocker.errors import UsageError
    if not args.attach:
        return {"stdin", "stdout", "stderr"}
    if args.detach:
        raise UsageError("conflicting options: -a and -d")
    streams = {a.lower() for a in args.attach}
    bad = streams - {"stdin", "stdout", "stderr"}
    if bad:
        raise UsageError(f"invalid argument \"{sorted(bad)[0]}\" for \"-a, --attach\" flag: "
                         "valid streams are STDIN, STDOUT and STDERR")
    return streams
