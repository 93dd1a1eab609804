"""What the service layer shows of a record, in Docker's shapes: the inspect document,
the summary of GET /containers/json (what `ps` renders), and ps's filters."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from minidocker.engine.records import Record


def inspect_doc(record: Record, state: dict[str, Any]) -> dict[str, Any]:
    config = record.config
    status = state.get("Status", "created")
    cfg = dict(config.get("Config") or {})
    cfg["Labels"] = dict(cfg.get("Labels") or {})
    host = dict(config.get("HostConfig") or {})
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
        "Driver": "overlay",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "HostConfig": host,
        "GraphDriver": {"Name": "overlay", "Data": {
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
    from minidocker.units import parse_time, status_text
    config = record.config
    cfg = config.get("Config") or {}
    status = str(state.get("Status", "created"))
    started = parse_time(state.get("StartedAt", ""))
    finished = parse_time(state.get("FinishedAt", ""))
    health = (state.get("Health") or {}).get("Status") if cfg.get("Healthcheck") else None
    running = status in ("running", "paused", "restarting")
    from minidocker.engine.networking import network_names, published
    ports: list[dict[str, Any]] = [
        {"IP": hip, "PrivatePort": cport, "PublicPort": hport, "Type": proto}
        for hip, hport, cport, proto in published(state)]
    if running:
        done = {(p["PrivatePort"], p["Type"]) for p in ports}
        for key in cfg.get("ExposedPorts") or {}:
            port, _, proto = key.partition("/")
            if port.isdigit() and (int(port), proto or "tcp") not in done:
                ports.append({"PrivatePort": int(port), "Type": proto or "tcp"})
    live = state.get("Networks") or {} if running else {}
    networks = {name: {k: v for k, v in (live.get(name) or {}).items() if k != "Ports"}
                for name in network_names(config, state).split(",") if name}
    return {
        "Id": record.id,
        "Names": ["/" + record.name],
        "Image": str(cfg.get("Image", "")),
        "ImageID": str(config.get("Image", "")),
        "Command": " ".join([config.get("Path") or ""] + list(config.get("Args") or [])),
        "Created": int(parse_time(config.get("Created", ""))),
        "Ports": ports,
        "Labels": dict(cfg.get("Labels") or {}),
        "State": status,
        "Status": status_text(status, exit_code=int(state.get("ExitCode") or 0),
                              started_at=started or None, finished_at=finished or None,
                              health=health, now=now),
        "HostConfig": {"NetworkMode": str((config.get("HostConfig") or {}).get(
            "NetworkMode") or "bridge")},
        "NetworkSettings": {"Networks": networks},
        "Mounts": mount_points(config),
    }


def matches(record: Record, state: dict[str, Any], filters: list[tuple[str, str]]) -> bool:
    """Docker's ps filters: the same key ORs, different keys AND; but every label
    filter must hold (label=a and label=b: both labels), as Docker's."""
    by_key: dict[str, list[str]] = {}
    for key, value in filters:
        by_key.setdefault(key, []).append(value)
    for key, values in by_key.items():
        hits = (_match_one(record, state, key, v) for v in values)
        if not (all(hits) if key == "label" else any(hits)):
            return False
    return True


def _match_one(record: Record, state: dict[str, Any], key: str, value: str) -> bool:
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
    from minidocker.errors import UsageError
    raise UsageError(f"invalid filter '{key}'")


STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")
