"""A container's resource usage as Docker's stats document (GET /containers/{id}/stats):
the cgroup's counters (the runtime's manager, in libcontainer's shape: CPU in ns, memory
and block I/O in bytes), the host's CPU time, and the network counters of the init's
network namespace."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from minidocker.engine.records import Record

_NS_PER_TICK = 10**9 // 100  # USER_HZ: /proc/stat counts in 1/100 s


def sample(record: Record, state: dict[str, Any]) -> dict[str, Any]:
    """One sample; precpu_stats empty (the caller fills it from the sample before)."""
    from minidocker.engine.records import now
    cg: dict[str, Any] = {}
    running = state.get("Status") in ("running", "paused", "restarting")
    if running:
        from minidocker.engine.liveness import runtime_of
        try:
            manager = runtime_of(record).cgroup(record.id)
            cg = manager.stats() if manager is not None else {}
        except Exception:  # noqa: BLE001 - a container going away while we read
            cg = {}
    cpu = cg.get("cpu") or {}
    usage = cpu.get("usage") or {}
    throttling = cpu.get("throttling") or {}
    memory = cg.get("memory") or {}
    mem_usage = memory.get("usage") or {}
    raw = memory.get("raw") or {}
    pids = cg.get("pids") or {}
    blkio = cg.get("blkio") or {}
    online = len(os.sched_getaffinity(0)) or 1
    return {
        "id": record.id,
        "name": "/" + record.name,
        "read": now(),
        "preread": "0001-01-01T00:00:00Z",
        "pids_stats": {"current": int(pids.get("current") or 0),
                       **({"limit": int(pids["limit"])} if pids.get("limit") else {})},
        "blkio_stats": {
            "io_service_bytes_recursive": _entries(blkio.get("ioServiceBytesRecursive")),
            "io_serviced_recursive": _entries(blkio.get("ioServicedRecursive"))},
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": {
            "cpu_usage": {"total_usage": int(usage.get("total") or 0),
                          "usage_in_kernelmode": int(usage.get("kernel") or 0),
                          "usage_in_usermode": int(usage.get("user") or 0),
                          **({"percpu_usage": list(usage["percpu"])}
                             if usage.get("percpu") else {})},
            "system_cpu_usage": system_cpu_usage(),
            "online_cpus": online,
            "throttling_data": {"periods": int(throttling.get("periods") or 0),
                                "throttled_periods": int(throttling.get(
                                    "throttled_periods") or 0),
                                "throttled_time": int(throttling.get("throttled_time") or 0)}},
        "precpu_stats": {"cpu_usage": {"total_usage": 0}, "throttling_data": {}},
        "memory_stats": {"usage": int(mem_usage.get("usage") or 0),
                         "limit": _limit(int(mem_usage.get("limit") or 0)),
                         "stats": {k: v for k, v in raw.items() if isinstance(v, int)}}
        if running else {},
        "networks": _networks(record, state) if running else {},
    }


def _entries(items: Any) -> list[dict[str, Any]]:
    return [{"major": int(e.get("major", 0)), "minor": int(e.get("minor", 0)),
             "op": str(e.get("op", "")), "value": int(e.get("value", 0))}
            for e in items or []]


def _limit(limit: int) -> int:
    """The memory limit, or the host's memory when there is none (as Docker shows)."""
    total = host_memory()
    return limit if 0 < limit < total else total


def host_memory() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def system_cpu_usage() -> int:
    """The host's CPU time in ns (the first line of /proc/stat), as Docker's
    system_cpu_usage: the denominator of the CPU percentage."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return 0
    return sum(int(v) for v in fields[1:8]) * _NS_PER_TICK


def _networks(record: Record, state: dict[str, Any]) -> dict[str, Any]:
    """Counters of the container's interfaces but lo, from its init's /proc/PID/net/dev;
    none for the host's network (--network host, or its fallback), as Docker."""
    if (record.config.get("HostConfig") or {}).get("NetworkMode") == "host":
        return {}
    pid = int(state.get("Pid") or 0)
    try:
        if os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat("/proc/self/ns/net").st_ino:
            return {}
        with open(f"/proc/{pid}/net/dev") as f:
            lines = f.read().splitlines()[2:]
    except OSError:
        return {}
    out = {}
    for line in lines:
        name, _, counters = line.partition(":")
        name = name.strip()
        fields = counters.split()
        if name == "lo" or len(fields) < 16:
            continue
        values = [int(v) for v in fields]
        out[name] = {"rx_bytes": values[0], "rx_packets": values[1], "rx_errors": values[2],
                     "rx_dropped": values[3], "tx_bytes": values[8], "tx_packets": values[9],
                     "tx_errors": values[10], "tx_dropped": values[11]}
    return out
