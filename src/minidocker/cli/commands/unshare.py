"""minidocker unshare: run a command inside the rootless session's user and mount
namespaces (podman unshare), where the store's files show the ids containers see."""

from __future__ import annotations

import os
import sys

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SPEC = Spec("[COMMAND [ARG...]]", (), (("command", "..."),), interspersed=False)


def run(args: Any) -> int:
    from minidocker.errors import MinidockerError
    from minidocker.linux import userns
    if userns.in_initial():
        raise MinidockerError("unshare is for rootless users: root sees the store as it is")
    argv = list(args.command) or [os.environ.get("SHELL") or "/bin/sh"]
    env = dict(os.environ, MINIDOCKER_ROOT=args.root)
    sys.stdout.flush()
    sys.stderr.flush()
    import _signal  # Python ignores SIGPIPE and SIGXFSZ: give the command the defaults
    for name in ("SIGPIPE", "SIGXFSZ"):
        _signal.signal(getattr(_signal, name), _signal.SIG_DFL)
    try:
        os.execvpe(argv[0], argv, env)
    except FileNotFoundError:
        raise MinidockerError(f"{argv[0]}: command not found", exit_code=127) from None
    except PermissionError:
        raise MinidockerError(f"{argv[0]}: permission denied", exit_code=126) from None
    return 0  # not reached
