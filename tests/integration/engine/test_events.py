"""`events`: every change of a container's state, as Docker's event stream."""

from __future__ import annotations

import json
import subprocess
import time

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
    assert result.returncode == 125 and "invalid filter" in result.stderr
    assert len(error_lines(result.stderr)) == 1
