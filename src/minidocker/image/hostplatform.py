"""The host's platform in OCI terms (`linux/amd64`), without the registry client's
imports: builds and commits need it too."""

from __future__ import annotations

import os

ARCHES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm/v7", "i686": "386",
          "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def host_platform() -> str:
    machine = os.uname().machine
    return f"linux/{ARCHES.get(machine, machine)}"
