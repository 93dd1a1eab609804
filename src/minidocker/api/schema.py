"""The types of the request bodies, as Docker's Go structs declare them: a wrong type is a
400 naming the field (Docker: "json: cannot unmarshal string into Go struct field
HostConfig.Memory of type int64"), before anything reaches the engine. Fields that Docker
has and minidocker does not use are told back as create's Warnings when they are set.

A type is "str", "int", "bool", "num", "any", ["str"] (a list of), {"str"} (a map of
str to), a dict of field -> type (an object; other fields pass), or "strs" (Docker's
strslice: a string or a list of strings). null is accepted everywhere, as Go's zero."""

from __future__ import annotations

from minidocker.api.http import HTTPError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MOUNT = {"Type": "str", "Source": "str", "Target": "str", "ReadOnly": "bool",
         "Consistency": "str", "BindOptions": {"Propagation": "str"},
         "VolumeOptions": {"NoCopy": "bool", "Labels": {"str"},
                           "DriverConfig": {"Name": "str", "Options": {"str"}}},
         "TmpfsOptions": {"SizeBytes": "int", "Mode": "int"}}

HEALTHCHECK = {"Test": "strs", "Interval": "int", "Timeout": "int", "Retries": "int",
               "StartPeriod": "int"}

HOST_CONFIG: dict[str, Any] = {
    "Binds": ["str"], "ContainerIDFile": "str",
    "LogConfig": {"Type": "str", "Config": {"str"}},
    "NetworkMode": "str", "PortBindings": {"*": [{"HostIp": "str", "HostPort": "str"}]},
    "RestartPolicy": {"Name": "str", "MaximumRetryCount": "int"},
    "AutoRemove": "bool", "VolumeDriver": "str", "VolumesFrom": ["str"],
    "CapAdd": "strs", "CapDrop": "strs", "CgroupnsMode": "str", "Dns": ["str"],
    "DnsOptions": ["str"], "DnsSearch": ["str"], "ExtraHosts": ["str"], "GroupAdd": ["str"],
    "IpcMode": "str", "Cgroup": "str", "Links": ["str"], "OomScoreAdj": "int",
    "PidMode": "str", "Privileged": "bool", "PublishAllPorts": "bool",
    "ReadonlyRootfs": "bool", "SecurityOpt": ["str"], "StorageOpt": {"str"},
    "Tmpfs": {"str"}, "UTSMode": "str", "UsernsMode": "str", "ShmSize": "int",
    "Sysctls": {"str"}, "Runtime": "str", "ConsoleSize": ["int"], "Isolation": "str",
    "CpuShares": "int", "Memory": "int", "NanoCpus": "int", "CgroupParent": "str",
    "BlkioWeight": "int", "BlkioWeightDevice": ["any"], "BlkioDeviceReadBps": ["any"],
    "BlkioDeviceWriteBps": ["any"], "BlkioDeviceReadIOps": ["any"],
    "BlkioDeviceWriteIOps": ["any"], "CpuPeriod": "int", "CpuQuota": "int",
    "CpuRealtimePeriod": "int", "CpuRealtimeRuntime": "int", "CpusetCpus": "str",
    "CpusetMems": "str", "Devices": ["any"], "DeviceCgroupRules": ["str"],
    "DeviceRequests": ["any"], "KernelMemory": "int", "KernelMemoryTCP": "int",
    "MemoryReservation": "int", "MemorySwap": "int", "MemorySwappiness": "int",
    "OomKillDisable": "bool", "PidsLimit": "int",
    "Ulimits": [{"Name": "str", "Soft": "int", "Hard": "int"}],
    "CpuCount": "int", "CpuPercent": "int", "IOMaximumIOps": "int",
    "IOMaximumBandwidth": "int", "Mounts": [MOUNT], "MaskedPaths": ["str"],
    "ReadonlyPaths": ["str"], "Init": "bool",
}

ENDPOINT = {"IPAMConfig": {"IPv4Address": "str", "IPv6Address": "str",
                           "LinkLocalIPs": ["str"]},
            "Links": ["str"], "Aliases": ["str"], "NetworkID": "str", "EndpointID": "str",
            "Gateway": "str", "IPAddress": "str", "IPPrefixLen": "int", "MacAddress": "str",
            "DriverOpts": {"str"}}

CREATE: dict[str, Any] = {
    "Hostname": "str", "Domainname": "str", "User": "str", "AttachStdin": "bool",
    "AttachStdout": "bool", "AttachStderr": "bool", "ExposedPorts": {"any"}, "Tty": "bool",
    "OpenStdin": "bool", "StdinOnce": "bool", "Env": ["str"], "Cmd": "strs",
    "Healthcheck": HEALTHCHECK, "ArgsEscaped": "bool", "Image": "str", "Volumes": {"any"},
    "WorkingDir": "str", "Entrypoint": "strs", "NetworkDisabled": "bool",
    "MacAddress": "str", "OnBuild": ["str"], "Labels": {"str"}, "StopSignal": "str",
    "StopTimeout": "int", "Shell": ["str"], "HostConfig": HOST_CONFIG,
    "NetworkingConfig": {"EndpointsConfig": {"*": ENDPOINT}},
}

