"""podman 4.3 (through conmon) on each runtime: `podman --runtime PATH`, the cgroupfs
manager, private storage. Every scenario runs with runc (the test is right) and with
minidocker-runtime."""

from __future__ import annotations

from pathlib import Path

from tests.integration.clients import scenarios
from tests.integration.clients.daemons import IMAGE, Podman, wait_until


def test_run_rm_exit_codes(podman: Podman, runtime: str) -> None:
    scenarios.run_rm_exit_codes(podman, runtime)


def test_detached_exec(podman: Podman, runtime: str) -> None:
    scenarios.detached_exec(podman, runtime)


def test_interactive_tty(podman: Podman, runtime: str) -> None:
    scenarios.interactive_tty(podman, runtime, env=podman.env)


def test_stop_falls_back_to_sigkill(podman: Podman, runtime: str) -> None:
    scenarios.stop_falls_back_to_sigkill(podman, runtime)


def test_kill_with_signal(podman: Podman, runtime: str) -> None:
    scenarios.kill_with_signal(podman, runtime)


def test_pause_unpause(podman: Podman, runtime: str) -> None:
    scenarios.pause_unpause(podman, runtime)


def test_memory_limit_oom(podman: Podman, runtime: str) -> None:
    scenarios.memory_limit_oom(podman, runtime)


def test_update_resources(podman: Podman, runtime: str) -> None:
    scenarios.update_resources(podman, runtime)


def test_stats(podman: Podman, runtime: str) -> None:
    scenarios.stats(podman, runtime)


def test_top(podman: Podman, runtime: str) -> None:
    scenarios.top(podman, runtime)


def test_read_only_rootfs(podman: Podman, runtime: str) -> None:
    scenarios.read_only_rootfs(podman, runtime)
    # podman's --read-only keeps /tmp, /run and /var/tmp writable (tmpfs)
    assert scenarios.in_container(podman, runtime, "--read-only",
                                  script="touch /tmp/x && echo ok") == "ok\n"


def test_user(podman: Podman, runtime: str) -> None:
    scenarios.user(podman, runtime)


def test_cap_drop_all(podman: Podman, runtime: str) -> None:
    scenarios.cap_drop_all(podman, runtime)


def test_no_new_privileges(podman: Podman, runtime: str) -> None:
    scenarios.no_new_privileges(podman, runtime)


def test_pids_limit(podman: Podman, runtime: str) -> None:
    scenarios.pids_limit(podman, runtime)


def test_env_workdir_volume(podman: Podman, runtime: str, tmp_path: Path) -> None:
    scenarios.env_workdir_volume(podman, runtime, tmp_path)


def test_published_port(podman: Podman, runtime: str) -> None:
    # slirp4netns: a network namespace with a port forwarder and no host firewall change
    scenarios.published_port(podman, runtime, ["--network", "slirp4netns"])


def test_pod_shares_infra_namespaces(podman: Podman, runtime: str) -> None:
    """A pod as Kubernetes makes one: an infra container holds the network, IPC, UTS and
    PID namespaces, and each container joins them by path; two containers talk over
    localhost."""
    pod = scenarios.name()
    podman.ok("pod", "create", "--name", pod, "--network", "none",
              "--share", "net,ipc,uts,pid", "--hostname", "podhost", runtime=runtime)
    try:
        podman.ok("run", "-d", "--pod", pod, "--name", pod + "-server", IMAGE, "sh", "-c",
                  scenarios.HTTPD.format(text="from-the-pod", addr="127.0.0.1:8080"),
                  runtime=runtime)
        fetch = ("for i in $(seq 600); do wget -qO- http://127.0.0.1:8080/ && break; "
                 "sleep 0.1; done; hostname; ps -o comm | sort -u | tr '\\n' ' '")
        out = podman.ok("run", "--rm", "--pod", pod, IMAGE, "sh", "-c", fetch,
                        runtime=runtime)
        lines = out.splitlines()
        assert lines[:2] == ["from-the-pod", "podhost"], out
        assert "httpd" in lines[2] and "catatonit" in lines[2], out  # one PID namespace
        wait_until(lambda: podman.ok("pod", "inspect", pod, "--format", "{{.State}}",
                                     runtime=runtime).strip() == "Running", 30, "pod up")
    finally:
        podman.run("pod", "rm", "-f", "-t", "0", pod, runtime=runtime, timeout=120)
