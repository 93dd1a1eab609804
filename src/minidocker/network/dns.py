"""A container's /etc/hosts and /etc/resolv.conf.

Name resolution between containers of a user network uses the hosts files: each lists
its peers on the container's networks and is rewritten in place (it is bind-mounted)
whenever a peer connects or disconnects. No resolver process runs (docs/networking.md).
"""

from __future__ import annotations

import socket
from collections.abc import Iterable

from minidocker.errors import UsageError

HOSTS_HEADER = """\
127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
"""


def parse_add_host(text: str, gateway: str | None = None) -> tuple[str, str]:
    """`--add-host name:ip` (or name=ip); ip `host-gateway` is the network's gateway."""
    sep = "=" if "=" in text else ":"
    name, _, ip = text.partition(sep)
    if ip == "host-gateway":
        if gateway is None:
            raise UsageError(f"--add-host {text}: host-gateway needs a bridge network")
        ip = gateway
    if not name or not ip or not _is_ip(ip):
        raise UsageError(f"invalid --add-host {text!r}", hint="use NAME:IP")
    return name, ip


def _is_ip(text: str) -> bool:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, text)
            return True
        except OSError:
            pass
    return False


def hosts_file(own: Iterable[tuple[str, list[str]]], extra_hosts: Iterable[tuple[str, str]] = (),
               peers: Iterable[tuple[str, list[str]]] = ()) -> str:
    """Text of /etc/hosts: the localhost lines, --add-host entries, the container's own
    addresses with its names, then its peers (ip, names) on shared networks."""
    lines = [HOSTS_HEADER]
    lines += [f"{ip}\t{name}\n" for name, ip in extra_hosts]
    for ip, names in own:
        lines.append(f"{ip}\t{' '.join(_unique(names))}\n")
    for ip, names in sorted(peers):
        lines.append(f"{ip}\t{' '.join(_unique(names))}\n")
    return "".join(lines)


def _unique(names: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for n in names:
        if n and n not in seen:
            seen.append(n)
    return seen


def host_resolv_conf(path: str = "/etc/resolv.conf") -> tuple[list[str], list[str], list[str]]:
    """(nameservers, search domains, options) of a resolv.conf."""
    servers: list[str] = []
    search: list[str] = []
    options: list[str] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return servers, search, options
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(fields) < 2:
            continue
        if fields[0] == "nameserver":
            servers.append(fields[1])
        elif fields[0] in ("search", "domain"):
            search = fields[1:]
        elif fields[0] == "options":
            options += fields[1:]
    return servers, search, options


def is_loopback(ip: str) -> bool:
    return ip.startswith("127.") or ip == "::1"


def resolv_conf(dns: Iterable[str] = (), dns_search: Iterable[str] = (),
                dns_options: Iterable[str] = (), host_path: str = "/etc/resolv.conf") -> str:
    """Text of the container's /etc/resolv.conf: --dns/--dns-search/--dns-option when
    given, else the host's, without loopback resolvers (unreachable from a container)."""
    host_servers, host_search, host_options = host_resolv_conf(host_path)
    servers = list(dns) or [s for s in host_servers if not is_loopback(s)]
    for s in servers:
        if not _is_ip(s):
            raise UsageError(f"invalid --dns {s!r}: not an IP address")
    if not servers:
        # like Docker: the host has only a local stub resolver; fall back to public ones
        servers = ["8.8.8.8", "8.8.4.4"]
    search = list(dns_search) or host_search
    options = list(dns_options) or host_options
    lines = [f"nameserver {s}\n" for s in servers]
    if search:
        lines.append(f"search {' '.join(search)}\n")
    if options:
        lines.append(f"options {' '.join(options)}\n")
    return "".join(lines)
