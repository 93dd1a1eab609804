"""How the CLI shows the service layer's documents: the rows of `ps`, `images` and
`stats` with Docker's --format fields, and documents made ready for templates."""

from __future__ import annotations

from minidocker.cli.output import ago, quote_command

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

# keys whose values are Go maps in Docker's types (free-form: an absent key prints
# <no value> even with strict fields, see template.FreeMap)
GO_MAPS = frozenset(("Labels", "ExposedPorts", "Volumes", "Options", "DriverOpts", "Sysctls",
                     "Tmpfs", "Networks", "Ports", "Containers"))


# keys whose values are Go slices in Docker's types: a null one prints [] (not <no value>)
GO_SLICES = frozenset((
    "ExecIDs", "Cmd", "Entrypoint", "OnBuild", "Shell", "Env", "Test", "Binds", "CapAdd",
    "CapDrop", "Dns", "DnsOptions", "DnsSearch", "ExtraHosts", "GroupAdd", "Links",
    "SecurityOpt", "VolumesFrom", "Devices", "DeviceCgroupRules", "DeviceRequests",
    "Ulimits", "BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceWriteBps",
    "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "Mounts", "MaskedPaths", "ReadonlyPaths",
    "SecondaryIPAddresses", "SecondaryIPv6Addresses", "Aliases", "RepoTags", "RepoDigests",
    "Layers"))


class GoStruct(dict):
    """A document of Docker's typed structs whose Go field names differ from their JSON
    keys (ID is JSON's Id, APIVersion ApiVersion): Docker's --format reads both
    ({{.ID}} on the struct, {{.Id}} from the JSON it falls back to), and {{json .}} keeps
    the JSON's keys."""

    ALIASES = {"ID": "Id", "APIVersion": "ApiVersion"}

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or dict.__contains__(
            self, self.ALIASES.get(str(key), key))

    def __getitem__(self, key: Any) -> Any:
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        return dict.__getitem__(self, self.ALIASES.get(key, key))


def go_maps(doc: Any, key: str = "") -> Any:
    """`doc` with the dicts under GO_MAPS keys made FreeMaps, at any depth, and the nulls
    under GO_SLICES and GO_MAPS keys made nil slices and maps (they print [] and map[],
    as Docker's typed structs do)."""
    from minidocker.gotemplate import FreeMap, NilMap, NilSlice
    if doc is None:
        if key in GO_SLICES:
            return NilSlice()
        return NilMap() if key in GO_MAPS else None
    if isinstance(doc, dict):
        items = {k: go_maps(v, k) for k, v in doc.items()}
        if key in GO_MAPS:
            return FreeMap(items)
        return GoStruct(items) if "Id" in items or "ApiVersion" in items else items
    if isinstance(doc, list):
        return [go_maps(v) for v in doc]
    return doc


class ContainerRow:
    """One `ps` row from a container summary; properties are the --format fields
    ({{.ID}}, {{.Names}}, ...) as Docker's CLI computes them."""

    def __init__(self, summary: Mapping[str, Any], no_trunc: bool, now: float):
        self.summary = summary
        self.no_trunc = no_trunc
        self.now = now

    @property
    def ID(self) -> str:
        cid = str(self.summary["Id"])
        return cid if self.no_trunc else cid[:12]

    @property
    def Names(self) -> str:
        names = self.summary.get("Names") or []
        if len(names) == 1:
            return str(names[0]).lstrip("/")
        return ",".join(n.lstrip("/") for n in names)

    @property
    def Image(self) -> str:
        return str(self.summary.get("Image", ""))

    @property
    def Command(self) -> str:
        return quote_command(str(self.summary.get("Command", "")), trunc=not self.no_trunc)

    @property
    def CreatedAt(self) -> str:
        from minidocker.cli.output import go_time
        return go_time(self.summary.get("Created") or 0)

    @property
    def RunningFor(self) -> str:
        return ago(self.summary.get("Created") or 0, self.now)

    @property
    def Status(self) -> str:
        return str(self.summary.get("Status", ""))

    @property
    def State(self) -> str:
        return str(self.summary.get("State", ""))

    @property
    def Ports(self) -> str:
        """`0.0.0.0:8080->80/tcp, 53/udp` (exposed, unpublished)."""
        if not self.summary.get("Ports"):
            return ""
        items = []
        for p in self.summary.get("Ports") or []:
            port, proto = int(p["PrivatePort"]), str(p["Type"])
            text = f"{p['IP']}:{p['PublicPort']}->{port}/{proto}" if p.get("PublicPort") \
                else f"{port}/{proto}"
            items.append((port, proto, text))
        return ", ".join(text for _, _, text in sorted(items))

    @property
    def Size(self) -> str:
        if "SizeRw" not in self.summary:
            return ""
        from minidocker.units import human_size
        text = human_size(self.summary["SizeRw"], 3)
        if "SizeRootFs" in self.summary:  # as Docker's: "2B (virtual 1.24MB)"
            text += f" (virtual {human_size(self.summary['SizeRootFs'], 3)})"
        return text

    @property
    def Networks(self) -> str:
        return ",".join((self.summary.get("NetworkSettings") or {}).get("Networks") or {})

    @property
    def Mounts(self) -> str:
        return ",".join(m.get("Name") or m.get("Source", "")
                        for m in self.summary.get("Mounts") or [])

    @property
    def Labels(self) -> str:
        labels = self.summary.get("Labels") or {}
        return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))

    @property
    def LocalVolumes(self) -> str:
        return str(sum(1 for m in self.summary.get("Mounts") or [] if m.get("Type") == "volume"))

    def as_dict(self) -> dict[str, str]:
        """What `ps --format json` prints per container (Docker's keys)."""
        return {"Command": self.Command, "CreatedAt": self.CreatedAt, "ID": self.ID,
                "Image": self.Image, "Labels": self.Labels, "LocalVolumes": self.LocalVolumes,
                "Mounts": self.Mounts, "Names": self.Names, "Networks": self.Networks,
                "Ports": self.Ports, "RunningFor": self.RunningFor, "Size": self.Size,
                "State": self.State, "Status": self.Status}

    def Label(self, name: str) -> str:
        return str((self.summary.get("Labels") or {}).get(name, ""))
