"""The build cache: an unchanged rebuild runs nothing and gives the same image; touching a
copied file invalidates exactly the steps from its COPY on; --no-cache; cache mounts keep
their content across builds; builder prune and image prune remove cache."""

from __future__ import annotations

import os
import re
import time

from tests.integration.build.conftest import Builder

DOCKERFILE = """\
FROM busybox
RUN echo one > /one
COPY first.txt /first.txt
RUN echo two > /two
COPY second.txt /second.txt
RUN cat /first.txt /second.txt > /both
CMD ["cat", "/both"]
"""


def step_states(stderr: str) -> dict[str, str]:
    """Step name -> CACHED or DONE, from the plain progress."""
    names: dict[str, str] = {}
    out: dict[str, str] = {}
    for line in stderr.splitlines():
        match = re.match(r"#(\d+) (\[\d+/\d+\] .*)$", line)
        if match:
            names[match.group(1)] = match.group(2)
            continue
        match = re.match(r"#(\d+) (CACHED|DONE)", line)
        if match and match.group(1) in names:
            out[names[match.group(1)]] = match.group(2)
    return out


def test_cache_hits_misses_and_touch(builder: Builder) -> None:
    ctx = builder.context(DOCKERFILE, {"first.txt": "1\n", "second.txt": "2\n"})
    first = builder.build(ctx, "-t", "cached")
    assert "CACHED" not in "".join(v for k, v in step_states(first.stderr).items()
                                   if "FROM" not in k)
    again = builder.build(ctx, "-t", "cached")
    states = step_states(again.stderr)
    assert len(states) == 7 and set(states.values()) == {"CACHED"}
    assert builder.image_id(again) == builder.image_id(first)  # the same image, not a copy
    # touch the second copied file: the steps before its COPY hit, it and those after run
    time.sleep(0.01)
    os.utime(ctx / "second.txt")
    touched = step_states(builder.build(ctx, "-t", "cached").stderr)
    assert [touched[k] for k in sorted(touched, key=lambda k: int(k[1:].split("/")[0]))] == \
        ["CACHED"] * 4 + ["DONE"] * 3
    # a content change of the first file: from its COPY on
    (ctx / "first.txt").write_text("changed\n")
    changed = builder.build(ctx, "-t", "cached")
    states = step_states(changed.stderr)
    assert [states[k] for k in sorted(states, key=lambda k: int(k[1:].split("/")[0]))] == \
        ["CACHED"] * 2 + ["DONE"] * 5
    assert builder.run("cached") == "changed\n2\n"
    # a changed instruction misses from there on; --no-cache runs everything
    (ctx / "Dockerfile").write_text(DOCKERFILE.replace("echo two", "echo TWO"))
    states = step_states(builder.build(ctx).stderr)
    assert [states[k] for k in sorted(states, key=lambda k: int(k[1:].split("/")[0]))] == \
        ["CACHED"] * 3 + ["DONE"] * 4
    states = step_states(builder.build(ctx, "--no-cache").stderr)
    assert "CACHED" not in [v for k, v in states.items() if "FROM" not in k]
    # a build arg used by a RUN is in its key
    (ctx / "Dockerfile").write_text("FROM busybox\nARG V=1\nRUN echo $V > /v\n")
    builder.build(ctx)
    states = step_states(builder.build(ctx, "--build-arg", "V=2").stderr)
    assert states["[3/3] RUN echo $V > /v"] == "DONE"
    assert builder.leftovers() == []


def test_cache_mount_keeps_its_content(builder: Builder) -> None:
    dockerfile = ("FROM busybox\nARG N\n"
                  "RUN --mount=type=cache,id=counter,target=/cache "
                  "echo run $N >> /cache/log && cp /cache/log /seen\n"
                  "RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && test -f "
                  "/scratch/x\n"
                  "RUN --mount=type=bind,source=input,target=/in cat /in/file > /copied\n")
    ctx = builder.context(dockerfile, {"input/file": "bound\n"})
    builder.build(ctx, "--build-arg", "N=1", "-t", "cm1")
    builder.build(ctx, "--build-arg", "N=2", "-t", "cm2")
    assert builder.run("cm2", "cat", "/seen") == "run 1\nrun 2\n"
    assert builder.run("cm2", "cat", "/copied") == "bound\n"
    # neither the cache mount's content nor the tmpfs is in the image
    assert builder.run("cm2", "sh", "-c", "ls /cache /scratch 2>/dev/null | wc -w") == "0\n"
    # the bound file is in the RUN's key: changing it runs the step again
    (ctx / "input" / "file").write_text("changed\n")
    builder.build(ctx, "--build-arg", "N=2", "-t", "cm3")
    assert builder.run("cm3", "cat", "/copied") == "changed\n"
    assert builder.leftovers() == []


