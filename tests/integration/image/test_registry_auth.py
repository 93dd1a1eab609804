"""Registry auth (Bearer tokens from a token server, basic auth after login), resumed pulls
and push, against the real registry behind the tests' auth proxy."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from minidocker.errors import MinidockerError
from minidocker.image import auth, distribution
from minidocker.image.store import Store
from tests.integration.image.conftest import Registry
from tests.integration.image.test_pull import push_layout


def test_bearer_token_flow(tmp_path: Path, registry: Registry, auth_proxy) -> None:  # type: ignore[no-untyped-def]
    name = push_layout(tmp_path, registry, "auth/bearer")
    proxy = auth_proxy("bearer")
    store = Store(str(tmp_path / "root"))
    image = distribution.pull(store, name.replace(registry.addr, proxy.addr))
    assert image.chain_ids
    assert proxy.token_requests
    req = proxy.token_requests[0]
    assert req["service"] == "test-registry"
    assert req["scope"] == "repository:auth/bearer:pull"


def test_token_server_with_credentials(tmp_path: Path, registry: Registry, auth_proxy) -> None:  # type: ignore[no-untyped-def]
    name = push_layout(tmp_path, registry, "auth/tokencreds")
    proxy = auth_proxy("bearer", "alice", "s3cret")
    store = Store(str(tmp_path / "root"))
    remote = name.replace(registry.addr, proxy.addr)
    with pytest.raises(MinidockerError, match="token server refused"):
        distribution.pull(store, remote)
    distribution.login(store, proxy.addr, "alice", "s3cret")
    assert distribution.pull(store, remote).chain_ids


def test_basic_auth_login_and_logout(tmp_path: Path, registry: Registry, auth_proxy) -> None:  # type: ignore[no-untyped-def]
    name = push_layout(tmp_path, registry, "auth/basic")
    proxy = auth_proxy("basic", "bob", "pw")
    store = Store(str(tmp_path / "root"))
    remote = name.replace(registry.addr, proxy.addr)
    with pytest.raises(MinidockerError, match="HTTP 401"):
        distribution.pull(store, remote)
    with pytest.raises(MinidockerError, match="HTTP 401"):
        distribution.login(store, proxy.addr, "bob", "wrong")
    kept = distribution.login(store, proxy.addr, "bob", "pw")  # no client config: our file
    assert kept == auth.own_file(store.root)
    mode = stat.S_IMODE(os.stat(kept).st_mode)
    assert mode == 0o600
    assert distribution.pull(store, remote).chain_ids
    assert auth.remove(store.root, proxy.addr)
    assert auth.get(store.root, proxy.addr) is None


def test_interrupted_download_resumes_within_one_pull(tmp_path: Path, registry: Registry,
                                                      auth_proxy) -> None:  # type: ignore[no-untyped-def]
    name = push_layout(tmp_path, registry, "resume/once")
    proxy = auth_proxy("none")
    big = _biggest_layer(tmp_path, name)
    proxy.cut_blobs[big["digest"]] = 1
    store = Store(str(tmp_path / "root"))
    image = distribution.pull(store, name.replace(registry.addr, proxy.addr))
    assert image.chain_ids
    assert proxy.ranges == [f"bytes={max(1, _ranged_size(tmp_path, big) // 4)}-"]


def test_failed_pull_leaves_no_image_and_a_later_pull_resumes(
        tmp_path: Path, registry: Registry, auth_proxy) -> None:  # type: ignore[no-untyped-def]
    name = push_layout(tmp_path, registry, "resume/img")
    proxy = auth_proxy("none")
    remote = name.replace(registry.addr, proxy.addr)
    big = _biggest_layer(tmp_path, name)
    proxy.cut_blobs[big["digest"]] = distribution.RESUME_ATTEMPTS
    store = Store(str(tmp_path / "root"))
    with pytest.raises(MinidockerError, match="interrupted"):
        distribution.pull(store, remote)
    assert store.images() == []
    partial = Path(store.ingest_dir) / (big["digest"].split(":")[1] + ".partial")
    have = partial.stat().st_size
    assert 0 < have < big["size"]
    proxy.ranges.clear()
    proxy.requests.clear()
    image = distribution.pull(store, remote)
    assert proxy.ranges == [f"bytes={have}-"]
    assert image.chain_ids and not partial.exists()
    # the blobs that had finished are not fetched again: only the interrupted one
    blob_gets = [p for m, p in proxy.requests if m == "GET" and "/blobs/" in p]
    assert blob_gets == [f"/v2/resume/img/blobs/{big['digest']}"]


def _biggest_layer(tmp_path: Path, name: str) -> dict[str, int | str]:
    probe = Store(str(tmp_path / "probe"))
    return max(distribution.pull(probe, name).layers, key=lambda d: int(d["size"]))


def _ranged_size(tmp_path: Path, desc: dict[str, int | str]) -> int:
    return int(desc["size"])


def test_push_then_pull_back(tmp_path: Path, registry: Registry) -> None:
    name = push_layout(tmp_path, registry, "push/src")
    store = Store(str(tmp_path / "root"))
    image = distribution.pull(store, name)
    target = f"{registry.addr}/push/dest:copy"
    from minidocker.image import reference
    store.add_image(image.manifest_digest, image.manifest_size,
                    image.manifest["mediaType"], [reference.parse(target)])
    digest = distribution.push(store, target)
    assert digest == image.manifest_digest
    out = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{target}"],
                         check=True, capture_output=True, text=True).stdout
    assert image.manifest_digest in out
    again = distribution.pull(Store(str(tmp_path / "other")), target)
    assert again.id == image.id


def test_push_with_bearer_auth_skips_existing_blobs(tmp_path: Path, registry: Registry,
                                                    auth_proxy) -> None:  # type: ignore[no-untyped-def]
    name = push_layout(tmp_path, registry, "push/bearer")
    store = Store(str(tmp_path / "root"))
    image = distribution.pull(store, name)
    proxy = auth_proxy("bearer")
    from minidocker.image import reference
    target = f"{proxy.addr}/push/bearer:second"
    store.add_image(image.manifest_digest, image.manifest_size, image.manifest["mediaType"],
                    [reference.parse(target)])
    distribution.push(store, target)
    assert any(r.get("scope") == "repository:push/bearer:pull,push" for r in proxy.token_requests)
    # every blob was there already: HEADs only, no upload, then the manifest
    assert not [r for r in proxy.requests if r[0] in ("POST", "PATCH")
                or (r[0] == "PUT" and "/blobs/" in r[1])]
    assert ("PUT", "/v2/push/bearer/manifests/second") in proxy.requests


def test_ctrl_c_stops_a_pull_cleanly_and_it_resumes(tmp_path: Path, registry: Registry,
                                                     auth_proxy) -> None:  # type: ignore[no-untyped-def]
    import signal
    import time

    from tests.conftest import at_a_terminal, tool

    name = push_layout(tmp_path, registry, "resume/ctrlc")
    proxy = auth_proxy("none")
    big = _biggest_layer(tmp_path, name)
    proxy.slow_blobs.add(big["digest"])
    root = tmp_path / "root"
    remote = name.replace(registry.addr, proxy.addr)
    proc = subprocess.Popen([tool("minidocker"), "--root", str(root), "pull", remote],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=at_a_terminal)
    partial = root / "image/ingest" / (str(big["digest"]).split(":")[1] + ".partial")
    deadline = time.monotonic() + 30
    while not (partial.exists() and partial.stat().st_size > 0):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    store = Store(str(root))
    assert store.images() == []
    assert [n for n in os.listdir(store.snapshots_dir) if n.startswith(".tmp")] == []
    have = partial.stat().st_size
    proxy.slow_blobs.clear()
    proxy.ranges.clear()
    assert distribution.pull(store, remote).chain_ids
    assert proxy.ranges == [f"bytes={have}-"]


def test_gc_during_a_pull_never_takes_what_the_pull_adds(tmp_path: Path, registry: Registry,
                                                         auth_proxy) -> None:  # type: ignore[no-untyped-def]
    import threading
    import time

    from minidocker.image import manage, snapshot
    from tests.unit.image.helpers import file

    name = push_layout(tmp_path, registry, "gc/during")
    proxy = auth_proxy("none")
    big = _biggest_layer(tmp_path, name)
    proxy.slow_blobs.add(big["digest"])
    store = Store(str(tmp_path / "root"))
    old = push_layout(tmp_path / "old", registry, "gc/old", layers=[[file("old", "x")]])
    distribution.pull(store, old)
    result: dict[str, object] = {}
    puller = threading.Thread(target=lambda: result.update(
        image=distribution.pull(Store(store.root), name.replace(registry.addr, proxy.addr))))
    puller.start()
    try:
        deadline = time.monotonic() + 30
        while not list(Path(store.ingest_dir).glob("*.partial")):
            assert puller.is_alive() and time.monotonic() < deadline
            time.sleep(0.02)
        assert manage.remove(store, old)[-1].startswith("Deleted: ")  # does not wait
        manage.prune(store)  # waits for the pull, then collects
    finally:
        puller.join(60)
    assert "image" in result
    fresh = store.lookup(name.replace(registry.addr, proxy.addr))
    assert all(os.path.exists(store.blob_path(d["digest"])) for d in fresh.layers)
    assert all(snapshot.exists(store, c) for c in fresh.chain_ids)
    with pytest.raises(MinidockerError):
        store.lookup(old)
