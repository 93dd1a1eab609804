"""minidocker info: system-wide information."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS]", (
    ("f", "format", "string", "Format the output using the given Go template"),
))


def run(args: Any) -> int:
    from minidocker import __version__
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import system
    doc = system.info(context(args))
    if args.format:
        from minidocker.gotemplate import render
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
 Server Version: {doc['ServerVersion']}
 Storage Driver: overlay2
 Logging Driver: json-file
 Cgroup Driver: cgroupfs
 Cgroup Version: {doc['CgroupVersion'] or '?'}
 Default Runtime: {doc['DefaultRuntime']}
 Kernel Version: {doc['KernelVersion']}
 Operating System: {doc['OperatingSystem']}
 Architecture: {doc['Architecture']}
 CPUs: {doc['NCPU']}
 Total Memory: {human_size(doc['MemTotal'])}
 Name: {doc['Name']}
 Docker Root Dir: {doc['DockerRootDir']}""")
    return 0
