"""minidocker build: each instruction and flag, built and then run; multi-stage builds,
ARG scoping, .dockerignore, heredocs, ONBUILD, stdin builds, failures."""

from __future__ import annotations

import json
import os
import subprocess

from tests.integration.build.conftest import Builder, tar_of

EVERYTHING = """\
# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM $BASE AS base
ARG VERSION=1.0
ENV APP_HOME=/srv/app APP_VERSION=$VERSION
LABEL org.example.version="$VERSION" "quoted key"=yes
WORKDIR $APP_HOME
COPY --chown=1234:2345 --chmod=604 config.txt ./conf/
COPY data/ ./data/
ADD archive.tar.gz /opt/
ADD plain.txt /opt/plain.txt
RUN ["/bin/sh", "-c", "echo exec-form > /srv/app/exec.txt"]
RUN echo "shell form $APP_VERSION" > shell.txt && echo grp:x:4321: >> /etc/group \\
    && echo appuser:x:4321:4321::/:/bin/sh >> /etc/passwd
RUN <<EOF
echo from heredoc > /srv/app/heredoc.txt
echo second line >> /srv/app/heredoc.txt
EOF
COPY <<EOF /srv/app/generated.txt
version $APP_VERSION in $APP_HOME
EOF
SHELL ["/bin/sh", "-ec"]
RUN echo shell-changed > shell2.txt
USER appuser
RUN id -un > /tmp/whoami
EXPOSE 8080 53/udp
VOLUME /data
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=30s --timeout=5s --retries=2 CMD true
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /srv/app/generated.txt"]
"""


