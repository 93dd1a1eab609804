"""The runtime-spec features document (`minidocker-runtime features`)."""

from __future__ import annotations

from minidocker import OCI_VERSION, __version__
from minidocker.linux.caps import CAPS, last_cap
from minidocker.runtime.rootfs import _FLAGS, _IGNORED, PROPAGATION, RECURSIVE
from minidocker.runtime.spec import NAMESPACE_TYPES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def features() -> dict[str, Any]:
    mount_options = sorted(set(_FLAGS) | set(PROPAGATION) | set(RECURSIVE) | _IGNORED)
    doc: dict[str, Any] = {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer",
                  "poststart", "poststop"],
        "mountOptions": mount_options,
        "linux": {
            "namespaces": list(NAMESPACE_TYPES),
            "capabilities": CAPS[:last_cap() + 1],
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False,
                       "rdma": False},
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
            "intelRdt": {"enabled": False},
            "mountExtensions": {"idmap": {"enabled": False}},
        },
        "annotations": {"org.minidocker.runtime.version": __version__},
    }
    try:
        from minidocker.linux import seccomp
        doc["linux"]["seccomp"] = seccomp.features()
    except (ImportError, AttributeError):
        doc["linux"]["seccomp"] = {"enabled": False}
    return doc