EXEC: dict[str, Any] = {
    "AttachStdin": "bool", "AttachStdout": "bool", "AttachStderr": "bool",
    "ConsoleSize": ["int"], "DetachKeys": "str", "Tty": "bool", "Env": ["str"],
    "Cmd": "strs", "Privileged": "bool", "User": "str", "WorkingDir": "str",
}

EXEC_START = {"Detach": "bool", "Tty": "bool", "ConsoleSize": ["int"]}

NETWORK_CREATE: dict[str, Any] = {
    "Name": "str", "CheckDuplicate": "bool", "Driver": "str", "Internal": "bool",
    "Attachable": "bool", "Ingress": "bool", "EnableIPv6": "bool", "Options": {"str"},
    "Labels": {"str"}, "Scope": "str", "ConfigOnly": "bool",
    "IPAM": {"Driver": "str", "Options": {"str"},
             "Config": [{"Subnet": "str", "IPRange": "str", "Gateway": "str",
                         "AuxiliaryAddresses": {"str"}}]},
}

NETWORK_CONNECT = {"Container": "str", "EndpointConfig": ENDPOINT, "Force": "bool"}

VOLUME_CREATE = {"Name": "str", "Driver": "str", "DriverOpts": {"str"}, "Labels": {"str"}}

UPDATE: dict[str, Any] = {k: HOST_CONFIG[k] for k in (
    "CpuShares", "Memory", "NanoCpus", "CpusetCpus", "CpusetMems", "MemorySwap",
    "MemoryReservation", "PidsLimit", "BlkioWeight", "CpuPeriod", "CpuQuota",
    "RestartPolicy", "KernelMemory", "OomKillDisable", "Devices", "Ulimits")}

AUTH = {"username": "str", "password": "str", "email": "str", "serveraddress": "str",
        "identitytoken": "str", "registrytoken": "str", "auth": "str"}

_NAMES = {"str": "a string", "int": "an integer", "bool": "a boolean", "num": "a number"}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _fail(path: str, expected: str, value: Any) -> HTTPError:
    return HTTPError(400, f"invalid {path}: expected {expected}, got {_kind(value)}")


def check(value: Any, kind: Any, path: str) -> None:
    """Raise a 400 naming the first field whose value is not of its declared type."""
    if value is None or kind == "any":
        return
    if isinstance(kind, str):
        ok = {"str": isinstance(value, str),
              "int": isinstance(value, int) and not isinstance(value, bool)
              or isinstance(value, float) and value.is_integer(),
              "bool": isinstance(value, bool),
              "num": isinstance(value, (int, float)) and not isinstance(value, bool),
              "strs": isinstance(value, str) or isinstance(value, list)
              and all(isinstance(v, str) for v in value)}[kind]
        if not ok:
            raise _fail(path, _NAMES.get(kind, "a string or a list of strings"), value)
        return
    if isinstance(kind, list):
        if not isinstance(value, list):
            raise _fail(path, "an array", value)
        for i, item in enumerate(value):
            check(item, kind[0], f"{path}[{i}]")
        return
    if isinstance(kind, set):
        if not isinstance(value, dict):
            raise _fail(path, "an object", value)
        [inner] = kind
        for key, item in value.items():
            check(item, inner, f"{path}.{key}")
        return
    if not isinstance(value, dict):
        raise _fail(path, "an object", value)
    if "*" in kind:  # a map whose values all have one type
        for key, item in value.items():
            check(item, kind["*"], f"{path}.{key}")
        return
    for key, item in value.items():
        if key in kind:
            check(item, kind[key], f"{path}.{key}" if path else key)


def body(value: Any, kind: dict[str, Any], what: str) -> dict[str, Any]:
    """A request body that must be a JSON object of `kind`."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise HTTPError(400, f"invalid {what}: expected a JSON object, got {_kind(value)}")
    check(value, kind, "")
    return value


# HostConfig fields that minidocker does not apply, and what a zero value looks like
UNUSED_HOST = ("Cgroup", "Links", "DeviceRequests", "KernelMemoryTCP", "CpuCount",
               "CpuPercent", "IOMaximumIOps", "IOMaximumBandwidth", "MaskedPaths",
               "ReadonlyPaths")
_DEFAULTS = {"IpcMode": ("", "private", "shareable"), "PidMode": ("",),
             "UTSMode": ("",), "UsernsMode": ("",), "Isolation": ("", "default"),
             "CgroupnsMode": ("", "private", "host"), "MemorySwappiness": (-1,),
             "OomKillDisable": (False,)}


def unused(create: dict[str, Any]) -> list[str]:
    """Warnings for the HostConfig fields the body sets that minidocker ignores."""
    host = create.get("HostConfig") or {}
    out = []
    for key in UNUSED_HOST:
        value = host.get(key)
        if value in (None, "", 0, [], {}, False) or value in _DEFAULTS.get(key, ()):
            continue
        out.append(f"HostConfig.{key} is not supported by minidocker and was ignored")
    return out
