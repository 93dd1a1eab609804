"""minidocker update: change the resources and restart policy of containers (a running
one's at once)."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SPEC = Spec("[OPTIONS] CONTAINER [CONTAINER...]", (
    ("", "blkio-weight", "uint16", "Block IO (relative weight), between 10 and 1000, or 0 "
     "to disable (default 0)"),
    ("", "cpu-period", "int", "Limit CPU CFS (Completely Fair Scheduler) period"),
    ("", "cpu-quota", "int", "Limit CPU CFS (Completely Fair Scheduler) quota"),
    ("", "cpu-rt-period", "int", "Limit the CPU real-time period in microseconds"),
    ("", "cpu-rt-runtime", "int", "Limit the CPU real-time runtime in microseconds"),
    ("c", "cpu-shares", "int", "CPU shares (relative weight)"),
    ("", "cpus", "decimal", "Number of CPUs"),
    ("", "cpuset-cpus", "string", "CPUs in which to allow execution (0-3, 0,1)"),
    ("", "cpuset-mems", "string", "MEMs in which to allow execution (0-3, 0,1)"),
    ("", "kernel-memory", "bytes", "Kernel memory limit"),
    ("m", "memory", "bytes", "Memory limit"),
    ("", "memory-reservation", "bytes", "Memory soft limit"),
    ("", "memory-swap", "bytes", "Swap limit equal to memory plus swap: '-1' to enable "
     "unlimited swap", {"unlimited": True}),
    ("", "pids-limit", "int", "Tune container pids limit (set -1 for unlimited)"),
    ("", "restart", "string", "Restart policy to apply when a container exits",
     {"complete": ("no", "on-failure", "always", "unless-stopped")}),
), (("containers", "+"),))

# flag -> the update body's key (Docker's API)
KEYS = {"blkio_weight": "BlkioWeight", "cpu_period": "CpuPeriod", "cpu_quota": "CpuQuota",
        "cpu_rt_period": "CpuRealtimePeriod", "cpu_rt_runtime": "CpuRealtimeRuntime",
        "cpu_shares": "CpuShares", "cpus": "NanoCpus", "cpuset_cpus": "CpusetCpus",
        "cpuset_mems": "CpusetMems", "kernel_memory": "KernelMemory", "memory": "Memory",
        "memory_reservation": "MemoryReservation", "memory_swap": "MemorySwap",
        "pids_limit": "PidsLimit"}


def run(args: Any) -> int:
    from minidocker.cli.commands._common import context, each
    from minidocker.cli.commands._container_flags import _restart
    from minidocker.engine.service import containers
    from minidocker.errors import UsageError
    body: dict[str, Any] = {key: getattr(args, flag) for flag, key in KEYS.items()
                            if getattr(args, flag) is not None}
    if args.restart is not None:
        body["RestartPolicy"] = _restart(args.restart)
    if not body:
        raise UsageError("you must provide one or more flags when using this command")
    if "KernelMemory" in body:
        import sys
        sys.stderr.write("minidocker: warning: kernel memory limits are not supported by "
                         "this kernel (cgroup v2 and Linux 6.x have none): discarded\n")
        del body["KernelMemory"]
    ctx = context(args)

    def update(ref: str) -> None:
        for warning in containers.update(ctx, ref, body)["Warnings"]:
            print(f"minidocker: warning: {warning}")

    return each(args.containers, update)
