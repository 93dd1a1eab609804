"""minidocker stats: CPU, memory, network and block I/O, pids of running containers."""

from __future__ import annotations

import argparse
import sys
import time

TABLE = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}" \
    "\t{{.BlockIO}}\t{{.PIDs}}"
TITLES = {"ID": "CONTAINER ID", "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT",
          "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
          "Name": "NAME"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--all", action="store_true", help="show all containers")
    parser.add_argument("--no-stream", action="store_true",
                        help="disable streaming stats and only pull the first result")
    parser.add_argument("--no-trunc", action="store_true", help="do not truncate output")
    parser.add_argument("--format", help="format output using a Go template")
    parser.add_argument("containers", nargs="*", metavar="CONTAINER")


def _num(d: dict, *keys: str) -> int:
    for key in keys:
        value = d.get(key)
        if isinstance(value, (int, float)):
            return int(value)
    return 0


def _sample(record: object) -> dict[str, int]:
    from minidocker.engine.lifecycle import runtime_of
    manager = runtime_of(record).cgroup(record.id)  # type: ignore[arg-type,attr-defined]
    out = {"cpu": 0, "mem": 0, "limit": 0, "pids": 0, "read": 0, "write": 0, "rx": 0, "tx": 0}
    out["rx"], out["tx"] = _net_io(record)
    if manager is None:
        return out
    try:
        stats = manager.stats()
    except Exception:
        return out
    cpu = stats.get("cpu") or {}
    memory = stats.get("memory") or {}
    pids = stats.get("pids") or {}
    blkio = stats.get("blkio") or stats.get("io") or {}
    out["cpu"] = _num(cpu, "usage_ns", "total_usage", "usage_usec") or _num(
        cpu.get("usage") or {}, "total")
    out["mem"] = _num(memory, "usage", "current") or _num(memory.get("usage") or {}, "usage")
    out["limit"] = _num(memory, "limit", "max") or _num(memory.get("usage") or {}, "limit")
    out["pids"] = _num(pids, "current")
    out["read"] = _num(blkio, "read_bytes", "rbytes")
    out["write"] = _num(blkio, "write_bytes", "wbytes")
    return out


def _net_io(record: object) -> tuple[int, int]:
    """Bytes received and sent on the container's interfaces but lo, from its init's
    /proc/PID/net/dev (its network namespace); nothing for `--network host`, as Docker."""
    config = getattr(record, "config", {}) or {}
    if (config.get("HostConfig") or {}).get("NetworkMode") == "host":
        return 0, 0
    pid = int((getattr(record, "state", {}) or {}).get("Pid") or 0)
    try:
        import os
        if os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat("/proc/self/ns/net").st_ino:
            return 0, 0  # the host's network (--network host, or its fallback)
        with open(f"/proc/{pid}/net/dev") as f:
            lines = f.read().splitlines()[2:]
    except OSError:
        return 0, 0
    rx = tx = 0
    for line in lines:
        name, _, counters = line.partition(":")
        fields = counters.split()
        if name.strip() != "lo" and len(fields) >= 9:
            rx += int(fields[0])
            tx += int(fields[8])
    return rx, tx


class StatRow:
    def __init__(self, record: object, before: dict[str, int], after: dict[str, int],
                 elapsed: float, no_trunc: bool):
        from minidocker.cli.output import bytes_size
        self.ID = record.id if no_trunc else record.id[:12]  # type: ignore[attr-defined]
        self.Container = self.ID
        self.Name = record.name  # type: ignore[attr-defined]
        delta = max(0, after["cpu"] - before["cpu"])
        scale = 1e9 if after["cpu"] > 10**12 or delta > 10**7 else 1e6
        self.CPUPerc = f"{100.0 * delta / scale / elapsed if elapsed else 0:.2f}%"
        total = _host_memory()
        limit = after["limit"] if 0 < after["limit"] < total else total
        self.MemUsage = f"{bytes_size(after['mem'])} / {bytes_size(limit)}"
        self.MemPerc = f"{100.0 * after['mem'] / limit if limit else 0:.2f}%"
        self.BlockIO = f"{bytes_size(after['read'])} / {bytes_size(after['write'])}"
        self.NetIO = f"{bytes_size(after['rx'])} / {bytes_size(after['tx'])}"
        self.PIDs = str(after["pids"])


def _host_memory() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import find, root
    from minidocker.cli.template import Format
    from minidocker.engine.lifecycle import live_state
    from minidocker.engine.records import Records
    if args.containers:
        records = [find(c) for c in args.containers]
    else:
        records = [r for r in Records(root()).all() if args.all or
                   live_state(r).get("Status") in ("running", "paused")]
    fmt = Format(args.format or "table", default_table=TABLE)
    before = {r.id: _sample(r) for r in records}
    t0 = time.monotonic()
    while True:
        time.sleep(0.5 if args.no_stream else 1.0)
        now = time.monotonic()
        after = {r.id: _sample(r) for r in records}
        rows = [StatRow(r, before[r.id], after[r.id], now - t0, args.no_trunc) for r in records]
        text = fmt.render(rows, TITLES)
        if args.no_stream:
            sys.stdout.write(text)
            return 0
        sys.stdout.write("\x1b[2J\x1b[H" + text)
        sys.stdout.flush()
        before, t0 = after, now
