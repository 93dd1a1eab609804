"""minidocker system: df, prune, info, boot, service."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="sub", metavar="COMMAND", required=True)
    p = sub.add_parser("df", help="show disk usage")
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("--format")
    p = sub.add_parser("prune", help="remove unused data")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("-a", "--all", action="store_true", help="remove all unused images")
    p.add_argument("--volumes", action="store_true", help="prune anonymous volumes")
    sub.add_parser("info", help="display system-wide information")
    sub.add_parser("boot", help="start the containers that a reboot stopped and whose "
                   "restart policy says so (always; unless-stopped if not stopped by "
                   "hand): what dockerd does when it starts; run it once at boot")
    sub.add_parser("service", help="serve the Docker Engine API (docs/api.md; "
                   "'minidocker system service --help' for its options)")


def parse_fast(argv: list[str]) -> argparse.Namespace | None:
    """`system service ARGS`: the API server parses its own arguments (it runs as a
    program of its own: see _service)."""
    if argv[:1] == ["service"]:
        return argparse.Namespace(sub="service", service_args=argv[1:])
    return None


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import root
    if args.sub == "info":
        from minidocker.cli.commands import info
        return info.run(argparse.Namespace(format=None, debug=False))
    if args.sub == "df":
        return _df(root(), args)
    if args.sub == "boot":
        return _boot(root())
    if args.sub == "service":
        return _service(root(), getattr(args, "service_args", []), args.debug)
    import sys

    from minidocker.cli.commands.container import prune_containers
    from minidocker.cli.output import human_size
    if not args.force:
        sys.stdout.write("WARNING! This will remove:\n  - all stopped containers\n"
                         "  - all networks not used by at least one container\n" +
                         ("  - all anonymous volumes not used by at least one container\n"
                          if args.volumes else "") +
                         ("  - all images without at least one container associated to them\n"
                          if args.all else "  - all dangling images\n") +
                         "\nAre you sure you want to continue? [y/N] ")
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    ids, reclaimed = prune_containers(root())
    if ids:
        print("Deleted Containers:")
        print("\n".join(ids) + "\n")
    from minidocker.engine.networking import cleanup_stale
    from minidocker.network import prune_networks
    cleanup_stale(root(), full=True)
    networks = prune_networks(root())
    if networks:
        print("Deleted Networks:")
        print("\n".join(networks) + "\n")
    if args.volumes:
        from minidocker.cli.commands.volume import prune_volumes
        names, size = prune_volumes(root(), False)
        reclaimed += size
        if names:
            print("Deleted Volumes:")
            print("\n".join(names) + "\n")
    try:
        from minidocker.image import manage
        from minidocker.image.store import Store
        deleted, size = manage.prune(Store(root()), all_unused=args.all)
        reclaimed += size
        if deleted:
            print("Deleted Images:")
            print("\n".join(deleted) + "\n")
    except ImportError:
        pass
    print(f"Total reclaimed space: {human_size(reclaimed)}")
    return 0


def _service(root: str, argv: list[str], debug: bool) -> int:
    """Exec the API server (minidocker.api.main) in this process: the CLI imports none of
    it, and the server starts without the CLI's state."""
    import os
    import sys

    import minidocker
    src = os.path.dirname(os.path.dirname(os.path.abspath(minidocker.__file__)))
    boot = (f"import sys; sys.path.insert(0, {src!r}); "
            "from minidocker.api.main import main; sys.exit(main(sys.argv[1:]))")
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-S", "-c", boot, "--root", root,
                              *(["--debug"] if debug else []), *argv])


def _boot(root: str) -> int:
    import sys

    from minidocker.engine import lifecycle
    from minidocker.errors import describe
    code = 0
    for cid, error in lifecycle.start_after_boot(root):
        if error is None:
            print(cid)
        else:
            sys.stderr.write(f"minidocker: error: {cid[:12]}: {describe(error)}\n")
            code = 1
    return code


def _df(root: str, args: argparse.Namespace) -> int:
    import sys

    from minidocker.cli.commands.container import du
    from minidocker.cli.output import human_size
    from minidocker.engine import volumes
    from minidocker.engine.lifecycle import live_state
    from minidocker.engine.records import Records
    from minidocker.errors import MinidockerError
    rows = []
    try:
        from minidocker.image.store import Store
        from minidocker.image.views import image_size
        store = Store(root)
        images = store.images()
        sizes = [image_size(store, i) for i in images]
        from minidocker.image.snapshot import users_of
        active = sum(1 for i in images if users_of(store, i))
        total = sum(sizes)
        rows.append(("Images", len(images), active, total, 0))
    except Exception:
        rows.append(("Images", 0, 0, 0, 0))
    recs = Records(root).all()
    running, csize, reclaim = 0, 0, 0
    for rec in recs:
        try:
            status = live_state(rec).get("Status")
        except MinidockerError:
            continue
        size = du(rec.path("upper"))
        csize += size
        if status in ("running", "paused", "restarting"):
            running += 1
        else:
            reclaim += size
    rows.append(("Containers", len(recs), running, csize, reclaim))
    names = volumes.names(root)
    used = set()
    for rec in recs:
        try:
            used |= {m.get("Name") for m in rec.config.get("Mounts") or []}
        except MinidockerError:
            continue
    vsize = {n: du(volumes.inspect(root, n)["Mountpoint"]) for n in names}
    rows.append(("Local Volumes", len(names), len([n for n in names if n in used]),
                 sum(vsize.values()), sum(s for n, s in vsize.items() if n not in used)))
    from minidocker.cli.output import format_table
    table = [(kind, str(total), str(active), human_size(size),
              f"{human_size(rec)} ({100 * rec // size if size else 0}%)")
             for kind, total, active, size, rec in rows]
    sys.stdout.write(format_table(["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], table))
    return 0
