"""The shapes the service layer takes and returns, as TypedDicts that mirror Docker
Engine API 1.41's JSON (the keys are Docker's). For type checkers only: the functions
take and return plain dicts and lists, so nothing imports this module at run time
(`typing` costs the CLI's start-up)."""

from __future__ import annotations

from typing import Any, TypedDict


class HostConfig(TypedDict, total=False):
    Binds: list[str]                 # -v SRC:DST[:OPTS] strings
    Mounts: list[dict[str, Any]]     # {Type, Source, Target, ReadOnly, TmpfsOptions, ...}
    PortBindings: dict[str, list[dict[str, str]]] | list[str]  # Docker's map, or -p specs
    PublishAllPorts: bool
    NetworkMode: str
    RestartPolicy: dict[str, Any]    # {Name, MaximumRetryCount}
    AutoRemove: bool
    Privileged: bool
    ReadonlyRootfs: bool
    CapAdd: list[str]
    CapDrop: list[str]
    SecurityOpt: list[str]
    Dns: list[str]
    DnsSearch: list[str]
    DnsOptions: list[str]
    ExtraHosts: list[str]
    Init: bool
    Runtime: str
    Tmpfs: dict[str, str]
    Ulimits: list[dict[str, Any]]    # {Name, Soft, Hard}
    Sysctls: dict[str, str]
    Memory: int
    MemorySwap: int
    NanoCpus: int
    CpuShares: int
    CpusetCpus: str
    PidsLimit: int | None
    OomScoreAdj: int
    LogConfig: dict[str, Any]        # {Type, Config}


class CreateBody(TypedDict, total=False):
    """POST /containers/create: the container's Config with HostConfig and
    NetworkingConfig (the name is an argument, as Docker's `name` query parameter)."""
    Image: str
    Cmd: list[str] | None
    Entrypoint: list[str] | None
    Env: list[str]
    WorkingDir: str
    User: str
    Hostname: str
    Tty: bool
    OpenStdin: bool
    AttachStdin: bool
    AttachStdout: bool
    AttachStderr: bool
    Labels: dict[str, str]
    StopSignal: str
    StopTimeout: int
    Healthcheck: dict[str, Any]
    ExposedPorts: dict[str, dict[str, Any]]
    HostConfig: HostConfig
    NetworkingConfig: dict[str, Any]  # {EndpointsConfig: {NETWORK: {Aliases, IPAMConfig}}}


class CreateResponse(TypedDict):
    Id: str
    Warnings: list[str]


class Port(TypedDict, total=False):
    IP: str
    PrivatePort: int
    PublicPort: int
    Type: str


class ContainerSummary(TypedDict, total=False):
    """One entry of GET /containers/json."""
    Id: str
    Names: list[str]
    Image: str
    ImageID: str
    Command: str
    Created: int                     # seconds since the epoch
    Ports: list[Port]
    Labels: dict[str, str]
    State: str
    Status: str                      # "Up 5 minutes", "Exited (0) 3 seconds ago"
    HostConfig: dict[str, str]       # {NetworkMode}
    NetworkSettings: dict[str, Any]  # {Networks: {NAME: endpoint}}
    Mounts: list[dict[str, Any]]
    SizeRw: int
    SizeRootFs: int


class WaitResponse(TypedDict):
    StatusCode: int
    Error: dict[str, str] | None


class TopResponse(TypedDict):
    Titles: list[str]
    Processes: list[list[str]]


class Change(TypedDict):
    Path: str
    Kind: int                        # 0 modified, 1 added, 2 deleted


class PathStat(TypedDict):
    """X-Docker-Container-Path-Stat of GET/HEAD /containers/{id}/archive."""
    name: str
    size: int
    mode: int                        # Go's os.FileMode bits
    mtime: str
    linkTarget: str


class LogEntry(TypedDict):
    """One entry of the json-file log."""
    log: str
    stream: str                      # "stdout" or "stderr"
    time: str                        # RFC 3339 with nanoseconds


class ExecConfig(TypedDict, total=False):
    """POST /containers/{id}/exec."""
    Cmd: list[str]
    Env: list[str]
    WorkingDir: str
    User: str
    Privileged: bool
    Tty: bool
    AttachStdin: bool
    AttachStdout: bool
    AttachStderr: bool
    DetachKeys: str


class ExecInspect(TypedDict, total=False):
    ID: str
    ContainerID: str
    Running: bool
    ExitCode: int | None
    Pid: int
    OpenStdin: bool
    OpenStdout: bool
    OpenStderr: bool
    CanRemove: bool
    DetachKeys: str
    ProcessConfig: dict[str, Any]    # {tty, entrypoint, arguments, privileged, user}


class PruneReport(TypedDict, total=False):
    ContainersDeleted: list[str]
    ImagesDeleted: list[dict[str, str]]   # {Untagged: ref} or {Deleted: id}
    VolumesDeleted: list[str]
    NetworksDeleted: list[str]
    SpaceReclaimed: int


class Event(TypedDict, total=False):
    """One line of <root>/events.jsonl, as GET /events streams it."""
    Type: str
    Action: str
    Actor: dict[str, Any]            # {ID, Attributes}
    id: str
    status: str
    From: str
    scope: str
    time: int
    timeNano: int
