"""minidocker cp: copy files between a container and the local filesystem."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tminidocker cp [OPTIONS] SRC_PATH|- "
            "CONTAINER:DEST_PATH", (
    ("a", "archive", "bool", "Archive mode (copy all uid/gid information)"),
    ("L", "follow-link", "bool", "Always follow symbol link in SRC_PATH"),
), (("src", 1), ("dest", 1)))


def _split(arg: str) -> tuple[str | None, str]:
    if ":" in arg and not arg.startswith(("/", ".")):
        ref, _, path = arg.partition(":")
        return ref, path
    return None, arg


def run(args: Any) -> int:
    import sys

    from minidocker.cli.commands._common import context
    from minidocker.engine.service import containers
    from minidocker.errors import UsageError

    src_ref, src_path = _split(args.src)
    dest_ref, dest_path = _split(args.dest)
    if (src_ref is None) == (dest_ref is None):
        raise UsageError("copying between containers or between local paths is not "
                         "supported: one of SRC and DEST must be CONTAINER:PATH")
    ctx = context(args)
    if src_ref is not None:
        if dest_path == "-":  # a tar archive of SRC on stdout
            containers.get_archive(ctx, src_ref, src_path, sys.stdout.buffer,
                                   follow=args.follow_link)
        else:
            containers.copy_out(ctx, src_ref, src_path, dest_path, follow=args.follow_link,
                                archive=args.archive)
    elif src_path == "-":  # a tar archive on stdin, unpacked into the directory DEST
        containers.put_archive(ctx, dest_ref or "", dest_path, sys.stdin.buffer,
                               archive=args.archive)
    else:
        containers.copy_in(ctx, dest_ref or "", src_path, dest_path, archive=args.archive,
                           follow=args.follow_link)
    return 0
