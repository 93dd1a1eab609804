"""What the commands show of a record: Docker's inspect document and ps rows."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from minidocker.engine.records import Record


def inspect_doc(record: Record, state: dict[str, Any]) -> dict[str, Any]:
    config = record.config
    status = state.get("Status", "created")
    from minidocker.cli.template import FreeMap
    cfg = dict(config.get("Config") or {})
    cfg["Labels"] = FreeMap(cfg.get("Labels") or {})
    host = dict(config.get("HostConfig") or {})
    mounts = [{"Type": m.get("Type"), "Name": m.get("Name", ""), "Source": m.get("Source", ""),
               "Destination": m.get("Destination"), "Driver": m.get("Driver", ""),
               "Mode": "" if m.get("Type") != "bind" else ("rw" if m.get("RW", True) else "ro"),
               "RW": bool(m.get("RW", True)), "Propagation": "rprivate"
               if m.get("Type") == "bind" else ""}
              for m in config.get("Mounts") or []]
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


class Row:
    """One `ps` row; properties are the --format fields ({{.ID}}, {{.Names}}, ...)."""

    def __init__(self, record: Record, state: dict[str, Any], no_trunc: bool, now: float):
        self.record = record
        self.state = state
        self.no_trunc = no_trunc
        self.now = now

    @property
    def ID(self) -> str:
        return self.record.id if self.no_trunc else self.record.id[:12]

    @property
    def Names(self) -> str:
        return self.record.name

    @property
    def Image(self) -> str:
        return str(self.record.config["Config"].get("Image", ""))

    @property
    def Command(self) -> str:
        config = self.record.config
        cmd = " ".join([config.get("Path") or ""] + list(config.get("Args") or []))
        if self.no_trunc:
            from minidocker.cli.template import go_quote
            return go_quote(cmd)
        from minidocker.cli.output import quote_command
        return quote_command(cmd)

    @property
    def CreatedAt(self) -> str:
        from minidocker.cli.output import go_time
        from minidocker.engine.records import parse_time
        return go_time(parse_time(self.record.config.get("Created", "")))

    @property
    def RunningFor(self) -> str:
        from minidocker.cli.output import ago
        from minidocker.engine.records import parse_time
        return ago(parse_time(self.record.config.get("Created", "")), self.now)

    @property
    def Status(self) -> str:
        from minidocker.cli.output import status_text
        from minidocker.engine.records import parse_time
        st = self.state
        started = parse_time(st.get("StartedAt", ""))
        finished = parse_time(st.get("FinishedAt", ""))
        health = (st.get("Health") or {}).get("Status") \
            if (self.record.config.get("Config") or {}).get("Healthcheck") else None
        return status_text(st.get("Status", "created"), exit_code=int(st.get("ExitCode") or 0),
                           started_at=started or None, finished_at=finished or None,
                           health=health, now=self.now)

    @property
    def State(self) -> str:
        return str(self.state.get("Status", "created"))

    @property
    def Ports(self) -> str:
        from minidocker.engine.networking import ports_text
        return ports_text(self.record.config, self.state)

    @property
    def Size(self) -> str:
        return ""

    @property
    def Networks(self) -> str:
        from minidocker.engine.networking import network_names
        return network_names(self.record.config, self.state)

    @property
    def Mounts(self) -> str:
        return ",".join(m.get("Name") or m.get("Source", "")
                        for m in self.record.config.get("Mounts") or [])

    @property
    def Labels(self) -> str:
        labels = self.record.config["Config"].get("Labels") or {}
        return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))

    def as_dict(self) -> dict[str, str]:
        """What `ps --format json` prints per container (Docker's keys)."""
        return {"Command": self.Command, "CreatedAt": self.CreatedAt, "ID": self.ID,
                "Image": self.Image, "Labels": self.Labels, "LocalVolumes": str(sum(
                    1 for m in self.record.config.get("Mounts") or []
                    if m.get("Type") == "volume")), "Mounts": self.Mounts,
                "Names": self.Names, "Networks": self.Networks, "Ports": self.Ports,
                "RunningFor": self.RunningFor, "Size": self.Size, "State": self.State,
                "Status": self.Status}

    def Label(self, name: str) -> str:
        return str((self.record.config["Config"].get("Labels") or {}).get(name, ""))


def matches(record: Record, state: dict[str, Any], filters: list[tuple[str, str]]) -> bool:
    """Docker's ps filters: the same key ORs, different keys AND."""
    by_key: dict[str, list[str]] = {}
    for key, value in filters:
        by_key.setdefault(key, []).append(value)
    for key, values in by_key.items():
        if not any(_match_one(record, state, key, v) for v in values):
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
