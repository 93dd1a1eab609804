"""minidocker info: system-wide information."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--format", help="format output using a Go template")


def run(args: argparse.Namespace) -> int:
    import os

    from minidocker import __version__
    from minidocker.cli.commands._common import root
    from minidocker.engine import volumes
    from minidocker.engine.lifecycle import live_state
    from minidocker.engine.records import Records
    from minidocker.errors import MinidockerError
    counts = {"running": 0, "paused": 0, "stopped": 0}
    recs = Records(root()).all()
    for rec in recs:
        try:
            status = live_state(rec).get("Status")
        except MinidockerError:
            continue
        key = status if status in ("running", "paused") else "stopped"
        counts[key] += 1
    try:
        from minidocker.image.store import Store
        n_images = len(Store(root()).images())
    except Exception:
        n_images = 0
    try:
        from minidocker.linux import cgroups
        cgroup_version = "2" if cgroups.detect() == cgroups.UNIFIED else "1"
    except Exception:
        cgroup_version = "?"
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    doc = {"Containers": len(recs), "ContainersRunning": counts["running"],
           "ContainersPaused": counts["paused"], "ContainersStopped": counts["stopped"],
           "Images": n_images, "Volumes": len(volumes.names(root())), "Driver": "overlay",
           "LoggingDriver": "json-file", "CgroupDriver": "cgroupfs",
           "CgroupVersion": cgroup_version, "KernelVersion": os.uname().release,
           "OperatingSystem": _os_name(), "OSType": "linux", "Architecture": os.uname().machine,
           "NCPU": os.cpu_count(), "MemTotal": mem, "DockerRootDir": root(),
           "Name": os.uname().nodename, "ServerVersion": __version__,
           "DefaultRuntime": "minidocker", "Runtimes": {"minidocker": {}, "runc": {}}}
    if args.format:
        from minidocker.cli.template import render
        print(render(args.format, doc))
        return 0
    from minidocker.cli.output import human_size
    print(f"""Client: minidocker {__version__} (daemonless)

Server:
 Containers: {doc['Containers']}
  Running: {doc['ContainersRunning']}
  Paused: {doc['ContainersPaused']}
  Stopped: {doc['ContainersStopped']}
 Images: {doc['Images']}
 Volumes: {doc['Volumes']}
 Server Version: {__version__}
 Storage Driver: overlay
 Logging Driver: json-file
 Cgroup Driver: cgroupfs
 Cgroup Version: {cgroup_version}
 Default Runtime: minidocker
 Kernel Version: {doc['KernelVersion']}
 Operating System: {doc['OperatingSystem']}
 Architecture: {doc['Architecture']}
 CPUs: {doc['NCPU']}
 Total Memory: {human_size(mem)}
 Name: {doc['Name']}
 Docker Root Dir: {root()}""")
    return 0


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"
