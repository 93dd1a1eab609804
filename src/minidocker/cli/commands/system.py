"""minidocker system: df, prune, reset, info, boot, migrate, service."""

from __future__ import annotations

from minidocker.cli.flags import Spec, delegated

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _info(args: Any) -> int:
    from minidocker.cli.commands import info
    return info.run(args)


def _prune(args: Any) -> int:

    from minidocker.cli.commands._common import confirm, context
    from minidocker.engine.service import system
    from minidocker.engine.service.filters import from_args
    warning = ("WARNING! This will remove:\n  - all stopped containers\n"
               "  - all networks not used by at least one container\n" +
               ("  - all volumes not used by at least one container\n"
                if args.volumes else "") +
               ("  - all images without at least one container associated to them\n"
                if args.all else "  - all dangling images\n") +
               "  - all build cache\n")
    if not args.force and not confirm(warning):
        return 0
    _print_report(dict(system.prune(context(args), all=args.all, volumes=args.volumes,
                                    filters=from_args(args.filter))))
    return 0


def _print_report(report: dict[str, Any]) -> None:
    """What a prune or reset removed, as Docker prints a prune's report."""
    from minidocker.cli.output import human_size
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


def _reset(args: Any) -> int:
    """podman's system reset: after a confirmation (or -f), everything of the root."""
    from minidocker.cli.commands._common import confirm, context
    from minidocker.engine.service import system
    warning = ("WARNING! This will remove:\n  - all containers\n  - all images\n"
               "  - all networks, the default one with its bridge and nft table\n"
               "  - all build cache\n  - all volumes\n")
    if not args.force and not confirm(warning):
        return 0
    _print_report(dict(system.reset(context(args))))
    return 0


def _service(args: Any) -> int:
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
                              *(["--debug"] if args.debug else []), *args.argv])


def _migrate(args: Any) -> int:
    from minidocker.engine.service import system
    if system.migrate():
        print("the rootless session ended: the next command starts a new one")
    return 0


def _boot(args: Any) -> int:
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


def _df(args: Any) -> int:
    """docker system df: the summary table (or --format of its rows: Type, TotalCount,
    Active, Size, Reclaimable), or with -v the space of each image, container and volume."""
    import sys
    import time

    from minidocker.cli.commands._common import context
    from minidocker.cli.commands.images import rows_of
    from minidocker.cli.formats import Format
    from minidocker.cli.output import ago, human_size
    from minidocker.engine.service import system
    usage = system.df(context(args))
    images, containers, volumes = usage["Images"], usage["Containers"], usage["Volumes"]
    running = ("running", "paused", "restarting")
    if args.verbose:
        now = time.time()
        out = ["Images space usage:", ""]
        rows = [{**row, "CreatedSince": ago(i["Created"], now) if i["Created"] else "N/A",
                 "Size": human_size(i["Size"], 3), "SharedSize": human_size(0, 3),
                 "UniqueSize": human_size(i["Size"], 3), "Containers": str(i["Containers"])}
                for i in images for row in rows_of(i)]
        out.append(Format("table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t"
                          "{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}"
                          ).render(rows, {"ID": "IMAGE ID", "CreatedSince": "CREATED"}))
        out += ["Containers space usage:", ""]
        rows = [{"ID": c["Id"][:12], "Image": c["Image"], "Command": f'"{c["Command"]}"',
                 "LocalVolumes": str(sum(1 for m in c["Mounts"] if m["Type"] == "volume")),
                 "Size": human_size(c["SizeRw"], 3), "RunningFor": ago(c["Created"], now),
                 "Status": c["Status"], "Names": c["Names"][0].lstrip("/")}
                for c in containers]
        out.append(Format("table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t"
                          "{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}").render(
            rows, {"ID": "CONTAINER ID", "RunningFor": "CREATED"}))
        out += ["Local Volumes space usage:", ""]
        rows = [{"Name": v["Name"], "Links": str(v["UsageData"]["RefCount"]),
                 "Size": human_size(v["UsageData"]["Size"], 3)} for v in volumes]
        out.append(Format("table {{.Name}}\t{{.Links}}\t{{.Size}}").render(
            rows, {"Name": "VOLUME NAME"}))
        out += ["Build cache usage: 0B", ""]
        sys.stdout.write("\n".join(out) + "\n")
        return 0
    image_size = sum(i["Size"] for i in images)
    image_unused = sum(i["Size"] for i in images if not i["Containers"])
    container_size = sum(c["SizeRw"] for c in containers)
    stopped_size = sum(c["SizeRw"] for c in containers if c["State"] not in running)
    volume_size = sum(v["UsageData"]["Size"] for v in volumes)
    volume_unused = sum(v["UsageData"]["Size"] for v in volumes if not v["UsageData"]["RefCount"])
    table = [("Images", len(images), sum(1 for i in images if i["Containers"]), image_size,
              image_unused),
             ("Containers", len(containers), sum(1 for c in containers if c["State"] in running),
              container_size, stopped_size),
             ("Local Volumes", len(volumes), sum(1 for v in volumes
                                                 if v["UsageData"]["RefCount"]),
              volume_size, volume_unused),
             ("Build Cache", 0, 0, 0, 0)]
    rows = [{"Type": kind, "TotalCount": str(total), "Active": str(active),
             "Size": human_size(size), "Reclaimable":
             f"{human_size(rec)} ({100 * rec // size if size else 0}%)"}
            for kind, total, active, size, rec in table]
    fmt = Format(args.format or "table", default_table="table {{.Type}}\t{{.TotalCount}}\t"
                 "{{.Active}}\t{{.Size}}\t{{.Reclaimable}}")
    sys.stdout.write(fmt.render(rows, {"TotalCount": "TOTAL"}))
    return 0

SPEC = Spec("COMMAND", subcommands={
    "boot": Spec("", (), handler=_boot, summary="Start the containers a reboot stopped whose "
                 "restart policy says so (always; unless-stopped if not stopped by hand), as "
                 "dockerd does when it starts: run it once at boot"),
    "df": Spec("[OPTIONS]", (
        ("", "format", "string", "Pretty-print images using a Go template"),
        ("v", "verbose", "bool", "Show detailed information on space usage"),
    ), handler=_df, summary="Show minidocker disk usage"),
    "events": delegated("events"),
    "info": Spec("[OPTIONS]", (
        ("f", "format", "string", "Format the output using the given Go template"),
    ), handler=_info, summary="Display system-wide information"),
    "migrate": Spec("", (), handler=_migrate, summary="Rootless: end this user's session "
                    "(its user namespace and network), so that the next command makes a new "
                    "one with the ranges /etc/subuid and /etc/subgid give now"),
    "prune": Spec("[OPTIONS]", (
        ("a", "all", "bool", "Remove all unused images not just dangling ones"),
        ("", "filter", "filter", "Provide filter values (e.g. 'label=<key>=<value>')"),
        ("f", "force", "bool", "Do not prompt for confirmation"),
        ("", "volumes", "bool", "Prune volumes"),
    ), handler=_prune, summary="Remove unused data"),
    "reset": Spec("[OPTIONS]", (
        ("f", "force", "bool", "Do not prompt for confirmation"),
    ), handler=_reset, summary="Remove every container, image, volume and network of the "
                   "root, its default bridge and nft table included"),
    "service": Spec("[OPTIONS]", (), handler=_service, raw=True,
                    summary="Serve the Docker Engine API (docs/api.md; 'minidocker system "
                    "service --help' for its options)"),
})
