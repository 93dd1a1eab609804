"""Bearer token auth against the registry's own token verification: docker-registry with
`auth: token` checks the RS256 JWTs our test token server signs; skopeo and minidocker
both go through it."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from minidocker.cli.progress import Progress
from minidocker.errors import MinidockerError
from minidocker.image import distribution, reference
from minidocker.image.store import Store
from tests.integration.image.conftest import Registry, TokenServer
from tests.unit.image.helpers import add_image, write_layout
from tests.unit.image.helpers import file as f


def test_login_pull_and_push_with_registry_verified_tokens(
        tmp_path: Path, token_registry: tuple[Registry, TokenServer]) -> None:
    registry, tokens = token_registry
    layout = tmp_path / "layout"
    write_layout(layout, {"t": add_image(layout, [[f("hello", "world")], [f("x", "y")]])})
    name = f"{registry.addr}/secret/app:1"
    subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false",
                    "--dest-creds", "alice:wonderland", f"oci:{layout}:t", f"docker://{name}"],
                   check=True, capture_output=True, timeout=120)

    store = Store(str(tmp_path / "root"))
    with pytest.raises(MinidockerError, match="token server refused"):
        distribution.pull(store, name)
    with pytest.raises(MinidockerError, match="token server refused"):
        distribution.login(store, registry.addr, "alice", "wrong")
    distribution.login(store, registry.addr, "alice", "wonderland")
    image = distribution.pull(store, name)
    assert len(image.chain_ids) == 2
    assert {"service": TokenServer.SERVICE, "scope": "repository:secret/app:pull"} \
        in tokens.requests

    target = f"{registry.addr}/secret/copy:2"
    store.add_image(image.manifest_digest, image.manifest_size, image.manifest["mediaType"],
                    [reference.parse(target)])
    out = io.StringIO()
    assert distribution.push(store, target, progress=Progress(out)) == image.manifest_digest
    assert out.getvalue().count("Mounted from secret/app") == 3  # two layers and the config
    # the blobs are mounted from the repository the image came from, not sent again
    assert {"service": TokenServer.SERVICE,
            "scope": "repository:secret/copy:pull,push repository:secret/app:pull"} \
        in tokens.requests
    out = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--creds",
                          "alice:wonderland", f"docker://{target}"], check=True,
                         capture_output=True, text=True).stdout
    assert image.manifest_digest in out
