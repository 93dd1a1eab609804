"""What the service layer shows of a record, in Docker's shapes: the inspect document,
the summary of GET /containers/json (what `ps` renders), and ps's filters."""

from __future__ import annotations

from minidocker import jsonfast
from minidocker.engine.index import (
    R_CEXTRAS,
    R_COMMAND,
    R_CREATED,
    R_EXIT,
    R_FINISHED,
    R_HEALTH,
    R_ID,
    R_IMAGE,
    R_IMAGE_ID,
    R_NAME,
    R_NETWORK,
    R_SEXTRAS,
    R_STARTED,
    R_STATUS,
    container_ports,
)
from minidocker.engine.networking import network_list
from minidocker.units import human_duration, status_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection
    from typing import Any

    from minidocker.engine.index import Entry, Row
    from minidocker.engine.records import Record


# Docker's HostConfig keys with the values dockerd shows when a flag was not given: the
# record keeps what was asked, inspect shows every key as Docker does
HOST_DEFAULTS: dict[str, Any] = {
    "Binds": None, "ContainerIDFile": "", "LogConfig": {"Type": "json-file", "Config": {}},
    "NetworkMode": "bridge", "PortBindings": {}, "RestartPolicy": {"Name": "no",
                                                                  "MaximumRetryCount": 0},
    "AutoRemove": False, "VolumeDriver": "", "VolumesFrom": None, "CapAdd": None,
    "CapDrop": None, "CgroupnsMode": "private", "Dns": [], "DnsOptions": [],
    "DnsSearch": [], "ExtraHosts": None, "GroupAdd": None, "IpcMode": "private",
    "Cgroup": "", "Links": None, "OomScoreAdj": 0, "PidMode": "", "Privileged": False,
    "PublishAllPorts": False, "ReadonlyRootfs": False, "SecurityOpt": None, "UTSMode": "",
    "UsernsMode": "", "ShmSize": 67108864, "Runtime": "minidocker", "ConsoleSize": [0, 0],
    "Isolation": "", "CpuShares": 0, "Memory": 0, "NanoCpus": 0, "CgroupParent": "",
    "BlkioWeight": 0, "BlkioWeightDevice": [], "BlkioDeviceReadBps": None,
    "BlkioDeviceWriteBps": None, "BlkioDeviceReadIOps": None, "BlkioDeviceWriteIOps": None,
    "CpuPeriod": 0, "CpuQuota": 0, "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0,
    "CpusetCpus": "", "CpusetMems": "", "Devices": [], "DeviceCgroupRules": None,
    "DeviceRequests": None, "KernelMemory": 0, "KernelMemoryTCP": 0,
    "MemoryReservation": 0, "MemorySwap": 0, "MemorySwappiness": None,
    "OomKillDisable": False, "PidsLimit": None, "Ulimits": None, "CpuCount": 0,
    "CpuPercent": 0, "IOMaximumIOps": 0, "IOMaximumBandwidth": 0,
}


def host_config(config: dict[str, Any]) -> dict[str, Any]:
    """The record's HostConfig with every key Docker shows (MaskedPaths and
    ReadonlyPaths as the container has them)."""
    asked = {k: v for k, v in (config.get("HostConfig") or {}).items() if v is not None}
    host = {**HOST_DEFAULTS, **asked}
    for key in ("ShmSize", "IpcMode", "CgroupnsMode", "Runtime", "LogConfig",
                "RestartPolicy"):  # empty in a create body: the default, as dockerd fills it
        if not host.get(key):
            host[key] = HOST_DEFAULTS[key]
    if host["Privileged"]:
        host.setdefault("MaskedPaths", None)
        host.setdefault("ReadonlyPaths", None)
    else:
        from minidocker.runtime.defaults import DOCKER_READONLY_PATHS, docker_masked_paths
        host.setdefault("MaskedPaths", docker_masked_paths())
        host.setdefault("ReadonlyPaths", list(DOCKER_READONLY_PATHS))
    return host


