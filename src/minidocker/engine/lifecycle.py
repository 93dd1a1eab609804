"""A container's lifecycle, one module per concept (this module only gathers their names
for callers that use the whole of it; the engine's own code imports the module it needs):

- liveness: facts about processes from /proc (alive, the same process, how it ended), a
  record's status made true to them, dead monitors' jobs finished
- create: a record from Docker's create options, the OCI bundle
- start: the monitor forked, spawned or pre-forked, the hand-over to it; the container's
  overlay mounted on the host, and unmounted
- exits: the exit policy the monitor applies (--restart, --rm), and start after boot
- control: stop, kill, pause, unpause, remove, and adopting an orphaned container
"""

from __future__ import annotations

from minidocker.engine.control import (
    adopt,
    kill,
    pause,
    remove,
    remove_files,
    stop,
    stop_signal,
    unpause,
    wait_stopped,
)
from minidocker.engine.create import (
    INIT_BINARIES,
    INIT_PATH,
    build_config,
    create,
    find_init,
    new_state,
    resolve_image,
    write_bundle,
)
from minidocker.engine.exits import on_exit, start_after_boot
from minidocker.engine.liveness import (
    RUNNING_STATES,
    alive,
    exit_code_of,
    finish_without_monitor,
    live_state,
    monitor_alive,
    proc_stat,
    runtime_of,
)
from minidocker.engine.start import (
    Preforked,
    connect_attach,
    fork_is_safe,
    monitor_options,
    mount_rootfs,
    network_attach,
    network_detach,
    open_outputs,
    prefork_monitor,
    rootfs_view,
    spawn_init,
    start,
    unmount_rootfs,
)

__all__ = [
    "INIT_BINARIES", "INIT_PATH", "RUNNING_STATES", "Preforked", "adopt", "alive",
    "build_config", "connect_attach", "create", "exit_code_of", "find_init",
    "finish_without_monitor", "fork_is_safe", "kill", "live_state", "monitor_alive",
    "monitor_options", "mount_rootfs", "network_attach", "network_detach",
    "new_state", "on_exit", "open_outputs", "pause", "prefork_monitor", "proc_stat",
    "remove", "remove_files", "resolve_image", "rootfs_view", "runtime_of", "spawn_init",
    "start", "start_after_boot", "stop", "stop_signal",
    "unmount_rootfs", "unpause", "wait_stopped", "write_bundle",
]
