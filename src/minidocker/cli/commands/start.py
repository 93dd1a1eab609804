"""minidocker start: start one or more stopped containers."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS] CONTAINER [CONTAINER...]", (
    ("a", "attach", "bool", "Attach STDOUT/STDERR and forward signals"),
    ("", "detach-keys", "string", "Override the key sequence for detaching a container"),
    ("i", "interactive", "bool", "Attach container's STDIN"),
    ("", "trace", "string", "Append each step the start takes to FILE as trace-event JSON "
     "(minidocker trace show FILE)", {"complete": "file"}),
), (("containers", "+"),))


def run(args: Any) -> int:
    from minidocker.cli.commands._common import context, each
    from minidocker.engine.service import containers
    ctx = context(args)
    if args.attach or args.interactive:
        if len(args.containers) > 1:
            from minidocker.errors import UsageError
            raise UsageError("you cannot start and attach multiple containers at once")
        from minidocker.cli.attach import detach_keys, finish
        from minidocker.cli.attach import stream as serve
        keys = detach_keys(args.detach_keys, ctx.auth_config)
        stream = containers.start(ctx, args.containers[0], attach=True,
                                  interactive=args.interactive)
        assert stream is not None
        code = serve(stream, stdin=args.interactive, tty=stream.tty, keys=keys)
        stream.close()
        return finish(code, lambda: containers.why_the_stream_ended(ctx, args.containers[0]))
    if args.detach_keys is not None:
        from minidocker.cli.attach import detach_keys
        detach_keys(args.detach_keys)  # checked, as Docker's, though nothing attaches
    return each(args.containers, lambda ref: containers.start(ctx, ref))
