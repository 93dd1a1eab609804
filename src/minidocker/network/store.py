"""Persistent records under `<root>/network/`: networks, endpoints and settings.

  networks.json   name -> Network
  endpoints.json  network name -> container id -> Endpoint
  ipam.json       subnets and leases (see ipam.py)
  config.json     optional settings: nft_table, default_bridge, default_subnet, pools
  store.lock      flock held for every read-modify-write of the two records
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from minidocker.errors import NotFound
from minidocker.network.ipam import Ipam
from minidocker.network.model import DEFAULT_BRIDGE, Endpoint, Network
from minidocker.network.statefile import locked, read_json, write_json

DEFAULT_ROOT = "/var/lib/minidocker"


class Store:
    def __init__(self, root: str):
        self.root = root
        self.dir = os.path.join(root, "network")
        self.ipam = Ipam(self.dir)

    def _root_suffix(self) -> str:
        """"" for the default root; else a tag of the root's path, so that two roots
        never share a bridge or nft table (each would add its own subnet to it)."""
        root = os.path.realpath(self.root)
        if root == DEFAULT_ROOT:
            return ""
        import zlib
        return f"{zlib.crc32(root.encode()):08x}"

    def _path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        with locked(self._path("store.lock")):
            yield

    # -- settings --------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        return dict(read_json(self._path("config.json"), {}))

    def nft_table(self) -> str:
        suffix = self._root_suffix()
        return str(os.environ.get("MINIDOCKER_NFT_TABLE") or self.config().get("nft_table")
                   or (f"minidocker_{suffix}" if suffix else "minidocker"))

    def default_bridge(self) -> str:
        """minidocker0 for the default root, mdr<tag> for others, or config's."""
        suffix = self._root_suffix()
        return str(self.config().get("default_bridge")
                   or (f"mdr{suffix}" if suffix else DEFAULT_BRIDGE))

    # -- networks --------------------------------------------------------------------

    def networks(self) -> dict[str, Network]:
        raw = read_json(self._path("networks.json"), {})
        return {name: Network.from_dict(d) for name, d in raw.items()}

    def save_networks(self, networks: dict[str, Network]) -> None:
        write_json(self._path("networks.json"), {n: net.to_dict() for n, net in networks.items()})

    def find(self, name_or_id: str) -> Network:
        """By name, full id or unique id prefix."""
        networks = self.networks()
        if name_or_id in networks:
            return networks[name_or_id]
        matches = [n for n in networks.values() if n.id.startswith(name_or_id)]
        if len(matches) == 1 and name_or_id:
            return matches[0]
        raise NotFound(f"no such network: {name_or_id}")  # Docker: No such network

    # -- endpoints -------------------------------------------------------------------

    def endpoints(self) -> dict[str, dict[str, Endpoint]]:
        raw = read_json(self._path("endpoints.json"), {})
        return {net: {cid: Endpoint.from_dict(e) for cid, e in eps.items()}
                for net, eps in raw.items()}

    def save_endpoints(self, endpoints: dict[str, dict[str, Endpoint]]) -> None:
        write_json(self._path("endpoints.json"),
                   {net: {cid: e.to_dict() for cid, e in eps.items()}
                    for net, eps in endpoints.items() if eps})

    def endpoints_of(self, container_id: str) -> list[Endpoint]:
        return [eps[container_id] for eps in self.endpoints().values() if container_id in eps]
