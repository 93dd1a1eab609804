"""minidocker stats: CPU, memory, network and block I/O, pids of running containers."""

from __future__ import annotations

import sys
import time

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

TABLE = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}" \
    "\t{{.BlockIO}}\t{{.PIDs}}"
TITLES = {"ID": "CONTAINER ID", "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT",
          "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
          "Name": "NAME"}


SPEC = Spec("[OPTIONS] [CONTAINER...]", (
    ("a", "all", "bool", "Show all containers (default shows just running)"),
    ("", "format", "string", "Pretty-print images using a Go template"),
    ("", "no-stream", "bool", "Disable streaming stats and only pull the first result"),
    ("", "no-trunc", "bool", "Do not truncate output"),
), (("containers", "*"),))


class StatRow:
    """One `stats` row from two samples (Docker's stats documents), as Docker's CLI
    computes it: CPU % from the container's and the host's CPU time between them."""

    def __init__(self, sample: dict[str, Any], no_trunc: bool):
        from minidocker.units import bytes_size, human_size
        cid = str(sample["id"])
        self.ID = cid if no_trunc else cid[:12]
        self.Container = self.ID
        self.Name = str(sample.get("name", "")).lstrip("/")
        cpu, pre = sample["cpu_stats"], sample.get("precpu_stats") or {}
        delta = cpu["cpu_usage"]["total_usage"] - (pre.get("cpu_usage") or {}).get(
            "total_usage", 0)
        system = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
        percent = 100.0 * delta / system * cpu.get("online_cpus", 1) \
            if delta > 0 and system > 0 else 0.0
        self.CPUPerc = f"{percent:.2f}%"
        memory = sample.get("memory_stats") or {}
        usage, limit = int(memory.get("usage") or 0), int(memory.get("limit") or 0)
        self.MemUsage = f"{bytes_size(usage)} / {bytes_size(limit)}"
        self.MemPerc = f"{100.0 * usage / limit if limit else 0:.2f}%"
        blkio = (sample.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []
        read = sum(e["value"] for e in blkio if e["op"].lower() == "read")
        write = sum(e["value"] for e in blkio if e["op"].lower() == "write")
        # Docker: memory in binary units (MiB), I/O in decimal ones with 3 digits (kB, MB)
        self.BlockIO = f"{human_size(read, 3)} / {human_size(write, 3)}"
        networks = (sample.get("networks") or {}).values()
        rx = sum(n.get("rx_bytes", 0) for n in networks)
        tx = sum(n.get("tx_bytes", 0) for n in networks)
        self.NetIO = f"{human_size(rx, 3)} / {human_size(tx, 3)}"
        self.PIDs = str((sample.get("pids_stats") or {}).get("current", 0))


def run(args: Any) -> int:
    from minidocker.cli.commands._common import context
    from minidocker.cli.formats import Format
    from minidocker.engine.service import containers
    ctx = context(args)
    if args.containers:
        refs = [containers.find(ctx, c).id for c in args.containers]
    else:
        refs = [s["Id"] for s in containers.ls(ctx, all=args.all)]
    fmt = Format(args.format or "table", default_table=TABLE)
    before = _samples(ctx, refs)
    while True:
        time.sleep(0.5 if args.no_stream else 1.0)
        after = _samples(ctx, refs)
        rows = []
        for ref, sample in after.items():
            sample["precpu_stats"] = (before.get(ref) or sample)["cpu_stats"]
            rows.append(StatRow(sample, args.no_trunc))
        text = fmt.render(rows, TITLES)
        if args.no_stream:
            sys.stdout.write(text)
            return 0
        sys.stdout.write("\x1b[2J\x1b[H" + text)
        sys.stdout.flush()
        before = after


def _samples(ctx: Any, refs: list[str]) -> dict[str, dict[str, Any]]:
    from minidocker.engine.service import containers
    from minidocker.errors import MinidockerError
    out = {}
    for ref in refs:
        try:
            out[ref] = containers.stats(ctx, ref)
        except MinidockerError:
            continue  # removed meanwhile
    return out
