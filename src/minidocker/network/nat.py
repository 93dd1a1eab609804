"""nftables rules of bridge networks, in one table of our own (`ip minidocker` unless
configured): outbound masquerade, isolation between networks, published ports (DNAT).

Layout of the table (nothing outside it is ever read, changed or flushed):
  pre   nat/prerouting   fib daddr type local jump ports
  out   nat/output       fib daddr type local jump ports   (so 127.0.0.1 works too)
  ports                  one DNAT rule per published port, comment "md port NET CID"
  post  nat/postrouting  per network: masquerade outbound, 127/8 -> bridge, hairpin
  isolate   filter/forward   per network: isolation from other bridges, --internal drops
  set bridges            every bridge of ours, for the isolation rules
Rules carry comments naming their network (and container), so exactly one network's or
one container's rules can be deleted by handle. Each change is one `nft -f -` batch.

Coexistence: a packet is dropped if any base chain on its hook drops it, so when the
iptables filter FORWARD policy is DROP (Docker sets it when it enables forwarding itself)
our bridges' traffic needs accept rules there too, in whichever iptables backend holds
that policy; they carry the comment "minidocker BRIDGE" and go with the bridge.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterable
from typing import Any

import minidocker
from minidocker.errors import MinidockerError
from minidocker.network.model import Network, PortMapping

DEFAULT_TABLE = "minidocker"


class NftError(MinidockerError):
    """nft refused a batch."""


def _q(name: str) -> str:
    return json.dumps(name)  # a quoted nft string


def net_tag(net: Network) -> str:
    return f"md net {net.id[:12]}"


def port_tag(net_id: str, container_id: str) -> str:
    return f"md port {net_id[:12]} {container_id}"


class Firewall:
    def __init__(self, table: str = DEFAULT_TABLE):
        self.table = table

    # -- running nft -----------------------------------------------------------------

    def _nft(self, args: list[str], stdin: str | None = None) -> str:
        try:
            proc = subprocess.run(["nft", *args], input=stdin, capture_output=True, text=True)
        except FileNotFoundError:
            raise NftError("nft not found", hint="install nftables")
        if proc.returncode != 0:
            reason = next((ln for ln in proc.stderr.splitlines() if ln.startswith("Error")),
                          proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else "")
            raise NftError(f"nftables: {reason or 'nft failed'}")
        return proc.stdout

    def apply(self, lines: Iterable[str]) -> None:
        script = "\n".join(lines)
        if script:
            self._nft(["-f", "-"], script + "\n")

    def rules(self) -> list[dict[str, Any]]:
        """Every rule of our table (with chain, handle, comment); [] if no table."""
        try:
            out = self._nft(["-j", "-a", "list", "table", "ip", self.table])
        except NftError as e:
            if "No such file" in e.message:
                return []
            raise
        return [item["rule"] for item in json.loads(out)["nftables"] if "rule" in item]

    def exists(self) -> bool:
        try:
            self._nft(["list", "table", "ip", self.table])
        except NftError:
            return False
        return True

    # -- networks --------------------------------------------------------------------

    def _base(self, rules: list[dict[str, Any]]) -> list[str]:
        t = f"ip {self.table}"
        lines = [f"add table {t}",
                 f"add chain {t} pre {{ type nat hook prerouting priority dstnat; "
                 "policy accept; }",
                 f"add chain {t} out {{ type nat hook output priority -100; policy accept; }}",
                 f"add chain {t} post {{ type nat hook postrouting priority srcnat; "
                 "policy accept; }",
                 f"add chain {t} isolate {{ type filter hook forward priority filter; "
                 "policy accept; }",
                 f"add chain {t} ports",
                 f"add set {t} bridges {{ type ifname; }}"]
        for chain in ("pre", "out"):
            if not any(r["chain"] == chain for r in rules):
                lines.append(f"add rule {t} {chain} fib daddr type local jump ports")
        return lines

    def _delete(self, rules: list[dict[str, Any]], doomed: Callable[[str], bool]) -> list[str]:
        return [f"delete rule ip {self.table} {r['chain']} handle {r['handle']}"
                for r in rules if doomed(r.get("comment", ""))]

    def setup_network(self, net: Network) -> None:
        """(Re)write the rules of one network; other networks' rules stay as they are."""
        t = f"ip {self.table}"
        rules = self.rules()
        tag = net_tag(net)
        br = _q(net.bridge)
        c = f"comment {_q(tag)}"
        lines = self._base(rules) + self._delete(rules, lambda cm: cm == tag)
        lines.append(f"add element {t} bridges {{ {br} }}")
        if net.internal:
            lines += [f"add rule {t} isolate iifname {br} oifname != {br} drop {c}",
                      f"add rule {t} isolate oifname {br} iifname != {br} drop {c}"]
        else:
            lines += [
                # no direct traffic to other bridges; published ports (DNAT) are allowed
                f"add rule {t} isolate iifname {br} oifname @bridges oifname != {br} "
                f"ct status ! dnat drop {c}",
                f"add rule {t} post ip saddr {net.subnet} oifname != {br} masquerade {c}",
                # 127.0.0.1:port DNATed to a container: the reply must come back here
                f"add rule {t} post ip saddr 127.0.0.0/8 oifname {br} masquerade {c}",
                # hairpin: a container reaching a published port on its own bridge; the
                # reply must pass the host to be un-DNATed (needed without br_netfilter;
                # iifname is unknown in postrouting, hence the source subnet)
                f"add rule {t} post ip saddr {net.subnet} oifname {br} ct status dnat "
                f"masquerade {c}"]
            _sysctl("/proc/sys/net/ipv4/ip_forward", "1")
        self.apply(lines)
        if minidocker.TRACE:
            minidocker.TRACE.step("network", "NAT and isolation rules of the network",
                                  table=self.table, network=net.name, rules=lines)
        allow_forward(net.bridge, net.internal)

    def teardown_network(self, net: Network) -> None:
        """Remove one network's rules (and its ports'); the table goes with the last one."""
        disallow_forward(net.bridge)
        rules = self.rules()
        if not rules:
            return
        short = net.id[:12]
        mine = {net_tag(net)}
        doomed = self._delete(rules, lambda cm: cm in mine
                              or cm.startswith(f"md port {short} "))
        remaining = [r for r in rules if r.get("comment", "") not in mine
                     and not r.get("comment", "").startswith(f"md port {short} ")
                     and r["chain"] not in ("pre", "out")]
        if not remaining:
            self.apply([f"delete table ip {self.table}"])
            return
        element = f"ip {self.table} bridges {{ {_q(net.bridge)} }}"
        # add first: deleting an absent element would fail the batch (after a repair)
        doomed += [f"add element {element}", f"delete element {element}"]
        self.apply(doomed)

    # -- published ports -------------------------------------------------------------

    def add_ports(self, net_id: str, container_id: str, ip: str,
                  ports: Iterable[PortMapping]) -> None:
        t = f"ip {self.table}"
        c = f"comment {_q(port_tag(net_id, container_id))}"
        lines = []
        for p in ports:
            match = "" if p.host_ip == "0.0.0.0" else f"ip daddr {p.host_ip} "
            lines.append(f"add rule {t} ports {match}{p.proto} dport {p.host_port} "
                         f"dnat to {ip}:{p.container_port} {c}")
        self.apply(lines)
        if minidocker.TRACE:
            minidocker.TRACE.step("network", "published ports (DNAT)", table=self.table,
                                  rules=lines)

    def remove_ports(self, net_id: str, container_id: str) -> None:
        tag = port_tag(net_id, container_id)
        self.apply(self._delete(self.rules(), lambda cm: cm == tag))

    def remove_ports_where(self, doomed: Callable[[str, str], bool],
                           rules: list[dict[str, Any]] | None = None) -> int:
        """Delete port rules for which doomed(net_id12, container_id); returns how many."""
        def match(comment: str) -> bool:
            parts = comment.split(" ")
            return len(parts) == 4 and parts[:2] == ["md", "port"] and doomed(parts[2], parts[3])
        lines = self._delete(self.rules() if rules is None else rules, match)
        self.apply(lines)
        return len(lines)


