"""The rest of build's flags: --network default|host, --pull (a real registry on
127.0.0.1), -f outside the context and from stdin, --progress tty, globs (ADD of a URL:
test_remote.py)."""

from __future__ import annotations

import os
import pty
import subprocess
import time
from pathlib import Path

from tests.integration.build.conftest import Builder
from tests.integration.image.conftest import Registry, registry  # noqa: F401


def test_network_modes(builder: Builder) -> None:
    ctx = builder.context("FROM busybox\nRUN ls /sys/class/net | sort | tr '\\n' ' ' > /nets\n")
    builder.engine.ok("build", "--network", "none", "-t", "net-none", str(ctx))
    assert builder.run("net-none", "cat", "/nets") == "lo "
    builder.engine.ok("build", "--no-cache", "--network", "default", "-t", "net-bridge",
                      str(ctx))
    assert builder.run("net-bridge", "cat", "/nets") == "eth0 lo "
    builder.engine.ok("build", "--no-cache", "--network", "host", "-t", "net-host", str(ctx))
    seen = set(builder.run("net-host", "cat", "/nets").split())
    bridge = {n for n in os.listdir("/sys/class/net") if n.startswith(builder.engine.net_tag)}
    assert {"lo", "eth0"} | bridge <= seen  # the host's (others' come and go meanwhile)
    per_step = builder.context("FROM busybox\nRUN --network=none ls /sys/class/net > /n\n")
    builder.engine.ok("build", "--network", "default", "-t", "net-step", str(per_step))
    assert builder.run("net-step", "cat", "/n") == "lo\n"
    assert builder.leftovers() == []


def test_pull_flag_takes_the_registry_image(builder: Builder,
                                            registry: Registry) -> None:  # noqa: F811
    name = f"{registry.addr}/build/base:1"
    builder.engine.ok("tag", "busybox", name)
    builder.engine.ok("push", name)
    builder.engine.ok("rmi", name)
    ctx = builder.context(f"FROM {name}\nRUN echo on-pulled > /p\n")
    builder.build(ctx, "-t", "pulled-base")  # missing: pulled
    assert builder.run("pulled-base", "cat", "/p") == "on-pulled\n"
    # the registry's image changes; without --pull the local one is used, with it the new
    other = builder.context("FROM busybox\nRUN echo v2 > /version\n")
    builder.build(other, "-t", name)
    builder.engine.ok("push", name)
    builder.engine.ok("tag", "busybox", name)  # locally, the old base again
    check = builder.context(f"FROM {name}\nRUN cat /version 2>/dev/null > /seen; true\n")
    builder.build(check, "-t", "no-pull")
    assert builder.run("no-pull", "cat", "/seen") == ""
    builder.build(check, "--pull", "-t", "with-pull")
    assert builder.run("with-pull", "cat", "/seen") == "v2\n"


def test_dockerfile_outside_the_context_and_from_stdin(builder: Builder,
                                                       tmp_path: Path) -> None:
    ctx = builder.context("FROM busybox\nRUN false\n", {"a.txt": "A\n", "b.txt": "B\n",
                                                        "c.dat": "C\n"})
    outside = tmp_path / "elsewhere.Dockerfile"
    outside.write_text("FROM busybox\nCOPY *.txt /globbed/\n")
    builder.build(ctx, "-f", str(outside), "-t", "outside")
    assert sorted(builder.run("outside", "ls", "/globbed").split()) == ["a.txt", "b.txt"]
    proc = builder.engine.run("build", "--network", "none", "-f", "-", "-t", "stdin-f",
                              str(ctx), input=b"FROM busybox\nCOPY c.dat /\n")
    assert proc.returncode == 0, proc.stderr
    assert builder.run("stdin-f", "cat", "/c.dat") == "C\n"


def test_tty_progress(builder: Builder) -> None:
    ctx = builder.context("FROM busybox\nRUN echo visible-output\nCOPY Dockerfile /\n")
    master, slave = pty.openpty()
    proc = subprocess.Popen(builder.engine.cmd("build", "--network", "none", "-t", "tty",
                                               str(ctx)),
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
    proc.wait(60)
    os.close(master)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text
    assert "\x1b[" in text  # redrawn in place (auto picks tty on a terminal)
    assert "[+] Building" in text and "FINISHED" in text
    assert "=> [2/3] RUN echo visible-output" in text
    assert "#1 " not in text  # not the plain output
