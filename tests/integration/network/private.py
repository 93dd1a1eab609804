"""A private network setup for a test's minidocker root: its own default bridge name, nft
table and address pool (a random /20 of 10.208.0.0/13, /24 networks), and its removal.
Used by the engine fixtures, whose containers join the default bridge network."""

from __future__ import annotations

import json
import random
import subprocess
import uuid
from pathlib import Path


def private_network(root: Path) -> str:
    """Write <root>/network/config.json; returns the tag that prefixes every name."""
    tag = f"mde{uuid.uuid4().hex[:6]}"
    base = random.randrange(208, 216)
    third = random.randrange(0, 16) * 16
    (root / "network").mkdir(parents=True, exist_ok=True)
    (root / "network" / "config.json").write_text(json.dumps({
        "nft_table": tag, "default_bridge": f"{tag}b0",
        "pools": [{"base": f"10.{base}.{third}.0/20", "size": 24}]}))
    return tag


def remove_networks(root: Path) -> None:
    """Every endpoint, network, bridge and the nft table of the root (after its containers
    are removed), through the library, then by force."""
    config = root / "network" / "config.json"
    if not config.exists():
        return
    tag = json.loads(config.read_text()).get("nft_table", "")
    if not tag.startswith("mde"):
        return
    from minidocker import network
    from minidocker.network.store import Store

    try:
        network.cleanup_stale(str(root), lambda cid: False)
        for net in Store(str(root)).networks().values():
            network.remove_network(str(root), net.name, predefined_ok=True)
    except Exception:
        pass
    subprocess.run(["nft", "delete", "table", "ip", tag], capture_output=True)
    links = json.loads(subprocess.run(["ip", "-j", "link", "show"], capture_output=True,
                                      text=True).stdout or "[]")
    for link in links:
        if link["ifname"].startswith(tag):
            subprocess.run(["ip", "link", "del", link["ifname"]], capture_output=True)