def inspect_doc(record: Record, state: dict[str, Any]) -> dict[str, Any]:
    config = record.config
    status = state.get("Status", "created")
    cfg = dict(config.get("Config") or {})
    cfg["Labels"] = dict(cfg.get("Labels") or {})
    host = host_config(config)
    mounts = mount_points(config)
    network_mode = host.get("NetworkMode", "none")
    return {
        "Id": record.id,
        "Created": config.get("Created"),
        "Path": config.get("Path"),
        "Args": config.get("Args") or [],
        "State": {
            "Status": status,
            "Running": status in ("running", "paused", "restarting"),
            "Paused": status == "paused",
            "Restarting": status == "restarting",
            "OOMKilled": bool(state.get("OOMKilled")),
            "Dead": status == "dead",
            "Pid": int(state.get("Pid") or 0) if status in ("running", "paused") else 0,
            "ExitCode": int(state.get("ExitCode") or 0),
            "Error": state.get("Error", ""),
            "StartedAt": state.get("StartedAt"),
            "FinishedAt": state.get("FinishedAt"),
            **({"Health": state["Health"]} if state.get("Health") and
               (config.get("Config") or {}).get("Healthcheck") else {}),
        },
        "Image": config.get("Image"),
        "ResolvConfPath": record.path("resolv.conf"),
        "HostnamePath": record.path("hostname"),
        "HostsPath": record.path("hosts"),
        "LogPath": record.path(record.id + "-json.log"),
        "Name": config.get("Name"),
        "RestartCount": int(state.get("RestartCount") or 0),
        "Driver": "overlay2",  # Docker's name for this layout (overlayfs, multi-lower)
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "HostConfig": host,
        "GraphDriver": {"Name": "overlay2", "Data": {
            "LowerDir": ":".join(config.get("Lowers") or []),
            "UpperDir": record.path("upper"), "WorkDir": record.path("work"),
            "MergedDir": record.path("rootfs")}},
        "Mounts": mounts,
        "Config": cfg,
        "NetworkSettings": network_settings(record, network_mode,
                                            status in ("running", "paused")),
    }


def network_settings(record: Record, mode: str, running: bool) -> dict[str, Any]:
    """Docker's NetworkSettings, from the endpoints copied into the record's state."""
    from minidocker.engine.networking import settings_doc
    return settings_doc(record.config, record.state if running else {})


