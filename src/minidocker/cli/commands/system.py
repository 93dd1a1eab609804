"""minidocker system: df, prune, info, boot, service."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from minidocker.cli.commands._common import add_subcommands, subcommand
    sub = add_subcommands(parser)
    p = subcommand(sub, "df", _df, "show disk usage")
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("--format")
    p = subcommand(sub, "prune", _prune, "remove unused data")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("-a", "--all", action="store_true", help="remove all unused images")
    p.add_argument("--volumes", action="store_true", help="prune anonymous volumes")
    subcommand(sub, "info", _info, "display system-wide information")
    subcommand(sub, "boot", _boot, "start the containers that a reboot stopped and whose "
               "restart policy says so (always; unless-stopped if not stopped by hand): what "
               "dockerd does when it starts; run it once at boot")
    subcommand(sub, "service", _service, "serve the Docker Engine API (docs/api.md; "
               "'minidocker system service --help' for its options)")


def parse_fast(argv: list[str]) -> argparse.Namespace | None:
    """`system service ARGS`: the API server parses its own arguments (it runs as a
    program of its own: see _service)."""
    if argv[:1] == ["service"]:
        return argparse.Namespace(sub="service", service_args=argv[1:], handler=_service)
    return None


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import run_subcommand
    return run_subcommand(args)


def _info(args: argparse.Namespace) -> int:
    from minidocker.cli.commands import info
    args.format = None
    return info.run(args)


def _prune(args: argparse.Namespace) -> int:
    import sys

    from minidocker.cli.commands._common import context
    from minidocker.cli.output import human_size
    from minidocker.engine.service import system
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
    report: dict[str, Any] = dict(system.prune(context(args), all=args.all,
                                               volumes=args.volumes))
    for title, key in (("Deleted Containers:", "ContainersDeleted"),
                       ("Deleted Networks:", "NetworksDeleted"),
                       ("Deleted Volumes:", "VolumesDeleted")):
        if report.get(key):
            print(title)
            print("\n".join(report[key]) + "\n")
    if report.get("ImagesDeleted"):
        print("Deleted Images:")
        print("\n".join(f"{k.lower()}: {v}" for item in report["ImagesDeleted"]
                        for k, v in item.items()) + "\n")
    print(f"Total reclaimed space: {human_size(report.get('SpaceReclaimed', 0))}")
    return 0


def _service(args: argparse.Namespace) -> int:
    """Exec the API server (minidocker.api.main) in this process: the CLI imports none of
    it, and the server starts without the CLI's state."""
    import os
    import sys

    import minidocker
    src = os.path.dirname(os.path.dirname(os.path.abspath(minidocker.__file__)))
    boot = (f"import sys; sys.path.insert(0, {src!r}); "
            "from minidocker.api.main import main; sys.exit(main(sys.argv[1:]))")
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-S", "-c", boot, "--root", args.root,
                              *(["--debug"] if args.debug else []),
                              *getattr(args, "service_args", [])])


def _boot(args: argparse.Namespace) -> int:
    import sys

    from minidocker.cli.commands._common import context
    from minidocker.engine.service import system
    from minidocker.errors import describe
    code = 0
    for cid, error in system.boot(context(args)):
        if error is None:
            print(cid)
        else:
            sys.stderr.write(f"minidocker: error: {cid[:12]}: {describe(error)}\n")
            code = 1
    return code


def _df(args: argparse.Namespace) -> int:
    import sys

    from minidocker.cli.commands._common import context
    from minidocker.cli.output import format_table, human_size
    from minidocker.engine.service import system
    usage = system.df(context(args))
    images = usage["Images"]
    containers = usage["Containers"]
    volumes = usage["Volumes"]
    image_size = sum(i["Size"] for i in images)
    image_unused = sum(i["Size"] for i in images if not i["Containers"])
    container_size = sum(c["SizeRw"] for c in containers)
    stopped_size = sum(c["SizeRw"] for c in containers
                       if c["State"] not in ("running", "paused", "restarting"))
    volume_size = sum(v["UsageData"]["Size"] for v in volumes)
    volume_unused = sum(v["UsageData"]["Size"] for v in volumes if not v["UsageData"]["RefCount"])
    rows = [("Images", len(images), sum(1 for i in images if i["Containers"]), image_size,
             image_unused),
            ("Containers", len(containers), sum(1 for c in containers if c["State"] in (
                "running", "paused", "restarting")), container_size, stopped_size),
            ("Local Volumes", len(volumes), sum(1 for v in volumes if v["UsageData"]["RefCount"]),
             volume_size, volume_unused)]
    table = [(kind, str(total), str(active), human_size(size),
              f"{human_size(rec)} ({100 * rec // size if size else 0}%)")
             for kind, total, active, size, rec in rows]
    sys.stdout.write(format_table(["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], table))
    return 0
