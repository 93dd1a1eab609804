"""Docker's flags, command by command: every flag Docker 20.10 has, we have, with the
same shorthand and type (so its value is read the same way), unless it is listed in
MISSING with the reason; every flag we have that Docker has not is listed in EXTRA with
its reason. Both lists are checked for stale entries, so that they only shrink as the
engine grows. The table of Docker's flags is docker_20_10.py."""

from __future__ import annotations

import pytest

from minidocker.cli import flags
from minidocker.cli.main import COMMANDS, GLOBAL_FLAGS, resolve
from tests.unit.cli.docker_20_10 import DOCKER_FLAGS, DOCKER_SUBCOMMANDS

NO_DAEMON = "the command line talks to no daemon: the Docker client does, to `minidocker " \
    "system service`"
SWARM = "swarm mode (services, routing mesh) is not built"
WINDOWS = "Windows containers only"
NO_IPV6 = "container networks are IPv4 only (docs/networking.md)"
LEGACY_BUILDER = "an option of Docker's legacy builder; the builder is BuildKit-like " \
    "(docs/build.md)"

MISSING_COMMANDS = {
    "search": "searches Docker Hub's index (v1 search API), which registries (and the "
              "local test registry) do not serve",
}

# (command, flag) -> why we do not have it
MISSING: dict[tuple[str, str], str] = {
    ("(global)", "context"): NO_DAEMON,
    ("(global)", "host"): NO_DAEMON,
    ("(global)", "tls"): NO_DAEMON,
    ("(global)", "tlscacert"): NO_DAEMON,
    ("(global)", "tlscert"): NO_DAEMON,
    ("(global)", "tlskey"): NO_DAEMON,
    ("(global)", "tlsverify"): NO_DAEMON,
    ("version", "kubeconfig"): "Kubernetes orchestrator support was removed from Docker "
                               "itself; minidocker is a runtime under Kubernetes instead",
    ("rm", "link"): "legacy container links are not built (user networks resolve names)",
    ("network connect", "ip6"): NO_IPV6,
    ("network connect", "link-local-ip"): NO_IPV6,
    ("network connect", "link"): "legacy container links are not built (user networks "
                                 "resolve names)",
    ("network connect", "driver-opt"): "the bridge driver takes no per-endpoint options",
    ("network create", "attachable"): SWARM,
    ("network create", "ingress"): SWARM,
    ("network create", "scope"): SWARM,
    ("network create", "config-from"): SWARM,
    ("network create", "config-only"): SWARM,
    ("network create", "ipv6"): NO_IPV6,
    ("network create", "ipam-driver"): "IPAM plugins: only the default IPAM exists",
    ("network create", "ipam-opt"): "IPAM plugins: only the default IPAM exists",
    ("network inspect", "verbose"): SWARM,
    ("exec", "detach-keys"): "exec runs the command on the caller's own terminal (no "
                             "attach stream to detach from); run, start and attach have it",
}
for _flag in ("add-host", "cache-from", "cgroup-parent", "compress", "cpu-period",
              "cpu-quota", "cpu-shares", "cpuset-cpus", "cpuset-mems", "force-rm",
              "isolation", "memory", "memory-swap", "rm", "security-opt", "shm-size",
              "squash", "ulimit"):
    MISSING[("build", _flag)] = LEGACY_BUILDER
MISSING[("create", "gpus")] = "no GPU support (no device plugin; no GPU on these hosts)"
MISSING[("create", "ip6")] = NO_IPV6
MISSING[("create", "link-local-ip")] = NO_IPV6
MISSING[("create", "link")] = "legacy container links are not built (user networks " \
    "resolve names)"
for (_cmd, _flag), _why in list(MISSING.items()):
    if _cmd == "create":
        MISSING[("run", _flag)] = _why
    if _cmd == "build":
        MISSING[("builder build", _flag)] = _why
        MISSING[("image build", _flag)] = _why

# (command, flag) -> why we have a flag Docker has not
OURS = "minidocker's own"
EXTRA: dict[tuple[str, str], str] = {
    ("(global)", "root"): "the state directory: there is no daemon to hold it",
    ("run", "trace"): OURS + ": docs/how-a-container-starts.md",
    ("create", "trace"): OURS + ": docs/how-a-container-starts.md",
    ("start", "trace"): OURS + ": docs/how-a-container-starts.md",
    ("exec", "trace"): OURS + ": docs/how-a-container-starts.md",
    ("login", "insecure"): "a registry over plain HTTP: Docker's daemon has "
                           "--insecure-registry for it",
    ("pull", "insecure"): "a registry over plain HTTP: Docker's daemon has "
                          "--insecure-registry for it",
    ("push", "insecure"): "a registry over plain HTTP: Docker's daemon has "
                          "--insecure-registry for it",
    ("save", "format"): "an OCI archive as well as Docker's (as podman's --format)",
    ("stop", "signal"): "Docker 23's stop --signal",
    ("build", "progress"): "BuildKit's --progress (Docker 20.10 has it with BuildKit on)",
    ("volume prune", "all"): "Docker 23's volume prune --all",
    ("explain", "format"): OURS,
}
for _cmd in ("builder build", "image build"):
    EXTRA[(_cmd, "progress")] = EXTRA[("build", "progress")]
