"""`events`: every change of a container's state, as Docker's event stream."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from tests.conftest import error_lines
from tests.integration.engine.conftest import Engine


def test_lifecycle_events_in_order_with_filters_and_format(engine: Engine) -> None:
    engine.run("run", "--rm", "--name", "once", engine.image, "sh", "-c", "exit 3")
    engine.ok("run", "-d", "--name", "svc", "-l", "team=a", engine.image, "sleep", "60")
    for step in (["pause", "svc"], ["unpause", "svc"], ["stop", "-t", "1", "svc"],
                 ["rm", "svc"]):
        engine.ok(*step)
    past = ["events", "--since", "10m", "--until", "0s"]
    actions = engine.ok(*past, "--filter", "container=once", "--format", "{{.Action}}")
    assert actions.split() == ["create", "start", "die", "destroy"]
    svc = engine.ok(*past, "--filter", "container=svc", "--format", "{{.Action}}").split()
    assert svc[:4] == ["create", "start", "pause", "unpause"]
    assert svc[4] == "kill" and svc[-3:] == ["die", "stop", "destroy"]
    die = engine.ok(*past, "--filter", "event=die", "--filter", "container=once",
                    "--format", "json")
    event = json.loads(die)
    assert event["Actor"]["Attributes"]["exitCode"] == "3"
    assert event["Type"] == "container" and event["Actor"]["Attributes"]["name"] == "once"
    labelled = engine.ok(*past, "--filter", "label=team=a", "--format", "{{.Action}}")
    assert labelled.split() == svc
    line = engine.ok(*past, "--filter", "event=create", "--filter", "container=svc")
    assert " container create " in line and "name=svc" in line and "team=a" in line


def test_events_follow_new_ones_only(engine: Engine) -> None:
    engine.ok("run", "--rm", "--name", "before", engine.image, "true")
    follower = subprocess.Popen(engine.cmd("events", "--format", "{{.Action}} "
                                           "{{.Actor.Attributes.name}}"),
                                stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)  # its start: what happens from now on
        engine.ok("run", "--rm", "--name", "after", engine.image, "true")
        assert follower.stdout is not None
        seen = [follower.stdout.readline().strip() for _ in range(4)]
    finally:
        follower.kill()
        follower.wait()
    assert seen == ["create after", "start after", "die after", "destroy after"]


def test_bad_filter_is_one_line(engine: Engine) -> None:
    result = engine.run("events", "--filter", "colour=red")
    assert result.returncode == 1 and "invalid filter" in result.stderr  # Docker's: 1
    assert len(error_lines(result.stderr)) == 1


def test_image_network_and_volume_events(engine: Engine, tmp_path: Path) -> None:
    """Docker's events of images (import, tag, save, load, untag, delete), networks
    (create, connect, disconnect, destroy) and volumes (create, destroy, also one that a
    run makes), with Actor.ID and attributes as dockerd's, and the type=, image=,
    network= and volume= filters."""
    archive = tmp_path / "img.tar"
    subprocess.run(["tar", "-C", engine.image, "-cf", str(archive), "."], check=True)
    image_id = engine.ok("import", str(archive), "ev:1").strip()
    engine.ok("tag", "ev:1", "ev:2")
    engine.ok("save", "-o", str(tmp_path / "saved.tar"), "ev:1")
    engine.ok("rmi", "ev:2")
    engine.ok("load", "-i", str(tmp_path / "saved.tar"))
    net_id = engine.ok("network", "create", "evnet").strip()
    cid = engine.ok("create", "--name", "c", "-v", "evvol:/data", "ev:1", "true").strip()
    engine.ok("network", "connect", "evnet", "c")
    engine.ok("network", "disconnect", "evnet", "c")
    engine.ok("network", "rm", "evnet")
    engine.ok("rm", "c")
    engine.ok("volume", "rm", "evvol")
    engine.ok("rmi", "ev:1")
    past = ["events", "--since", "10m", "--until", "0s", "--format",
            "{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}"]

    def events(*filters: str) -> list[str]:
        args = [a for f in filters for a in ("--filter", f)]
        return engine.ok(*past, *args).splitlines()

    assert events("type=image") == [
        f"image import {image_id} {image_id}", f"image tag {image_id} ev:2",
        f"image save {image_id} {image_id}", f"image untag {image_id} {image_id}",
        f"image load {image_id} {image_id}", f"image untag {image_id} {image_id}",
        f"image delete {image_id} {image_id}"]
    assert events("type=network") == [f"network {a} {net_id} evnet" for a in (
        "create", "connect", "disconnect", "destroy")]
    assert events("network=evnet") == events("type=network")
    connect = json.loads(engine.ok("events", "--since", "10m", "--until", "0s", "--filter",
                                   "event=connect", "--format", "{{json .}}"))
    assert connect["Actor"]["Attributes"] == {"container": cid, "name": "evnet",
                                              "type": "bridge"}
    assert events("type=volume") == ["volume create evvol <no value>",
                                     "volume destroy evvol <no value>"]
    assert events("volume=evvol", "event=create") == ["volume create evvol <no value>"]
    assert [e.split()[:2] for e in events("image=ev:1")] == [["container", "create"],
                                                             ["container", "destroy"]]
    assert [e.split()[:2] for e in events("image=ev")] == [["image", "tag"], *[
        ["container", "create"], ["container", "destroy"]]]  # ev:2 and ev:1, untagged
