"""minidocker version: version information."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--format", help="format output using a Go template")


def run(args: argparse.Namespace) -> int:
    import os
    import platform

    from minidocker import OCI_VERSION, __version__
    doc: dict[str, Any] = {"Client": {"Version": __version__, "ApiVersion": "1.43",
                      "GoVersion": "python" + platform.python_version(), "Os": "linux",
                      "Arch": os.uname().machine},
           "Server": {"Version": __version__, "Components": [
               {"Name": "Engine", "Version": __version__},
               {"Name": "minidocker-runtime", "Version": __version__,
                "Details": {"OCI": OCI_VERSION}}],
               "KernelVersion": os.uname().release, "Os": "linux",
               "Arch": os.uname().machine}}
    if args.format:
        from minidocker.cli.template import render
        print(render(args.format, doc))
        return 0
    c = doc["Client"]
    print(f"Client:\n Version:    {c['Version']}\n Python:     {c['GoVersion']}\n"
          f" OS/Arch:    linux/{c['Arch']}\n\nServer: (daemonless)\n Engine:\n"
          f"  Version:   {__version__}\n  Kernel:    {os.uname().release}\n"
          f" minidocker-runtime:\n  Version:   {__version__} (OCI {OCI_VERSION})")
    return 0
