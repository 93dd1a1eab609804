"""Networking demo: two containers on a user network talk by name, a published port is
fetched from the host, and everything is removed again.

Run as root from the repository: .venv/bin/python examples/networking_demo.py
It uses a private state root, bridge names and nft table, so it never touches an
installed minidocker's state. Exits non-zero if any step fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
IMAGE = str(REPO / "images" / "busybox")
MINIDOCKER = str(Path(sys.executable).parent / "minidocker")
SITE = "mkdir -p /www && echo \"hello from $HOSTNAME\" > /www/index.html && " \
       "exec httpd -f -p 80 -h /www"


def md(root: str, *args: str, check: bool = True) -> str:
    proc = subprocess.run([MINIDOCKER, "--root", root, *args], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise RuntimeError(f"minidocker {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def demo(root: str) -> None:
    step("create a user network")
    md(root, "network", "create", "-o", "com.docker.network.bridge.name=mddemo1", "demo-net")
    print(md(root, "network", "ls"))

    step("start a web server 'demo-db' on it, with the alias 'db'")
    md(root, "run", "-d", "--name", "demo-db", "--hostname", "demo-db", "--network",
       "demo-net", "--network-alias", "db", IMAGE, "sh", "-c", SITE)
    ip = md(root, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            "demo-db")
    print(f"demo-db has address {ip}")

    step("a second container reaches it by name and by alias")
    for name in ("demo-db", "db"):
        text = ""
        for _ in range(50):  # httpd needs a moment to listen
            reply = md(root, "run", "--rm", "--network", "demo-net", IMAGE, "sh", "-c",
                       f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc {name} 80", check=False)
            text = reply.partition("\n\n")[2].strip()  # text mode: \r\n read as \n
            if text:
                break
            time.sleep(0.1)
        print(f"GET http://{name}/ (busybox nc) -> {text!r}")
        if text != "hello from demo-db":
            raise RuntimeError(f"no answer from {name}")

    step("publish port 80 of a container on a random host port of 127.0.0.1")
    md(root, "run", "-d", "--name", "demo-web", "--hostname", "demo-web", "-p",
       "127.0.0.1::80", IMAGE, "sh", "-c", SITE)
    mapping = md(root, "port", "demo-web", "80")
    print(f"minidocker port demo-web 80 -> {mapping}")
    print(md(root, "ps"))
    body = ""
    for _ in range(50):
        try:
            with urllib.request.urlopen(f"http://{mapping}/", timeout=2) as response:
                body = response.read().decode().strip()
                break
        except OSError:
            time.sleep(0.1)
    print(f"GET http://{mapping}/ from the host -> {body!r}")
    if body != "hello from demo-web":
        raise RuntimeError("the published port did not answer")


def cleanup(root: str) -> None:
    step("clean up")
    for name in ("demo-db", "demo-web"):
        md(root, "rm", "-f", name, check=False)
    md(root, "network", "rm", "demo-net", check=False)
    sys.path.insert(0, str(REPO / "src"))
    from minidocker import network
    try:
        network.remove_network(root, "bridge", predefined_ok=True)
    except Exception as e:  # noqa: BLE001 - reported, and the exit code says so
        print(f"could not remove the default network: {e}")
    left = [n for n in json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True,
                                                 text=True).stdout)
            if n["ifname"].startswith("mddemo")]
    print("left behind:", [n["ifname"] for n in left] or "nothing")
    shutil.rmtree(root, ignore_errors=True)
    if left:
        raise RuntimeError("interfaces were left behind")


def main() -> int:
    if os.geteuid() != 0:
        print("the demo needs root (bridges, veths, nftables)", file=sys.stderr)
        return 1
    root = tempfile.mkdtemp(prefix="minidocker-demo-")
    os.makedirs(os.path.join(root, "network"))
    with open(os.path.join(root, "network", "config.json"), "w") as f:
        json.dump({"nft_table": "mddemo", "default_bridge": "mddemo0"}, f)
    failed = False
    try:
        demo(root)
    except Exception as e:  # noqa: BLE001 - one line, then clean up
        print(f"FAILED: {e}", file=sys.stderr)
        failed = True
    finally:
        try:
            cleanup(root)
        except Exception as e:  # noqa: BLE001
            print(f"FAILED cleanup: {e}", file=sys.stderr)
            failed = True
    print("\nnetworking demo:", "FAILED" if failed else "ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