def mount_points(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Docker's MountPoint list (inspect's Mounts, and the summary's)."""
    return [{"Type": m.get("Type"), "Name": m.get("Name", ""), "Source": m.get("Source", ""),
             "Destination": m.get("Destination"), "Driver": m.get("Driver", ""),
             "Mode": "" if m.get("Type") != "bind" else ("rw" if m.get("RW", True) else "ro"),
             "RW": bool(m.get("RW", True)), "Propagation": "rprivate"
             if m.get("Type") == "bind" else ""}
            for m in config.get("Mounts") or []]


def summary(record: Record, state: dict[str, Any], now: float) -> dict[str, Any]:
    """One entry of GET /containers/json (what `ps` shows): Docker's keys, the Status
    line as the daemon words it at `now`."""
    from minidocker.engine.index import Entry, row_of
    return summary_of(Entry(row_of(record.id, record.config, state)), now)


_EMPTY: dict[str, Any] = {}
# Docker's keys of a summary, in its order
SUMMARY_KEYS = ("Id", "State", "Names", "Image", "Command", "Created", "Status", "Ports",
                "ImageID", "Labels", "HostConfig", "NetworkSettings", "Mounts")
RUNNING = ("running", "paused", "restarting")


def summary_of(entry: Entry, now: float, keys: Collection[str] = SUMMARY_KEYS
               ) -> dict[str, Any]:
    """summary() from a record's index entry (engine/index.py): only `keys` of it."""
    columns = summary_columns([entry.row], now, keys)
    return {key: values[0] for key, values in columns.items()}


def summary_columns(rows: list[Row], now: float, keys: Collection[str] = SUMMARY_KEYS
                    ) -> dict[str, list[Any]]:
    """The summaries of index rows (engine/index.py), column by column: key -> the values
    of the rows, in Docker's key order, only `keys` (and Id). What `ps` lists of 10,000
    records without opening them: each column made in a pass over the rows; the extras
    (JSON) read only for the rows and keys that need them."""
    out: dict[str, list[Any]] = {"Id": [row[R_ID] for row in rows]}
    if "State" in keys:
        out["State"] = [row[R_STATUS] or "created" for row in rows]
    if "Names" in keys:
        out["Names"] = [["/" + row[R_NAME]] for row in rows]
    if "Image" in keys:
        out["Image"] = [row[R_IMAGE] for row in rows]
    if "Command" in keys:
        out["Command"] = [row[R_COMMAND] for row in rows]
    if "Created" in keys:
        out["Created"] = [int(float(row[R_CREATED])) for row in rows]
    if "Status" in keys:
        hd = human_duration  # the most common line worded here, _status the others
        out["Status"] = [
            f"Exited ({row[R_EXIT]}) {hd(now - finished)} ago"
            if row[R_STATUS] == "exited" and (finished := float(row[R_FINISHED])) and
            float(row[R_STARTED]) else _status(row, now) for row in rows]
    if "Ports" in keys:
        out["Ports"] = [_ports(row) if row[R_STATUS] in RUNNING else [] for row in rows]
    if "ImageID" in keys:
        out["ImageID"] = [row[R_IMAGE_ID] for row in rows]
    if "Labels" in keys:
        out["Labels"] = [dict(_extras(row, R_CEXTRAS).get("Labels") or _EMPTY)
                         for row in rows]
    if "HostConfig" in keys:
        out["HostConfig"] = [{"NetworkMode": row[R_NETWORK] or "bridge"} for row in rows]
    if "NetworkSettings" in keys:
        out["NetworkSettings"] = [_network_settings(row) for row in rows]
    if "Mounts" in keys:
        out["Mounts"] = [mount_points(c) if (c := _extras(row, R_CEXTRAS)).get("Mounts")
                         else [] for row in rows]
    return out


def _extras(row: Row, field: int) -> dict[str, Any]:
    text = row[field]
    return jsonfast.loads(text) if text else _EMPTY


def _status(row: Row, now: float) -> str:
    """The Status line of a row (units.status_text)."""
    status = row[R_STATUS] or "created"
    health = row[R_HEALTH]
    if health and not _extras(row, R_CEXTRAS).get("Healthcheck"):
        health = ""
    return status_text(status, exit_code=int(row[R_EXIT]),
                       started_at=float(row[R_STARTED]) or None,
                       finished_at=float(row[R_FINISHED]) or None,
                       health=health or None, now=now)


def _live_networks(row: Row) -> dict[str, Any]:
    if row[R_STATUS] not in RUNNING:
        return _EMPTY
    return _extras(row, R_SEXTRAS).get("Networks") or _EMPTY


def _ports(row: Row) -> list[dict[str, Any]]:
    """A running container's ports: the published ones, then the exposed ones."""
    ports = [{"IP": p["HostIp"], "PrivatePort": int(p["ContainerPort"]),
              "PublicPort": int(p["HostPort"]), "Type": p["Proto"]}
             for doc in _live_networks(row).values() for p in doc.get("Ports") or []]
    done = {(p["PrivatePort"], p["Type"]) for p in ports}
    for key in _extras(row, R_CEXTRAS).get("ExposedPorts") or _EMPTY:
        port, _, proto = key.partition("/")
        if port.isdigit() and (int(port), proto or "tcp") not in done:
            ports.append({"PrivatePort": int(port), "Type": proto or "tcp"})
    return ports


def _network_settings(row: Row) -> dict[str, Any]:
    c_extras = _extras(row, R_CEXTRAS)
    live = _live_networks(row)
    names = network_list(row[R_NETWORK], c_extras.get("NetworkFallback"),
                         c_extras.get("NetworkingConfig"))
    return {"Networks": {
        name: {k: v for k, v in live[name].items() if k != "Ports"} if name in live else {}
        for name in names}}


def matches(record: Record | Entry, state: dict[str, Any],
            filters: list[tuple[str, str]]) -> bool:
    """Docker's ps filters: the same key ORs, different keys AND; but every label
    filter must hold (label=a and label=b: both labels), as Docker's."""
    return _matches(record, state, _by_key(filters))


def filter_rows(rows: list[Row], filters: list[tuple[str, str]]) -> list[Row]:
    """The index rows that matches() keeps: status= read off the rows (`ps -a -f
    status=exited` of 10,000), the other keys from each row's entry."""
    from minidocker.engine.index import Entry
    by_key = _by_key(filters)
    statuses = set(by_key.pop("status", ()))
    if statuses:
        rows = [row for row in rows if row[R_STATUS] in statuses]
    if by_key:
        rows = [row for row in rows if _matches(entry := Entry(row), entry.state, by_key)]
    return rows


def _by_key(filters: list[tuple[str, str]]) -> dict[str, list[str]]:
    by_key: dict[str, list[str]] = {}
    for key, value in filters:
        by_key.setdefault(key, []).append(value)
    return by_key


def _matches(record: Record | Entry, state: dict[str, Any], by_key: dict[str, list[str]]
             ) -> bool:
    for key, values in by_key.items():
        hits = (_match_one(record, state, key, v) for v in values)
        if not (all(hits) if key == "label" else any(hits)):
            return False
    return True


def _match_one(record: Record | Entry, state: dict[str, Any], key: str, value: str) -> bool:
    if key == "status":
        return state.get("Status") == value
    if key == "name":
        import re
        try:
            return re.search(value, record.name) is not None
        except re.error:
            return value in record.name
    if key == "id":
        return record.id.startswith(value)
    if key == "label":
        labels = record.config["Config"].get("Labels") or {}
        k, sep, v = value.partition("=")
        return k in labels and (not sep or labels[k] == v)
    if key == "exited":
        return state.get("Status") == "exited" and str(state.get("ExitCode")) == value
    if key == "ancestor":
        return record.config["Config"].get("Image") == value or \
            str(record.config.get("Image", "")).startswith(value)
    if key == "volume":
        return any(m.get("Name") == value or m.get("Destination") == value
                   for m in record.config.get("Mounts") or [])
    if key == "network":
        from minidocker.engine.networking import network_names
        return value in network_names(record.config, state).split(",")
    if key == "health":  # Docker's "none": no health check
        return ((state.get("Health") or {}).get("Status") or "none") == value
    if key in ("expose", "publish"):  # container ports, as Docker's: exposed or bound
        if key == "expose":
            ports = record.config["Config"].get("ExposedPorts") or {}
        else:
            ports = set(container_ports(record.config["HostConfig"].get("PortBindings") or []))
        return bool(ports) and any(p in ports for p in port_filter(key, value))
    from minidocker.errors import UsageError
    raise UsageError(f"invalid filter '{key}'")


STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


HEALTH_STATUSES = ("starting", "healthy", "unhealthy", "none")


def port_filter(key: str, value: str) -> list[str]:
    """The container ports of an expose= or publish= filter value (Docker's): PORT,
    PORT/PROTO or FIRST-LAST[/PROTO], tcp when no protocol is given."""
    from minidocker.errors import UsageError
    if ":" in value:
        raise UsageError(f"filter for '{key}' should not contain ':': {value}")
    port, _, proto = value.partition("/")
    first, dash, last = port.partition("-")
    try:
        low = int(first)
        high = int(last) if dash else low
    except ValueError:
        raise UsageError(f"error while looking up for {key} {port}: invalid port "
                         f"range: {port}") from None
    if not 0 <= low <= high <= 65535:
        raise UsageError(f"error while looking up for {key} {port}: invalid port "
                         f"range: {port}")
    return [f"{p}/{proto or 'tcp'}" for p in range(low, high + 1)]
