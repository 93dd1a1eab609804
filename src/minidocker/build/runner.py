"""RUN steps in real engine containers, through the engine's service layer as any front
end: created from the parent state (a build-cache image the store finds by ID), started
attached as `run` does (same runtime, namespaces, seccomp profile, default
capabilities; the context's spawn mode, so a threaded API server builds safely), their
output passed on as it comes, and removed after — also when the step fails or the build
is interrupted. This is the builder's one seam with the engine's container operations.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from typing import Any

from minidocker.errors import MinidockerError

Output = Callable[[int, bytes], None]
LABEL = "io.minidocker.build"


class Container:
    """One RUN's container; `upper` is its overlay upper dir until `remove()`."""

    def __init__(self, ctx: Any, cid: str):
        from minidocker.engine.service import containers
        self.ctx = ctx
        self.id = cid
        self.record = containers.find(ctx, cid)

    @property
    def upper(self) -> str:
        return str(self.record.path("upper"))

    def mount_destinations(self) -> list[str]:
        """Where the runtime mounted something (the stubs it made may be in upper)."""
        import json
        try:
            with open(self.record.path("bundle", "config.json")) as f:
                spec = json.load(f)
        except (OSError, ValueError):
            return []
        return [m["destination"] for m in spec.get("mounts") or [] if m.get("destination")]

    def unmount(self) -> None:
        """Detach the rootfs overlay: its upper dir is read (and moved) next."""
        from minidocker.engine import lifecycle
        lifecycle.unmount_rootfs(self.record)

    def remove(self) -> None:
        from minidocker.engine.service import containers
        try:
            containers.remove(self.ctx, self.id, force=True, volumes=True)
        except MinidockerError:
            from minidocker.engine import lifecycle
            lifecycle.remove_files(self.record, volumes=True)


def reap_orphans(ctx: Any) -> None:
    """Remove the RUN containers of builds whose process is gone (killed with -9: its
    label names its pid), and with them their mounts, cgroups and network."""
    from minidocker.engine.service import containers
    for summary in containers.ls(ctx, all=True, filters={"label": [LABEL]}):
        owner = str((summary.get("Labels") or {}).get(LABEL, ""))
        if owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
            try:
                containers.remove(ctx, str(summary["Id"]), force=True, volumes=True)
            except MinidockerError:
                pass


def api_mounts(mounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The step's mounts in Docker's HostConfig.Mounts form."""
    out = []
    for m in mounts:
        if m["Type"] == "tmpfs":
            entry: dict[str, Any] = {"Type": "tmpfs", "Target": m["Destination"]}
            if m.get("TmpfsSize"):
                from minidocker.engine.bundle import parse_bytes
                entry["TmpfsOptions"] = {"SizeBytes": parse_bytes(str(m["TmpfsSize"]))}
            out.append(entry)
        else:
            out.append({"Type": "bind", "Source": m["Source"], "Target": m["Destination"],
                        "ReadOnly": not m.get("RW", True)})
    return out


def run(ctx: Any, image_id: str, argv: list[str], *, env: list[str], user: str,
        workdir: str, network: str, mounts: list[dict[str, Any]], output: Output
        ) -> tuple[int, Container]:
    """Run `argv` in a new container of `image_id`; (exit code, the container). The
    caller removes the container (its upper dir is the step's changes)."""
    from minidocker.engine.service import containers
    body: dict[str, Any] = {
        "Image": image_id, "Cmd": argv, "Entrypoint": [], "Env": env, "User": user,
        "WorkingDir": workdir, "Labels": {LABEL: str(os.getpid())},
        "AttachStdout": True, "AttachStderr": True,
        "HostConfig": {"NetworkMode": {"default": "bridge"}.get(network, network),
                       "LogConfig": {"Type": "none", "Config": {}},
                       "Mounts": api_mounts(mounts)},
    }
    created, stream = containers.run(ctx, body, attach=True, pull="never")
    container = Container(ctx, created["Id"])
    try:
        assert stream is not None
        with stream:
            while (piece := stream.read()) is not None:
                output(*piece)
        code = stream.exit_code
        if code is None:
            raise MinidockerError("lost the build container's monitor")
        containers.wait(ctx, container.id)  # the monitor has recorded the exit
        return code, container
    except BaseException:
        container.remove()
        raise


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
    for name in ("trusted.overlay.opaque", "user.overlay.opaque"):  # (rootless: user.*)
        try:
            if os.getxattr(path, name, follow_symlinks=False) == b"y":
                return True
        except OSError:
            pass
    return False


def is_empty(upper: str) -> bool:
    try:
        return not os.listdir(upper)
    except FileNotFoundError:
        return True
