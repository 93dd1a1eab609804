"""Make docs/how-a-container-starts.md from a real trace of `minidocker run`.

usage (as root, after `make setup`): .venv/bin/python scripts/trace_walkthrough.py

Runs one container (memory limit, read-only bind mount, published port, seccomp profile)
with --trace in a private root and network, writes the page from the trace, and removes
everything it made. tests/integration/engine/test_walkthrough.py runs the same container
again and checks that the steps the page lists still happen, in its order.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PAGE = REPO / "docs" / "how-a-container-starts.md"
sys.path.insert(0, str(REPO / "src"))

# what each step is, in plain words ("cat: name" as trace show prints it)
MEANING = {
    "image: resolved": "finds the image and its layers: the lower directories of the "
                       "container's overlay root filesystem",
    "engine: record created": "allocates an id and a name and writes the container's "
                              "record: config.json, the OCI bundle for the runtime, its "
                              "/etc/hosts and friends, and the FIFOs of its output",
    "engine: runtime imported": "the monitor, forked at the very start, imports the "
                                "runtime while the CLI works on the other CPU",
    "network: NAT and isolation rules of the network": "writes the network's nftables "
                                                       "rules: masquerade outgoing traffic, "
                                                       "keep networks apart",
    "network: bridge": "makes sure the network's bridge exists, holds the gateway address "
                       "and is up",
    "network: prepared": "the network mode is settled before anything is forked",
    "mount: rootfs: overlay": "mounts the container's root filesystem: overlayfs with the "
                              "image's layers read-only below and the container's own "
                              "writable layer on top",
    "sync: hand-over received": "the monitor gets the record and the CLI's pipes over its "
                                "socket: from here it creates the container",
    "runtime: bundle loaded": "the runtime reads config.json (the OCI runtime spec) of "
                              "the bundle",
    "process: fork": "forks the process that will become the container's init; it starts "
                     "in a new pid namespace, as its PID 1",
    "cgroup: mkdir": "makes the container's cgroup, one directory per hierarchy",
    "cgroup: write": "writes a limit (or a device rule) into a control file of the cgroup",
    "cgroup: tasks files opened for the init to join": "opens each hierarchy's `tasks` "
                                                       "file, to send to the init",
    "sync: CGROUPS_DONE": "tells the init its cgroup is ready, with the `tasks` fds",
    "runtime: init config prepared (seccomp filter compiled)": "the new process prepares "
                                                               "what it needs before it "
                                                               "leaves the host: the "
                                                               "seccomp filter is "
                                                               "compiled to BPF now",
    "namespace: unshare": "leaves the host's namespaces: a new mount, UTS, IPC and network "
                          "namespace (each shows its inode)",
    "security: session keyring joined": "a kernel keyring of its own, so keys never leak "
                                        "between containers",
    "mount: rootfs bound onto itself": "makes the rootfs a mount point of its own, "
                                       "propagation rslave, ready for pivot_root",
    "mount: mount": "mounts one entry of the spec's `mounts` inside the rootfs: /proc, "
                    "/dev, /dev/pts, /sys, the cgroups, bind mounts",
    "cgroup: joined: CGROUPS_DONE received": "the init moves itself into its cgroups "
                                             "(writes 0 to each `tasks` fd), from now on "
                                             "under the limits",
    "device: mknod": "creates one device node in the container's private /dev",
    "device: symlinks": "/dev/fd, /dev/stdin, /dev/stdout, /dev/stderr, /dev/ptmx",
    "mount: mask": "hides a path of /proc or /sys that tells about the whole machine",
    "mount: read-only": "binds a path of /proc read-only onto itself",
    "mount: pivot_root": "the rootfs becomes `/`; the host's root is detached and gone "
                         "from the container's view",
    "uts: sethostname": "sets the container's hostname, in its own UTS namespace",
    "process: program found": "looks the program up in the container's PATH, now that "
                              "`/` is the container's",
    "process: setrlimit": "sets a resource limit (ulimit) of the process",
    "security: no_new_privs": "execve may never raise privileges again",
    "security: seccomp": "loads the seccomp filter: the kernel now vets every system call",
    "security: capabilities": "drops to the capabilities of the spec: the bounding set "
                              "loses the others for good",
    "process: chdir": "changes to the working directory",
    "sync: READY: the init blocks on exec.fifo until start": "tells the runtime it is "
                                                             "ready, then blocks on the "
                                                             "exec fifo",
    "sync: READY received": "the runtime hears READY: the container is `created`",
    "runtime: state.json written": "the runtime's state of the container (pid, its start "
                                   "time, cgroup and namespace paths)",
    "network: address leased": "takes a free address of the network's subnet",
    "network: veth pair": "a veth pair: one end on the host, plugged into the bridge; the "
                          "other made directly inside the container's network namespace",
    "network: address": "gives the container's end (eth0) its address and brings it up, "
                        "with lo",
    "network: route": "the default route, through the bridge's address",
    "network: published ports (DNAT)": "one nftables DNAT rule per published port",
    "network: hosts files written": "the container's /etc/hosts names it",
    "network: attached": "the container is on its network before its program starts",
    "sync: start: exec.fifo read by `start`": "`start` opened the exec fifo: the init "
                                              "wakes up",
    "sync: exec.fifo read: the init goes on to exec": "`start` reads the fifo, which lets "
                                                      "the init go on",
    "process: close-on-exec fds of the runtime let go": "what the runtime's process (here "
                                                        "the monitor) had open close-on-exec "
                                                        "is let go before the wait for start",
    "process: fds above 2 close-on-exec": "no descriptor of the runtime leaks into the "
                                          "container",
    "process: execve": "the init becomes the container's program: PID 1 of the container",
    "engine: state: running": "the record says running, with the pid and the monitor",
    "sync: report: ok": "the monitor tells the CLI the container runs",
    "sync: the monitor reported": "the CLI hears it; it now streams the output until the "
                                  "container exits",
    "process: container exited": "the monitor reaps the container's exit status",
    "cgroup: removed": "the container's cgroup directories are removed",
    "runtime: state removed": "the runtime's state directory is removed",
    "network: disconnected": "port rules, veth and address lease go",
    "engine: state: exited": "the record says exited, with the exit code and whether the "
                             "OOM killer struck",
    "engine: rootfs unmounted, record removed (--rm)": "the overlay is unmounted and, "
                                                       "with --rm, the record removed",
}
ROLES = {"minidocker run": "the CLI (`minidocker run`)",
         "monitor (forked early)": "the monitor",
         "init": "the container's init"}
# values worth showing per step (the rest is in `trace show`)
SHOWN = {"mount: mount": ("target", "type", "source"), "cgroup: write": ("path", "value"),
         "cgroup: mkdir": ("path",), "namespace: unshare": ("flags",),
         "mount: mask": ("path",), "mount: read-only": ("path",),
         "device: mknod": ("path",), "process: execve": ("path", "argv"),
         "security: seccomp": ("default_action", "syscalls_by_action"),
         "security: capabilities": ("effective",), "network: address": ("address",),
         "network: route": ("destination", "via"), "network: veth pair": ("host_end",
                                                                         "container_end"),
         "network: published ports (DNAT)": ("rules",), "image: resolved": ("ref",),
         "uts: sethostname": ("hostname",), "mount: pivot_root": ("new_root",)}
PROFILE = {"defaultAction": "SCMP_ACT_ALLOW",
           "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}


def run_traced(workdir: Path) -> tuple[list[dict[str, Any]], list[str], dict[str, str]]:
    """Run the page's container traced in a private root under `workdir`: (events,
    the command as the page shows it, {what the page shows: the real text})."""
    from minidocker import trace
    root = workdir / "root"
    (root / "network").mkdir(parents=True)
    tag = f"mde{uuid.uuid4().hex[:6]}"
    (root / "network" / "config.json").write_text(json.dumps({
        "nft_table": tag, "default_bridge": f"{tag}b0",
        "pools": [{"base": f"10.{random.randrange(208, 216)}.{random.randrange(16) * 16}.0/20",
                   "size": 24}]}))
    data = workdir / "data"
    data.mkdir()
    (data / "hello").write_text("hello from the host\n")
    profile = workdir / "profile.json"
    profile.write_text(json.dumps(PROFILE))
    out = workdir / "start.json"
    shown = ["minidocker", "run", "--rm", "--trace", "start.json", "-m", "64m", "-v",
             "/srv/data:/data:ro", "-p", "127.0.0.1:8080:80", "--security-opt",
             "seccomp=profile.json", "./images/busybox", "cat", "/data/hello"]
    port = _free_port()
    args = [str(REPO / ".venv" / "bin" / "minidocker"), "--root", str(root), "run", "--rm",
            "--trace", str(out), "-m", "64m", "-v", f"{data}:/data:ro", "-p",
            f"127.0.0.1:{port}:80", "--security-opt", f"seccomp={profile}",
            str(REPO / "images" / "busybox"), "cat", "/data/hello"]
    names = {"<root>": str(root), "/srv/data": str(data), "start.json": str(out),
             "profile.json": str(profile), "8080": str(port), "images/busybox":
             str(REPO / "images" / "busybox")}
    try:
        proc = subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=120, cwd=REPO)
        if proc.returncode != 0 or proc.stdout != "hello from the host\n":
            raise RuntimeError(f"the traced run failed ({proc.returncode}): {proc.stderr}")
        return trace.load(str(out)), shown, names
    finally:
        _remove_networks(root, tag)


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _remove_networks(root: Path, tag: str) -> None:
    from minidocker import network
    from minidocker.network.store import Store
    try:
        for net in Store(str(root)).networks().values():
            network.remove_network(str(root), net.name, predefined_ok=True)
    except Exception:
        pass
    subprocess.run(["nft", "delete", "table", "ip", tag], capture_output=True)
    subprocess.run(["ip", "link", "del", f"{tag}b0"], capture_output=True)


def walk(events: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """[(role, steps)]: the steps in time order, runs of the same process together, and
    runs of the same step merged (each a dict: key, count, first event)."""
    roles = {e["pid"]: e["args"]["name"] for e in events
             if e["ph"] == "M" and e["name"] == "process_name"}
    timed = sorted((e for e in events if e["ph"] in ("X", "i")
                    and not (e["cat"] == "process" and e["name"] == roles.get(e["pid"]))),
                   key=lambda e: e["ts"] + e.get("dur", 0))
    out: list[tuple[str, list[dict[str, Any]]]] = []
    for e in timed:
        role = roles.get(e["pid"], "?")
        key = f"{e['cat']}: {e['name']}"
        if not out or out[-1][0] != role:
            out.append((role, []))
        steps = out[-1][1]
        if steps and steps[-1]["key"] == key:
            steps[-1]["count"] += 1
            steps[-1]["events"].append(e)
        else:
            steps.append({"key": key, "count": 1, "events": [e]})
    return out


def page(events: list[dict[str, Any]], command: list[str], names: dict[str, str]) -> str:
    missing = sorted({s["key"] for _, steps in walk(events) for s in steps} - set(MEANING))
    if missing:
        raise SystemExit(f"trace_walkthrough: say what these steps are in MEANING: {missing}")
    lines = [
        "# How a container starts",
        "",
        "<!-- Made by scripts/trace_walkthrough.py from a real trace: do not edit by hand; "
        "tests/integration/engine/test_walkthrough.py checks that these steps still "
        "happen in this order. -->",
        "",
        "What `minidocker run` does, step by step, as one real trace recorded it. Record "
        "your own with `--trace FILE` on `run`, `create`, `start` or `exec` (or "
        "`minidocker-runtime --trace FILE`), read it with `minidocker trace show FILE` "
        "(`--code` names the function of each step), or load the file into "
        "[Perfetto](https://ui.perfetto.dev) or `chrome://tracing` for a timeline with "
        "one track per process. What each mechanism is: [isolation.md](isolation.md).",
        "",
        "The command (with a read-only bind mount, a memory limit, a published port and a "
        "seccomp profile that denies mkdir):",
        "",
        "```sh",
        " ".join(command),
        "```",
        "",
        "## The format",
        "",
        "The file is Chrome's trace-event JSON (the JSON Array Format), written by "
        "`src/minidocker/trace.py`. Each step is a complete event (`\"ph\": \"X\"`) whose "
        "`ts` and `dur` are microseconds; its bar runs from the end of the same process's "
        "previous step, so a process's bars add up to its time, waits included. `args` "
        "holds the real values (paths, flags, limits, inodes, rules) and `at` the module "
        "and function that recorded it. `pid` is the host pid of the process that did the "
        "step, so the CLI, the monitor and the container's init are separate tracks; "
        "metadata events name them (`process_name`, with `ppid`). Every process appends "
        "its own events to the file (O_APPEND, one write(2) each): a forked process needs "
        "nobody to forward them, and the container's init still writes after pivot_root "
        "through the file descriptor it inherited (close-on-exec: its program never "
        "sees it). The closing `]` is never written, which the format allows; a trace "
        "can so be appended to, and `create` then `start` with the same FILE make one "
        "timeline. When tracing is off, `minidocker.TRACE` is None: each step costs one "
        "check of it and the trace module is not even imported.",
        "",
        "## The processes",
        "",
        "- **the CLI** (`minidocker run`) resolves the image, writes the record and "
        "mounts the root filesystem, then waits for the container's output and exit.",
        "- **the monitor**, forked by the CLI at once, imports the runtime meanwhile, "
        "then creates the container with the runtime in-process, plugs its network, "
        "starts it and stays with it (its output, its exit, `--rm`).",
        "- **the container's init**, forked by the monitor into a new pid namespace, "
        "builds the container around itself and finally becomes the container's program "
        "with execve.",
        "",
        "## The steps",
        "",
        f"In time order; paths under `{'<root>'}` are in the engine's state directory "
        "(`--root`). Each step links to the function that does it.",
        "",
    ]
    n = 0
    for role, steps in walk(events):
        lines += [f"#### In {ROLES.get(role, role)}", ""]
        for step in steps:
            n += 1
            e = step["events"][0]
            count = f" (×{step['count']})" if step["count"] > 1 else ""
            at = (e.get("args") or {}).get("at", "")
            path, _, func = at.partition(":")
            link = f" [`{func}`](../src/{path})" if path else ""
            values = _values(step, names)
            lines.append(f"{n}. **{step['key']}**{count}: {MEANING[step['key']]}.{link}"
                         + (f"  \n   {values}" if values else ""))
        lines.append("")
    lines += ["## The whole trace, as `trace show` prints it", "", "```"]
    from minidocker.engine import traceview
    summary = traceview.summarize(events)
    shown = summary.header() + [line for row in summary.rows for line in row.lines()]
    lines += [_anonymize(line, names) for line in shown]
    lines += ["```", ""]
    return "\n".join(lines)


def _values(step: dict[str, Any], names: dict[str, str]) -> str:
    keys = SHOWN.get(step["key"], ())
    parts = []
    for e in step["events"][:3]:
        args = e.get("args") or {}
        part = ", ".join(f"{k} `{_short(_anonymize(args[k], names))}`" for k in keys
                         if args.get(k))
        if part:
            parts.append(part)
    more = " …" if step["count"] > 3 and parts else ""
    return "; ".join(parts) + more


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 90 else text[:87] + "..."


def _anonymize(value: Any, names: dict[str, str]) -> Any:
    """What the page shows instead of the run's own paths and port; container ids as
    their first 12 characters."""
    if not isinstance(value, str):
        return json.loads(_anonymize(json.dumps(value), names))
    for shown, real in names.items():
        if shown == "8080":
            value = re.sub(rf"\b{real}\b", shown, value)
        else:
            value = value.replace(real, shown)
    return re.sub(r"\b([0-9a-f]{12})[0-9a-f]{52}\b", r"\1", value)


def main() -> int:
    if os.geteuid() != 0:
        sys.exit("trace_walkthrough: run as root")
    workdir = Path(tempfile.mkdtemp(prefix="md-walkthrough-"))
    try:
        events, command, names = run_traced(workdir)
        PAGE.write_text(page(events, command, names))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"wrote {PAGE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
