"""IPAM: leases, requested addresses, exhaustion, concurrency, and the choice of subnets."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from minidocker.errors import Conflict, UsageError
from minidocker.network.ipam import Ipam, choose_subnet, host_routes, validate_subnet
from minidocker.network.model import AddressExhausted


@pytest.fixture
def ipam(tmp_path: Path) -> Ipam:
    i = Ipam(str(tmp_path))
    i.add_subnet("10.50.0.0/29", "10.50.0.1")  # hosts .1-.6, .1 is the gateway
    return i


def test_allocates_skipping_gateway_network_and_broadcast(ipam: Ipam) -> None:
    got = [ipam.allocate("10.50.0.0/29", f"c{i}") for i in range(5)]
    assert got == ["10.50.0.2", "10.50.0.3", "10.50.0.4", "10.50.0.5", "10.50.0.6"]
    with pytest.raises(AddressExhausted):
        ipam.allocate("10.50.0.0/29", "c-late")


def test_same_owner_gets_its_lease_back(ipam: Ipam) -> None:
    ip = ipam.allocate("10.50.0.0/29", "c1")
    assert ipam.allocate("10.50.0.0/29", "c1") == ip
    assert ipam.leases("10.50.0.0/29") == {ip: "c1"}


def test_release_frees_and_reuse_is_deferred(ipam: Ipam) -> None:
    a = ipam.allocate("10.50.0.0/29", "a")
    assert ipam.release("10.50.0.0/29", "a") == [a]
    # round-robin: the just-freed address comes back only after the others
    assert ipam.allocate("10.50.0.0/29", "b") != a
    assert ipam.release("10.50.0.0/29", "nobody") == []


def test_requested_address(ipam: Ipam) -> None:
    assert ipam.allocate("10.50.0.0/29", "a", "10.50.0.5") == "10.50.0.5"
    with pytest.raises(Conflict, match="already in use"):
        ipam.allocate("10.50.0.0/29", "b", "10.50.0.5")
    with pytest.raises(Conflict, match="gateway"):
        ipam.allocate("10.50.0.0/29", "b", "10.50.0.1")
    for bad in ("10.50.0.0", "10.50.0.7", "10.60.0.2", "nonsense"):
        with pytest.raises(UsageError):
            ipam.allocate("10.50.0.0/29", "b", bad)


def test_overlapping_subnet_and_removal_with_leases(ipam: Ipam) -> None:
    with pytest.raises(Conflict, match="overlaps"):
        ipam.add_subnet("10.50.0.0/24", "10.50.0.1")
    ipam.allocate("10.50.0.0/29", "a")
    with pytest.raises(Conflict, match="leases"):
        ipam.remove_subnet("10.50.0.0/29")
    ipam.release("10.50.0.0/29", "a")
    ipam.remove_subnet("10.50.0.0/29")
    assert ipam.subnets() == []


def _allocate(args: tuple[str, str]) -> str:
    state_dir, owner = args
    return Ipam(state_dir).allocate("10.60.0.0/24", owner)


def test_concurrent_processes_never_share_an_address(tmp_path: Path) -> None:
    Ipam(str(tmp_path)).add_subnet("10.60.0.0/24", "10.60.0.1")
    owners = [(str(tmp_path), f"c{i}") for i in range(40)]
    with multiprocessing.get_context("fork").Pool(8) as pool:
        got = pool.map(_allocate, owners)
    assert len(set(got)) == 40
    assert Ipam(str(tmp_path)).leases("10.60.0.0/24") == dict(zip(got, [o for _, o in owners],
                                                                   strict=True))


def test_choose_subnet_avoids_routes_resolvers_and_taken() -> None:
    assert choose_subnet([]) == "172.17.0.0/16"
    assert choose_subnet(["172.17.5.0/24", "172.18.0.0/16"]) == "172.19.0.0/16"
    # a resolver address inside a candidate rules it out
    assert choose_subnet(["172.17.0.0/16", "172.18.255.53"]) == "172.19.0.0/16"
    # the host's real uplink and resolver here
    assert choose_subnet(["192.0.2.0/24", "10.255.255.53"]) == "172.17.0.0/16"
    everything = ["172.16.0.0/12"]
    assert choose_subnet(everything) == "192.168.0.0/20"
    with pytest.raises(AddressExhausted):
        choose_subnet(["172.16.0.0/12", "192.168.0.0/16"])


def test_host_routes_parses_proc_net_route(tmp_path: Path) -> None:
    route = tmp_path / "route"
    route.write_text(
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
        "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
        "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
        "br0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n")
    assert host_routes(str(route)) == ["192.0.2.0/24", "172.17.0.0/16"]


def test_validate_subnet() -> None:
    assert validate_subnet("10.9.0.0/24", None) == ("10.9.0.0/24", "10.9.0.1")
    assert validate_subnet("10.9.0.0/24", "10.9.0.254") == ("10.9.0.0/24", "10.9.0.254")
    for subnet, gw in [("10.9.0.1/24", None), ("10.9.0.0/31", None), ("x", None),
                       ("10.9.0.0/24", "10.9.1.1"), ("10.9.0.0/24", "10.9.0.255")]:
        with pytest.raises(UsageError):
            validate_subnet(subnet, gw)
