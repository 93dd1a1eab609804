"""RUN steps in real engine containers: created from the parent state (a build-cache
image the store finds by ID), started attached through a monitor as `run` does (same
runtime, namespaces, seccomp profile, default capabilities), their output passed on as
it comes, and removed after — also when the step fails or the build is interrupted.

This is the builder's one seam with the engine's container operations.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from typing import Any

from minidocker.errors import MinidockerError

Output = Callable[[int, bytes], None]


class Container:
    """One RUN's container; `upper` is its overlay upper dir until `remove()`."""

    def __init__(self, root: str, record: Any):
        self.root = root
        self.record = record

    @property
    def upper(self) -> str:
        return str(self.record.path("upper"))

    def mount_destinations(self) -> list[str]:
        """Where the runtime mounted something (the stubs it made may be in upper)."""
        try:
            with open(self.record.path("bundle", "config.json")) as f:
                spec = json.load(f)
        except (OSError, ValueError):
            return []
        return [m["destination"] for m in spec.get("mounts") or [] if m.get("destination")]

    def remove(self) -> None:
        from minidocker.engine import lifecycle
        try:
            lifecycle.remove(self.record.reload(), force=True, volumes=True)
        except MinidockerError:
            lifecycle.remove_files(self.record, volumes=True)


def run(root: str, runtime: str, image_id: str, argv: list[str], *, env: list[str],
        user: str, workdir: str, network: str, mounts: list[dict[str, Any]],
        output: Output) -> tuple[int, Container]:
    """Run `argv` in a new container of `image_id`; (exit code, the container). The
    caller removes the container (its upper dir is the step's changes)."""
    from minidocker.engine import lifecycle
    from minidocker.engine.monitor import EXIT
    options: dict[str, Any] = {
        "Image": image_id, "Cmd": argv, "Entrypoint": [], "Env": env, "User": user,
        "WorkingDir": workdir, "Labels": {"io.minidocker.build": "true"},
        "HostConfig": {"NetworkMode": {"default": "bridge"}.get(network, network),
                       "Runtime": runtime, "LogConfig": {"Type": "none", "Config": {}}},
        "Mounts": mounts,
    }
    record = lifecycle.create(root, options)
    container = Container(root, record)
    try:
        sock = lifecycle.start(record, attach=True, foreground=True)
        assert sock is not None
        code = None
        buf = b""
        try:
            while code is None:
                data = sock.recv(65536)
                if not data:
                    break
                buf += data
                while len(buf) >= 5:
                    length = int.from_bytes(buf[1:5], "big")
                    if len(buf) < 5 + length:
                        break
                    kind, payload = buf[0], buf[5:5 + length]
                    buf = buf[5 + length:]
                    if kind == EXIT:
                        code = int(payload or b"0")
                        break
                    output(2 if kind == 2 else 1, payload)
        finally:
            sock.close()
        if code is None:
            raise MinidockerError("lost the build container's monitor")
        wait_exited(record)
        return code, container
    except BaseException:
        container.remove()
        raise


def wait_exited(record: Any) -> None:
    """The monitor records the exit and unmounts the rootfs right after it sends EXIT."""
    import time

    from minidocker.engine import lifecycle
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = lifecycle.live_state(record.reload())
        if state.get("Status") not in lifecycle.RUNNING_STATES:
            return
        time.sleep(0.005)


def drop_mount_stubs(upper: str, destinations: list[str], lowers: list[str]) -> None:
    """Remove from `upper` what the runtime created only to mount on (an empty file or
    directory absent from the image), and the empty parent directories made or copied up
    for them: they are not the step's changes (BuildKit removes its mount stubs too)."""
    for dest in sorted(set(destinations), key=len, reverse=True):
        rel = dest.strip("/")
        if not rel:
            continue
        path = os.path.join(upper, rel)
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if _in_lowers(rel, lowers):
            continue
        if stat.S_ISREG(st.st_mode) and st.st_size == 0:
            os.unlink(path)
        elif stat.S_ISDIR(st.st_mode) and not os.listdir(path):
            os.rmdir(path)
        else:
            continue
        parent = os.path.dirname(rel)
        while parent:
            full = os.path.join(upper, parent)
            try:
                if os.listdir(full) or _opaque(full):
                    break
                os.rmdir(full)
            except OSError:
                break
            parent = os.path.dirname(parent)


def _in_lowers(rel: str, lowers: list[str]) -> bool:
    for lower in lowers:
        try:
            st = os.lstat(os.path.join(lower, rel))
        except (FileNotFoundError, NotADirectoryError):
            continue
        return not (stat.S_ISCHR(st.st_mode) and st.st_rdev == 0)  # a whiteout: gone
    return False


def _opaque(path: str) -> bool:
    try:
        return os.getxattr(path, "trusted.overlay.opaque", follow_symlinks=False) == b"y"
    except OSError:
        return False


def is_empty(upper: str) -> bool:
    try:
        return not os.listdir(upper)
    except FileNotFoundError:
        return True
