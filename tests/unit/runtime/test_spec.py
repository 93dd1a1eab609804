"""config.json validation: every bad document names the field at fault."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from minidocker.errors import InvalidConfig
from minidocker.runtime.spec import default_spec, load_bundle, namespaces, validate


def test_default_spec_is_valid() -> None:
    validate(default_spec())
    validate(default_spec(rootless=True))


def test_rootless_spec_maps_own_ids() -> None:
    spec = default_spec(rootless=True)
    kinds = {ns["type"] for ns in spec["linux"]["namespaces"]}
    assert "user" in kinds and "network" not in kinds
    assert spec["linux"]["uidMappings"][0]["size"] == 1
    assert all(m["type"] != "cgroup" for m in spec["mounts"])


def bad(change, message: str) -> None:
    spec = default_spec()
    change(spec)
    with pytest.raises(InvalidConfig) as err:
        validate(spec)
    assert message in str(err.value)


@pytest.mark.parametrize("change,message", [
    (lambda s: s.pop("ociVersion"), "ociVersion: is required"),
    (lambda s: s.update(ociVersion="2.0.0"), "unsupported version"),
    (lambda s: s["process"].update(args=[]), "process.args: must name the program"),
    (lambda s: s["process"].update(args="sh"), "process.args: must be an array"),
    (lambda s: s["process"].update(args=["sh", 3]), "process.args[1]: must be a string"),
    (lambda s: s["process"].update(env=["NOEQUALS"]), "process.env[0]"),
    (lambda s: s["process"].update(cwd="relative"), "process.cwd"),
    (lambda s: s["process"]["user"].update(uid=-1), "process.user.uid: must not be negative"),
    (lambda s: s["process"]["user"].update(uid="0"), "process.user.uid: must be an integer"),
    (lambda s: s["process"]["user"].update(uid=True), "process.user.uid: must be a number"),
    (lambda s: s["process"]["capabilities"]["bounding"].append("CAP_NOPE"),
     "unknown capability 'CAP_NOPE'"),
    (lambda s: s["process"]["rlimits"].append({"type": "RLIMIT_X", "soft": 1, "hard": 1}),
     "unknown rlimit"),
    (lambda s: s["process"]["rlimits"].append({"type": "RLIMIT_CORE", "soft": 2, "hard": 1}),
     "soft limit is above the hard limit"),
    (lambda s: s["mounts"].append({"destination": "rel"}), "mounts[7].destination"),
    (lambda s: s["mounts"].append({"source": "/x"}), "mounts[7].destination: must be a str"),
    (lambda s: s["linux"]["namespaces"].append({"type": "pid"}), "listed twice"),
    (lambda s: s["linux"]["namespaces"].append({"type": "nope"}), "unknown namespace type"),
    (lambda s: s["linux"].update(uidMappings=[{"containerID": 0, "hostID": 1, "size": 1}]),
     "mappings need a user namespace"),
    (lambda s: s["linux"].update(rootfsPropagation="weird"), "unknown propagation"),
    (lambda s: s["linux"].update(devices=[{"path": "/dev/x", "type": "z"}]),
     "unknown device type"),
    (lambda s: s["linux"].update(timeOffsets={"boottime": {"secs": 1}}),
     "needs a time namespace"),
    (lambda s: s.update(hooks={"prestart": [{"path": "rel"}]}), "must be an absolute path"),
    (lambda s: s.update(hooks={"poststart": [{"path": "/x", "timeout": 0}]}),
     "must be greater than zero"),
    (lambda s: s.update(hooks={"whenever": []}), "unknown hook stage"),
    (lambda s: s.update(hostname=5), "config.hostname: must be a string"),
])
def test_invalid_documents(change, message: str) -> None:
    bad(change, message)


def test_load_bundle_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfig, match="config.json not found"):
        load_bundle(str(tmp_path))
    (tmp_path / "config.json").write_text("[1, 2")
    with pytest.raises(InvalidConfig, match="not valid JSON"):
        load_bundle(str(tmp_path))
    spec = default_spec()
    (tmp_path / "config.json").write_text(json.dumps(spec))
    with pytest.raises(InvalidConfig, match="no such directory"):
        load_bundle(str(tmp_path))
    (tmp_path / "rootfs").mkdir()
    loaded, rootfs = load_bundle(str(tmp_path))
    assert rootfs == str((tmp_path / "rootfs").resolve())
    assert loaded["process"]["args"] == ["sh"]


def test_namespaces_with_and_without_paths() -> None:
    spec = copy.deepcopy(default_spec())
    spec["linux"]["namespaces"][1]["path"] = "/run/netns/x"
    ns = namespaces(spec)
    assert ns["network"] == "/run/netns/x" and ns["pid"] is None