for _cmd in ("image pull", "image push"):
    EXTRA[(_cmd, "insecure")] = EXTRA[("pull", "insecure")]
EXTRA[("image save", "format")] = EXTRA[("save", "format")]
EXTRA[("container stop", "signal")] = EXTRA[("stop", "signal")]
for _cmd in ("container run", "container create", "container start", "container exec"):
    EXTRA[(_cmd, "trace")] = OURS + ": docs/how-a-container-starts.md"
for _cmd in ("container", "image"):
    for (_c, _f), _why in list(MISSING.items()):
        if (_cmd, _c) in (("container", "run"), ("container", "create"), ("container", "rm"),
                          ("container", "attach"), ("container", "start"),
                          ("container", "exec"), ("container", "update"), ("image", "rm"),
                          ("image", "pull"), ("image", "push"), ("image", "import")):
            MISSING[(f"{_cmd} {_c}", _f)] = _why


def ours(command: str) -> dict[str, tuple[str, str]]:
    """Our flags of a command path ("network create", "(global)"), as the table's."""
    if command == "(global)":
        table = GLOBAL_FLAGS
    else:
        name, *rest = command.split()
        spec, *_ = resolve(name, rest)
        table = spec.flags
    return {f[1]: (f[0], f[2]) for f in table if not flags.option(f, "hidden")}


def test_every_docker_command_exists() -> None:
    for command in DOCKER_FLAGS:
        if command in MISSING_COMMANDS or command == "(global)":
            continue
        name, *rest = command.split()
        assert name in COMMANDS, command
        spec, prog, *_ = resolve(name, rest)
        assert prog == f"minidocker {command}", command  # the whole path resolved
    for group, subs in DOCKER_SUBCOMMANDS.items():
        spec, *_ = resolve(group, [])
        for sub in subs:
            if f"{group} {sub}" not in MISSING_COMMANDS:
                assert spec.subcommands and sub in spec.subcommands, f"{group} {sub}"


@pytest.mark.parametrize("command", sorted(c for c in DOCKER_FLAGS if c not in MISSING_COMMANDS))
def test_flags_are_dockers(command: str) -> None:
    docker, mine = DOCKER_FLAGS[command], ours(command)
    missing = [f for f in docker if f not in mine and (command, f) not in MISSING]
    assert missing == [], f"{command}: Docker's flags we lack (not listed as missing)"
    different = [(f, docker[f], mine[f]) for f in docker if f in mine and docker[f] != mine[f]]
    assert different == [], f"{command}: shorthand or type differ from Docker's"
    extra = [f for f in mine if f not in docker and (command, f) not in EXTRA]
    assert extra == [], f"{command}: flags Docker has not (not listed as extra)"


def test_the_lists_are_not_stale() -> None:
    """A flag built is no longer missing; an extra one removed is no longer extra."""
    stale_missing = [(c, f) for c, f in MISSING if f in ours(c)]
    assert stale_missing == []
    stale_extra = [(c, f) for c, f in EXTRA if f not in ours(c) or f in DOCKER_FLAGS.get(c, {})]
    assert stale_extra == []
    assert all(why for why in MISSING.values()) and all(why for why in EXTRA.values())


def test_missing_flags_fail_as_unknown() -> None:
    """What we lack is refused by name (never taken for another flag by its prefix)."""
    spec, *_ = resolve("run", [])
    for flag in ("--pid", "--priv", "--net-al"):
        argv = [flag, "x", "img"]
        if flag == "--pid" and "pid" in ours("run"):
            continue
        with pytest.raises(flags.FlagError, match=f"unknown flag: {flag}"):
            flags.parse(spec, argv)


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    from minidocker.cli.main import main
    for name in COMMANDS:
        spec, *_ = resolve(name, [])
        for path, sub in flags.walk(spec):
            if sub.raw:  # `system service`: the API server's own --help, in its own process
                continue
            assert main([name, *path, "--help"]) == 0, (name, path)
            assert capsys.readouterr().out.startswith(
                f"\nUsage:  minidocker {' '.join((name, *path))}")
