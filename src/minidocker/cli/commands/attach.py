"""minidocker attach: attach to a running container's output (and input)."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS] CONTAINER", (
    ("", "detach-keys", "string", "Override the key sequence for detaching a container"),
    ("", "no-stdin", "bool", "Do not attach STDIN"),
    ("", "sig-proxy", "bool", "Proxy all received signals to the process", {"default": True}),
), (("container", 1),))


def run(args: Any) -> int:
    from minidocker.cli.attach import detach_keys, finish
    from minidocker.cli.attach import stream as serve
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import containers
    ctx = context(args)
    keys = detach_keys(args.detach_keys, ctx.auth_config)
    stream = containers.attach(ctx, args.container, stdin=not args.no_stdin)
    if stream.stdin and stream.tty:
        from minidocker.cli.commands._common import check_tty
        try:
            check_tty(True, True)
        except BaseException:
            stream.close()
            raise
    code = serve(stream, stdin=stream.stdin, tty=stream.tty,
                 forward_signals=args.sig_proxy, keys=keys)
    stream.close()
    return finish(code, lambda: containers.why_the_stream_ended(ctx, args.container))
