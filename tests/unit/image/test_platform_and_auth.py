"""Platform selection from manifest lists, credentials storage, --change parsing."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from minidocker.errors import NotFound, UsageError
from minidocker.image import auth
from minidocker.image.commit import apply_changes
from minidocker.image.registry import select_platform

INDEX = {"manifests": [
    {"digest": "sha256:amd", "platform": {"os": "linux", "architecture": "amd64"}},
    {"digest": "sha256:arm7", "platform": {"os": "linux", "architecture": "arm",
                                           "variant": "v7"}},
    {"digest": "sha256:arm64", "platform": {"os": "linux", "architecture": "arm64",
                                            "variant": "v8"}},
    {"digest": "sha256:win", "platform": {"os": "windows", "architecture": "amd64"}},
]}


@pytest.mark.parametrize("wanted, digest", [
    ("linux/amd64", "sha256:amd"), ("linux/arm/v7", "sha256:arm7"),
    ("linux/arm64", "sha256:arm64"), ("linux/arm64/v8", "sha256:arm64"),
    ("windows/amd64", "sha256:win"),
])
def test_select_platform(wanted: str, digest: str) -> None:
    assert select_platform(INDEX, wanted)["digest"] == digest


def test_missing_platform_lists_what_there_is() -> None:
    with pytest.raises(NotFound, match="no image for platform linux/s390x") as err:
        select_platform(INDEX, "linux/s390x")
    assert err.value.hint and "linux/arm/v7" in err.value.hint


def test_credentials_are_private_and_removable(tmp_path: Path) -> None:
    root = str(tmp_path)
    auth.store(root, "localhost:5000", "u", "p:with:colons")
    assert auth.get(root, "localhost:5000") == ("u", "p:with:colons")
    assert stat.S_IMODE(os.stat(auth.own_file(root)).st_mode) == 0o600
    assert auth.get(root, "other") is None
    assert auth.remove(root, "localhost:5000") and not auth.remove(root, "localhost:5000")


@pytest.mark.parametrize("change, key, value", [
    ('CMD ["sh", "-c", "x"]', "Cmd", ["sh", "-c", "x"]),
    ("CMD echo hi", "Cmd", ["/bin/sh", "-c", "echo hi"]),
    ('ENTRYPOINT ["/init"]', "Entrypoint", ["/init"]),
    ("WORKDIR /srv", "WorkingDir", "/srv"),
    ("USER 1000:1000", "User", "1000:1000"),
    ("EXPOSE 80 53/udp", "ExposedPorts", {"80/tcp": {}, "53/udp": {}}),
    ('LABEL a=1 "b=two words"', "Labels", {"a": "1", "b": "two words"}),
    ("VOLUME /data", "Volumes", {"/data": {}}),
    ("STOPSIGNAL SIGINT", "StopSignal", "SIGINT"),
])
def test_changes(change: str, key: str, value: Any) -> None:
    config: dict[str, Any] = {}
    apply_changes(config, [change])
    assert config[key] == value


def test_env_changes_replace_existing_keys() -> None:
    config: dict[str, Any] = {"Env": ["PATH=/bin", "A=old"]}
    apply_changes(config, ["ENV A=new B=2", "ENV C legacy form"])
    assert config["Env"] == ["PATH=/bin", "A=new", "B=2", "C=legacy form"]


@pytest.mark.parametrize("change", ["RUN true", 'CMD ["unclosed"', "ENV =x", "ENV"])
def test_bad_changes_are_usage_errors(change: str) -> None:
    with pytest.raises(UsageError):
        apply_changes({}, [change])