def test_builder_prune_and_image_prune(builder: Builder) -> None:
    ctx = builder.context("FROM busybox\nRUN echo data > /data\n")
    builder.build(ctx, "-t", "pruned")
    cache_dir = builder.root / "image" / "buildcache" / "keys"
    assert os.listdir(cache_dir)
    # the image's own layers are in use: image prune keeps what builds of it need
    builder.engine.ok("image", "prune", "-f")
    states = step_states(builder.build(ctx, "-t", "pruned").stderr)
    assert states["[2/2] RUN echo data > /data"] == "CACHED"
    builder.engine.ok("rmi", "pruned")
    builder.engine.ok("image", "prune", "-f")  # now unused: gone
    states = step_states(builder.build(ctx, "-t", "pruned").stderr)
    assert states["[2/2] RUN echo data > /data"] == "DONE"
    out = builder.engine.ok("builder", "prune", "-a", "-f")
    assert "Total reclaimed space" in out
    assert not os.listdir(cache_dir)
    states = step_states(builder.build(ctx, "-t", "pruned").stderr)
    assert states["[2/2] RUN echo data > /data"] == "DONE"
    assert builder.run("pruned", "cat", "/data") == "data\n"


def test_builder_prune_filters_and_keep_storage(builder: Builder) -> None:
    """builder prune --filter until= takes only records not used for that long, id= and
    description= pick records; --keep-storage removes the least recently used records
    only until the cache holds at most that much; a filter it has not is refused."""
    cache_dir = builder.root / "image" / "buildcache" / "keys"
    old = builder.context("FROM busybox\nRUN echo old > /old\n")
    builder.build(old, "-t", "old")
    for name in os.listdir(cache_dir):  # last used two hours ago (a hit marks it again)
        then = time.time() - 7200
        os.utime(cache_dir / name, (then, then))
    new = builder.context("FROM busybox\nRUN echo new > /new\nRUN head -c 300000 "
                          "/dev/urandom > /big\n")
    builder.build(new, "-t", "new")
    count = len(os.listdir(cache_dir))
    prune = ["builder", "prune", "-a", "-f"]
    assert "Deleted build cache objects" not in builder.engine.ok(*prune, "--filter",
                                                                  "until=3h")
    assert len(os.listdir(cache_dir)) == count
    builder.engine.ok(*prune, "--filter", "until=1h")  # the first build's records only
    states = step_states(builder.build(new, "-t", "new").stderr)
    assert states["[2/3] RUN echo new > /new"] == "CACHED"
    states = step_states(builder.build(old, "-t", "old").stderr)
    assert states["[2/2] RUN echo old > /old"] == "DONE"
    builder.engine.ok(*prune, "--filter", "description=echo old")
    assert step_states(builder.build(old, "-t", "old").stderr)[
        "[2/2] RUN echo old > /old"] == "DONE"
    time.sleep(0.1)
    builder.build(new, "-t", "new")  # its records are now the most recently used
    from minidocker.image import buildcache
    from minidocker.image.store import Store
    store = Store(str(builder.root))
    total = sum(buildcache.layer_sizes(store, buildcache.keys(store)).values())
    assert total > 1_300_000  # busybox's layer and the 300 kB one, each counted once
    builder.engine.ok(*prune, "--keep-storage", str(total - 50))  # the oldest goes alone
    states = step_states(builder.build(new, "-t", "new").stderr)
    assert set(states.values()) == {"CACHED"}, states
    states = step_states(builder.build(old, "-t", "old").stderr)
    assert states["[2/2] RUN echo old > /old"] == "DONE"
    builder.engine.ok(*prune, "--keep-storage", "1kb")  # at most 1 kB left: no big layer
    states = step_states(builder.build(new, "-t", "new").stderr)
    assert states["[3/3] RUN head -c 300000 /dev/urandom > /big"] == "DONE", states
    bad = builder.engine.run(*prune, "--filter", "colour=red")
    assert bad.returncode == 1 and "invalid filter 'colour'" in bad.stderr
