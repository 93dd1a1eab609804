"""minidocker version: version information."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


SPEC = Spec("[OPTIONS]", (
    ("f", "format", "string", "Format the output using the given Go template"),
))


def run(args: Any) -> int:
    import platform

    from minidocker import OCI_VERSION, __version__
    from minidocker.cli.commands._common import context
    from minidocker.engine.service import system
    server = system.version(context(args))
    doc: dict[str, Any] = {"Client": {"Version": __version__, "ApiVersion": server["ApiVersion"],
                                      "GoVersion": "python" + platform.python_version(),
                                      "Os": "linux", "Arch": server["Arch"]},
                           "Server": server}
    if args.format:
        from minidocker.cli.views import go_maps
        from minidocker.gotemplate import render
        doc = go_maps(doc)  # (.Server.APIVersion, Docker's field name, reads ApiVersion)
        print(render(args.format, doc))
        return 0
    c = doc["Client"]
    print(f"Client:\n Version:    {c['Version']}\n API version: {c['ApiVersion']}\n"
          f" Python:     {c['GoVersion']}\n OS/Arch:    linux/{c['Arch']}\n\n"
          f"Server: (daemonless)\n Engine:\n  Version:   {__version__}\n"
          f"  API version: {server['ApiVersion']} (minimum version "
          f"{server['MinAPIVersion']})\n  Kernel:    {server['KernelVersion']}\n"
          f" minidocker-runtime:\n  Version:   {__version__} (OCI {OCI_VERSION})")
    return 0