def test_every_instruction_and_flag(builder: Builder) -> None:
    ctx = builder.context(EVERYTHING, {
        "config.txt": "setting=1\n", "data/a.txt": "a\n", "data/sub/b.txt": "b\n",
        "archive.tar.gz": tar_of({"pkg/tool.sh": b"#!/bin/sh\necho tool\n"}, "gz", 0o755, 42),
        "plain.txt": "not an archive\n"})
    iidfile = builder.tmp / "iid"
    proc = builder.build(ctx, "-t", "app:1", "-t", "app:latest", "--build-arg",
                         "VERSION=2.5", "--label", "extra=from-cli", "--iidfile", str(iidfile))
    image_id = iidfile.read_text()
    assert image_id.startswith("sha256:") and image_id == builder.image_id(proc)
    config = builder.config("app:1")
    assert config["Id"] == image_id and set(config["RepoTags"]) == {"app:1", "app:latest"}
    c = config["Config"]
    assert "APP_VERSION=2.5" in c["Env"] and "APP_HOME=/srv/app" in c["Env"]
    assert c["Labels"] == {"org.example.version": "2.5", "quoted key": "yes",
                           "extra": "from-cli"}
    assert c["WorkingDir"] == "/srv/app" and c["User"] == "appuser"
    assert c["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert c["Volumes"] == {"/data": {}} and c["StopSignal"] == "SIGQUIT"
    assert c["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 30_000_000_000,
                                "Timeout": 5_000_000_000, "Retries": 2}
    assert c["Entrypoint"] == ["/bin/sh", "-c"]
    assert c["Cmd"] == ["cat /srv/app/generated.txt"]
    assert "VERSION" not in " ".join(c["Env"]).replace("APP_VERSION", "")  # ARG not kept
    # run it: the default command, then the files each step made
    assert builder.run("app:1") == "version 2.5 in /srv/app\n"
    listing = builder.run("app:1", "stat -c '%n %u:%g %a' conf/config.txt; "
                                   "cat conf/config.txt data/a.txt data/sub/b.txt "
                                   "exec.txt shell.txt heredoc.txt shell2.txt /tmp/whoami; "
                                   "stat -c '%n %u:%g %a' /opt/pkg/tool.sh; /opt/pkg/tool.sh; "
                                   "cat /opt/plain.txt")
    assert listing.splitlines() == [
        "conf/config.txt 1234:2345 604", "setting=1", "a", "b", "exec-form",
        "shell form 2.5", "from heredoc", "second line", "shell-changed", "appuser",
        "/opt/pkg/tool.sh 42:42 755", "tool", "not an archive"]
    history = _history(builder, "app:1")
    created_by = [h["created_by"] for h in history]
    assert "ENV APP_HOME=/srv/app APP_VERSION=2.5" in created_by
    assert any(h.startswith("RUN |1 VERSION=2.5 /bin/sh -c echo \"shell form") for h in
               created_by)
    assert "WORKDIR /srv/app" in created_by
    empty = {h["created_by"]: h.get("empty_layer", False) for h in history}
    assert empty["ENV APP_HOME=/srv/app APP_VERSION=2.5"] is True
    assert empty["COPY data/ ./data/ # buildkit"] is False
    assert builder.leftovers() == []


def _history(builder: Builder, image: str) -> list[dict[str, object]]:
    doc = builder.config(image)
    blob = doc["Id"].removeprefix("sha256:")
    path = builder.root / "image" / "oci" / "blobs" / "sha256" / blob
    history: list[dict[str, object]] = json.loads(path.read_text())["history"]
    return history


def test_multistage_target_copy_from_and_skipped_stages(builder: Builder) -> None:
    ctx = builder.context("""\
FROM busybox AS build
RUN mkdir /out && echo compiled > /out/app && chown 7:7 /out/app
FROM busybox AS unused
RUN echo this stage must never run; exit 3
FROM busybox AS test
RUN echo tested > /tested
FROM busybox
COPY --from=build /out/app /usr/local/bin/app
COPY --from=busybox /bin/busybox /copied-busybox
COPY --from=0 /out /from-index/
RUN test ! -e /tested
""")
    proc = builder.build(ctx, "-t", "multi")
    assert "this stage must never run" not in proc.stderr
    assert "echo tested" not in proc.stderr  # not needed by the final stage
    out = builder.run("multi", "stat", "-c", "%u:%g", "/usr/local/bin/app")
    assert out == "7:7\n"  # COPY --from keeps the stage's ownership
    assert builder.run("multi", "cat", "/from-index/app") == "compiled\n"
    assert builder.run("multi", "cmp", "/copied-busybox", "/bin/busybox") == ""
    proc = builder.build(ctx, "--target", "test", "-t", "only-test")
    assert "this stage must never run" not in proc.stderr
    assert builder.run("only-test", "cat", "/tested") == "tested\n"
    bad = builder.build(ctx, "--target", "nope", check=False)
    assert bad.returncode != 0 and "target stage could not be found" in bad.stderr


def test_arg_scoping(builder: Builder) -> None:
    ctx = builder.context("""\
ARG TAG=latest
ARG META=meta-value
FROM busybox:${TAG}
RUN echo "meta before redeclare: [$META]" > /a
ARG META
RUN echo "meta after redeclare: [$META]" >> /a
ARG LOCAL=default
ENV FROMENV=env-wins
ARG FROMENV=arg-loses
RUN echo "local=[$LOCAL] fromenv=[$FROMENV] unset=[$NEVER]" >> /a
FROM busybox
RUN echo "other stage: [$LOCAL][$META]" > /b
COPY --from=0 /a /a
""")
    proc = builder.build(ctx, "-t", "args", "--build-arg", "LOCAL=given",
                         "--build-arg", "UNUSED=x")
    assert builder.run("args", "cat", "/a", "/b").splitlines() == [
        "meta before redeclare: []", "meta after redeclare: [meta-value]",
        "local=[given] fromenv=[env-wins] unset=[]", "other stage: [][]"]
    assert "One or more build-args [UNUSED] were not consumed" in proc.stderr


def test_dockerignore(builder: Builder) -> None:
    ctx = builder.context("FROM busybox\nCOPY . /ctx/\n", {
        ".dockerignore": "# comment\n*.log\n!keep.log\n**/secret\ndir\n!dir/keep.txt\n"
                         "Dockerfile\n",
        "a.log": "", "keep.log": "", "top.txt": "", "sub/secret": "", "sub/deep/secret": "",
        "sub/ok": "", "dir/keep.txt": "", "dir/drop.txt": "", "nested/b.log": ""})
    builder.build(ctx, "-t", "ignored")
    listing = builder.run("ignored", "find", "/ctx", "-type", "f").split()
    assert sorted(listing) == ["/ctx/.dockerignore", "/ctx/dir/keep.txt", "/ctx/keep.log",
                               "/ctx/nested/b.log", "/ctx/sub/ok", "/ctx/top.txt"]
    missing = builder.context("FROM busybox\nCOPY a.log /\n", {
        ".dockerignore": "*.log\n", "a.log": "x"})
    proc = builder.build(missing, check=False)
    assert proc.returncode != 0
    assert "Dockerfile:2" in proc.stderr and "excluded by .dockerignore" in proc.stderr


def test_onbuild_triggers_run_in_the_child(builder: Builder) -> None:
    parent = builder.context("""\
FROM busybox
ONBUILD COPY trigger.txt /from-trigger.txt
ONBUILD RUN echo "ran in child" > /onbuild-ran
""")
    builder.build(parent, "-t", "parent-img")
    assert builder.config("parent-img")["Config"]["OnBuild"] == [
        "COPY trigger.txt /from-trigger.txt", "RUN echo \"ran in child\" > /onbuild-ran"]
    assert builder.run("parent-img", "ls", "/").split().count("onbuild-ran") == 0
    child = builder.context("FROM parent-img\nRUN cat /onbuild-ran /from-trigger.txt\n",
                            {"trigger.txt": "child context file\n"})
    proc = builder.build(child, "-t", "child-img")
    assert "ran in child" in proc.stderr and "child context file" in proc.stderr
    assert not builder.config("child-img")["Config"].get("OnBuild")


def test_build_from_stdin(builder: Builder) -> None:
    proc = builder.engine.run("build", "--network", "none", "-t", "from-stdin", "-",
                              input=b"FROM busybox\nRUN echo stdin-dockerfile > /x\n")
    assert proc.returncode == 0, proc.stderr
    assert builder.run("from-stdin", "cat", "/x") == "stdin-dockerfile\n"
    no_context = builder.engine.run("build", "--network", "none", "-",
                                    input=b"FROM busybox\nCOPY x /x\n")
    assert no_context.returncode != 0 and "needs a build context" in no_context.stderr
    archive = tar_of({"Dockerfile": b"FROM busybox\nCOPY hello.txt /\n",
                      "hello.txt": b"from a tar context\n"}, "gz")
    done = subprocess.run(builder.engine.cmd("build", "-q", "--network", "none", "-t",
                                             "tar-ctx", "-"),
                          input=archive, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().strip().startswith("sha256:")
    assert builder.run("tar-ctx", "cat", "/hello.txt") == "from a tar context\n"


def test_failures_are_one_line_and_leave_nothing(builder: Builder) -> None:
    bad = builder.context("FROM busybox\nRUN true\nFROBNICATE now\n")
    proc = builder.build(bad, check=False)
    assert proc.returncode == 1
    assert "Dockerfile:3: unknown instruction: FROBNICATE" in proc.stderr
    assert "Traceback" not in proc.stderr
    missing = builder.context("FROM busybox\nCOPY nothere.txt /\n")
    proc = builder.build(missing, check=False)
    assert proc.returncode != 0 and "Dockerfile:2" in proc.stderr
    assert "'nothere.txt': not found in the build context" in proc.stderr
    failing = builder.context("FROM busybox\nRUN echo before\nRUN echo about to fail; "
                              "exit 7\nRUN echo never\n")
    proc = builder.build(failing, check=False)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last == ("minidocker: error: Dockerfile:3: [3/4] RUN echo about to fail; exit 7: "
                    "process \"/bin/sh -c echo about to fail; exit 7\" did not complete "
                    "successfully: exit code: 7")
    assert "about to fail" in proc.stderr and "never" not in proc.stderr.replace(
        "echo never", "")
    assert builder.leftovers() == []
    outside = builder.context("FROM busybox\nCOPY link/passwd /stolen\n")
    os.symlink("/etc", outside / "link")
    proc = builder.build(outside, check=False)
    assert proc.returncode != 0 and "not found" in proc.stderr  # /etc is not in the context
    assert builder.leftovers() == []


def test_interrupted_build_leaves_nothing(builder: Builder) -> None:
    import signal
    proc = builder.start(builder.context("FROM busybox\nRUN echo started; sleep 60\n"),
                         b"started")
    proc.send_signal(signal.SIGINT)
    proc.wait(60)
    assert proc.returncode != 0
    builder.engine.wait_for(lambda: builder.leftovers() == [], timeout=30)


def test_a_killed_builds_leftovers_are_cleaned_by_the_next(builder: Builder) -> None:
    """A build killed with -9 while a read-only view was mounted leaves its work dir;
    the next build unmounts and removes it (its pid is gone)."""
    with open("/proc/sys/kernel/pid_max") as f:
        dead = int(f.read()) + 1  # no process can have it
    stale = builder.root / "build" / "tmp" / f"{dead}-1"
    (stale / "view").mkdir(parents=True)
    (stale / "layer-x").write_text("half")
    source = builder.tmp / "src"
    source.mkdir()
    subprocess.run(["mount", "--bind", str(source), str(stale / "view")], check=True)
    try:
        builder.build(builder.context("FROM busybox\n"))
        assert not stale.exists()
        assert builder.leftovers() == []
    finally:
        subprocess.run(["umount", "-l", str(stale / "view")], capture_output=True)


def test_a_build_killed_during_a_run_leaves_nothing_after_the_next(builder: Builder) -> None:
    """kill -9 of the builder while a RUN runs: its container goes on (it is the engine's);
    the next build finds its builder gone and removes it, with its work dir."""
    import signal
    proc = builder.start(builder.context("FROM busybox\nRUN echo started; sleep 120\n"),
                         b"started")
    proc.send_signal(signal.SIGKILL)
    proc.wait(60)
    assert builder.leftovers()  # the killed build's container and work dir are there
    builder.build(builder.context("FROM busybox\n"))
    builder.engine.wait_for(lambda: builder.leftovers() == [], timeout=30)
