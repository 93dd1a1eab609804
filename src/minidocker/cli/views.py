"""How the CLI shows the service layer's documents: the rows of `ps`, `images` and
`stats` with Docker's --format fields, and documents made ready for templates."""

from __future__ import annotations

from minidocker.cli.output import ago, quote_command

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    CellColumns = Callable[[dict[str, list[Any]], bool, float], list[str]]

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


# ---- ps: a row's fields, each from the summary's values (one function per field, used by
# ContainerRow for one row and by container_cells for a column of 10,000)


def _id_cell(cid: Any, no_trunc: bool) -> str:
    return str(cid) if no_trunc else str(cid)[:12]


def _names_cell(names: Any) -> str:
    names = names or []
    if len(names) == 1:
        return str(names[0]).lstrip("/")
    return ",".join(n.lstrip("/") for n in names)


def _ports_cell(ports: Any) -> str:
    """`0.0.0.0:8080->80/tcp, 53/udp` (exposed, unpublished)."""
    if not ports:
        return ""
    items = []
    for p in ports:
        port, proto = int(p["PrivatePort"]), str(p["Type"])
        text = f"{p['IP']}:{p['PublicPort']}->{port}/{proto}" if p.get("PublicPort") \
            else f"{port}/{proto}"
        items.append((port, proto, text))
    return ", ".join(text for _, _, text in sorted(items))


def _size_cell(rw: Any, rootfs: Any) -> str:
    if rw is None:
        return ""
    from minidocker.units import human_size
    text = human_size(rw, 3)
    if rootfs is not None:  # as Docker's: "2B (virtual 1.24MB)"
        text += f" (virtual {human_size(rootfs, 3)})"
    return text


def _created_at_cell(created: Any) -> str:
    from minidocker.cli.output import go_time
    return go_time(created or 0)


def _networks_cell(settings: Any) -> str:
    return ",".join((settings or {}).get("Networks") or {})


def _mounts_cell(mounts: Any) -> str:
    return ",".join(m.get("Name") or m.get("Source", "") for m in mounts or [])


def _labels_cell(labels: Any) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items()))


def _local_volumes_cell(mounts: Any) -> str:
    return str(sum(1 for m in mounts or [] if m.get("Type") == "volume"))


class ContainerRow:
    """One `ps` row from a container summary; properties are the --format fields
    ({{.ID}}, {{.Names}}, ...) as Docker's CLI computes them."""

    def __init__(self, summary: Mapping[str, Any], no_trunc: bool, now: float):
        self.summary = summary
        self.no_trunc = no_trunc
        self.now = now

    @property
    def ID(self) -> str:
        return _id_cell(self.summary["Id"], self.no_trunc)

    @property
    def Names(self) -> str:
        return _names_cell(self.summary.get("Names"))

    @property
    def Image(self) -> str:
        return str(self.summary.get("Image", ""))

    @property
    def Command(self) -> str:
        return quote_command(str(self.summary.get("Command", "")), trunc=not self.no_trunc)

    @property
    def CreatedAt(self) -> str:
        return _created_at_cell(self.summary.get("Created"))

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
        return _ports_cell(self.summary.get("Ports"))

    @property
    def Size(self) -> str:
        return _size_cell(self.summary.get("SizeRw"), self.summary.get("SizeRootFs"))

    @property
    def Networks(self) -> str:
        return _networks_cell(self.summary.get("NetworkSettings"))

    @property
    def Mounts(self) -> str:
        return _mounts_cell(self.summary.get("Mounts"))

    @property
    def Labels(self) -> str:
        return _labels_cell(self.summary.get("Labels"))

    @property
    def LocalVolumes(self) -> str:
        return _local_volumes_cell(self.summary.get("Mounts"))

    def as_dict(self) -> dict[str, str]:
        """What `ps --format json` prints per container (Docker's keys)."""
        return {"Command": self.Command, "CreatedAt": self.CreatedAt, "ID": self.ID,
                "Image": self.Image, "Labels": self.Labels, "LocalVolumes": self.LocalVolumes,
                "Mounts": self.Mounts, "Names": self.Names, "Networks": self.Networks,
                "Ports": self.Ports, "RunningFor": self.RunningFor, "Size": self.Size,
                "State": self.State, "Status": self.Status}

    def Label(self, name: str) -> str:
        return str((self.summary.get("Labels") or {}).get(name, ""))