def _sysctl(path: str, value: str) -> None:
    try:
        with open(path, encoding="ascii") as f:
            if f.read().strip() == value:
                return
        with open(path, "w", encoding="ascii") as f:
            f.write(value)
    except OSError as e:
        raise MinidockerError(f"cannot set {path.removeprefix('/proc/sys/')}: "
                              f"{os.strerror(e.errno or 0)}")


# -- the iptables filter FORWARD chain (see the module's docstring) ------------------------

def _iptables(args: list[str]) -> subprocess.CompletedProcess[str] | None:
    """`iptables -w ARGS`, or None where iptables is not installed."""
    try:
        return subprocess.run(["iptables", "-w", *args], capture_output=True, text=True)
    except FileNotFoundError:
        return None


def _forward_chain() -> list[str]:
    """`iptables -S FORWARD` (which creates no table); [] without iptables."""
    proc = _iptables(["-S", "FORWARD"])
    return proc.stdout.splitlines() if proc is not None and proc.returncode == 0 else []


def forward_rules(bridge: str) -> list[list[str]]:
    """Our accept rules in the filter FORWARD chain for `bridge`, as iptables args."""
    import shlex

    comment = f'"minidocker {bridge}"'
    return [shlex.split(line)[2:] for line in _forward_chain()
            if line.startswith("-A FORWARD ") and comment in line]


def allow_forward(bridge: str, internal: bool) -> None:
    """Accept the bridge's traffic in the filter FORWARD chain when its policy is DROP:
    within the bridge, and (not internal) from it and to it; our own table still
    isolates it from other bridges."""
    chain = _forward_chain()
    if "-P FORWARD DROP" not in chain or forward_rules(bridge):
        return
    match = [["-i", bridge, "-o", bridge]] if internal else [["-i", bridge], ["-o", bridge]]
    for m in reversed(match):
        proc = _iptables(["-I", "FORWARD", "1", *m, "-m", "comment", "--comment",
                          f"minidocker {bridge}", "-j", "ACCEPT"])
        if proc is not None and proc.returncode != 0:
            raise MinidockerError(f"iptables: accepting {bridge} in FORWARD: "
                                  f"{proc.stderr.strip()}")


def disallow_forward(bridge: str) -> None:
    """Remove what allow_forward added for `bridge` (nothing to do in most cases)."""
    for rule in forward_rules(bridge):
        _iptables(["-D", "FORWARD", *rule])