class _Memo(dict["Any", str]):
    """A cell function remembered by its value: thousands of rows share a command, an
    age, a status."""

    def __init__(self, cell: Callable[[Any], str]):
        super().__init__()
        self.cell = cell

    def __missing__(self, value: Any) -> str:
        text = self[value] = self.cell(value)
        return text


def _each(values: list[Any], cell: Callable[[Any], str]) -> list[str]:
    return [cell(value) for value in values]


def _memo(values: list[Any], cell: Callable[[Any], str]) -> list[str]:
    return list(map(_Memo(cell).__getitem__, values))


def _str(values: list[Any]) -> list[str]:
    """str() of each value (the summaries' texts are str already: the list itself)."""
    if all(type(value) is str for value in values):
        return values
    return [str(value) for value in values]


# field -> the summary's keys it reads, and its cells from their columns
CONTAINER_FIELDS: dict[str, tuple[tuple[str, ...], CellColumns]] = {
    "ID": (("Id",), lambda c, no_trunc, now: c["Id"] if no_trunc else
           [cid[:12] for cid in c["Id"]]),
    "Names": (("Names",), lambda c, no_trunc, now: [
        names[0].lstrip("/") if len(names) == 1 else _names_cell(names)
        for names in c["Names"]]),
    "Image": (("Image",), lambda c, no_trunc, now: _str(c["Image"])),
    "Command": (("Command",), lambda c, no_trunc, now: _memo(
        _str(c["Command"]), lambda cmd: quote_command(cmd, trunc=not no_trunc))),
    "CreatedAt": (("Created",), lambda c, no_trunc, now: _memo(c["Created"],
                                                              _created_at_cell)),
    "RunningFor": (("Created",), lambda c, no_trunc, now: _memo(
        c["Created"], lambda created: ago(created or 0, now))),
    "Status": (("Status",), lambda c, no_trunc, now: _str(c["Status"])),
    "State": (("State",), lambda c, no_trunc, now: _str(c["State"])),
    "Ports": (("Ports",), lambda c, no_trunc, now: [_ports_cell(p) if p else ""
                                                    for p in c["Ports"]]),
    "Size": (("SizeRw", "SizeRootFs"), lambda c, no_trunc, now: [
        _size_cell(rw, rootfs) for rw, rootfs in zip(
            c.get("SizeRw") or [None] * len(c["Id"]),
            c.get("SizeRootFs") or [None] * len(c["Id"]), strict=True)]),
    "Networks": (("NetworkSettings",), lambda c, no_trunc, now: _each(
        c["NetworkSettings"], _networks_cell)),
    "Mounts": (("Mounts",), lambda c, no_trunc, now: _each(c["Mounts"], _mounts_cell)),
    "Labels": (("Labels",), lambda c, no_trunc, now: _each(c["Labels"], _labels_cell)),
    "LocalVolumes": (("Mounts",), lambda c, no_trunc, now: _each(c["Mounts"],
                                                                 _local_volumes_cell)),
}


def container_keys(fields: list[str]) -> tuple[str, ...] | None:
    """The summary keys that `ps` fields read (None: a field that is not a plain one)."""
    if not all(field in CONTAINER_FIELDS for field in fields):
        return None
    return tuple({key: 0 for field in fields for key in CONTAINER_FIELDS[field][0]})


def container_cells(columns: dict[str, list[Any]], fields: list[str], no_trunc: bool,
                    now: float) -> list[list[str]]:
    """ContainerRow's fields of summaries given column by column (containers.ls_columns):
    one list of texts per field, the same texts as each row's property, made a column at
    a time (10,000 rows: no object per row, a command or an age worded once)."""
    return [CONTAINER_FIELDS[field][1](columns, no_trunc, now) for field in fields]
