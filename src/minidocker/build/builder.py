"""The builder: a Dockerfile and a context become an image (docs/build.md).

`build()` is the one entry point for front ends. It parses the Dockerfile, builds the
target stage and (on demand, recursively) the stages it needs, one step after another.
Every step leaves a state (an image manifest and config, build/cache records it under the
step's key); a step whose key was seen before takes that state and runs nothing. RUN
runs in an engine container (build/runner.py), COPY and ADD write their layer directly
(build/copy.py), WORKDIR makes its directory as a small layer, everything else only edits
the config. History entries are written as BuildKit writes them.
"""

from __future__ import annotations

import copy as copy_module
import json
import os
import posixpath
import stat
import time
from typing import Any

from minidocker.build import cache, events, instructions, parser, remote, runner, shell
from minidocker.build import context as contexts
from minidocker.build import copy as copying
from minidocker.build.instructions import Instruction
from minidocker.build.view import View
from minidocker.engine.service import Context
from minidocker.errors import MinidockerError, UsageError
from minidocker.image import buildcache, snapshot
from minidocker.image import reference as refs
from minidocker.image.store import Image, Store
from minidocker.sink import Sink

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_SHELL = ["/bin/sh", "-c"]
HISTORY_COMMENT = "buildkit.dockerfile.v0"
PROXY_ARGS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
              "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")
NETWORKS = ("default", "none", "host")


class BuildError(MinidockerError):
    """A step failed: the message names the Dockerfile line and the step. Exit code 1,
    as `docker build` fails."""

    exit_code = 1

    def __init__(self, message: str, *, line: int = 0, step: str = "",
                 hint: str | None = None, exit_code: int | None = None):
        prefix = f"Dockerfile:{line}: " if line else ""
        where = f"{step}: " if step else ""
        super().__init__(prefix + where + message, hint=hint, exit_code=exit_code)
        self.line = line
        self.step = step


class BuildOptions:
    def __init__(self, *, dockerfile: str = "Dockerfile", dockerfile_text: str | None = None,
                 tags: list[str] | None = None, build_args: dict[str, str] | None = None,
                 target: str = "", no_cache: bool = False, pull: bool = False,
                 labels: dict[str, str] | None = None, network: str = "default"):
        self.dockerfile = dockerfile
        self.dockerfile_text = dockerfile_text
        self.tags = tags or []
        self.build_args = build_args or {}
        self.target = target
        self.no_cache = no_cache
        self.pull = pull
        self.labels = labels or {}
        self.network = network


class State:
    """Where a stage stands: the image so far (a build state) and its cache key."""

    def __init__(self, image: Image, key: str):
        self.image = image
        self.key = key

    @property
    def config(self) -> dict[str, Any]:
        return self.image.config


def now() -> str:
    import datetime
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _clean_stale(ctx: Context, workdir: str) -> None:
    """What a build killed on the way left in its work dir (`<pid>-<ns>`, its pid gone):
    a read-only view still mounted, a context copy, a layer being written; and then its
    RUN container, if one was running (runner.reap_orphans)."""
    try:
        names = os.listdir(workdir)
    except FileNotFoundError:
        return
    stale = []
    for name in names:
        pid = name.partition("-")[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            stale.append(os.path.join(workdir, name))
    if not stale:
        return
    from minidocker.linux import libc
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split()[4] for line in f]
    for path in stale:
        for target in sorted((m for m in mounts if m.startswith(path + "/")), key=len,
                             reverse=True):
            try:
                libc.umount2(target, libc.MNT_DETACH)
            except OSError:
                pass
        import shutil
        shutil.rmtree(path, ignore_errors=True)
    runner.reap_orphans(ctx)


def _commits() -> Any:
    """image.commit (layers, manifests), imported when a step writes something: a build
    whose steps all hit never pays for tarfile and gzip."""
    from minidocker.image import commit
    return commit


def _rmtree(path: str) -> None:
    try:
        os.rmdir(path)  # the common case: nothing left in it
    except FileNotFoundError:
        pass
    except OSError:
        import shutil
        shutil.rmtree(path, ignore_errors=True)


def build(ctx: Context, source: contexts.Context, options: BuildOptions,
          sink: events.Sink = events.discard) -> str:
    """Build; returns the image ID. `ctx` is the engine service layer's context (root,
    runtime, spawn mode); `sink` receives build.events objects, in order. What the
    engine reports while it works for the build (a base image's pull, a warning of a
    RUN container) reaches `sink` too, as Log lines of the step and Warnings."""
    root = ctx.root
    if options.network not in NETWORKS:
        raise UsageError(f"network mode {options.network!r} not supported by the builder",
                         hint="use default, none or host")
    store = Store(root)
    store.init()
    workdir = os.path.join(root, "build", "tmp")
    os.makedirs(workdir, exist_ok=True)
    _clean_stale(ctx, workdir)
    run_dir = os.path.join(workdir, f"{os.getpid()}-{time.time_ns()}")
    os.mkdir(run_dir, 0o700)
    run = _Build(store, root, source, options, sink, run_dir)
    run.ctx = ctx.with_sink(_EngineSink(run))
    try:
        with store.writing():  # no gc removes a state between its steps
            return run.build()
    finally:
        for view in run.views:
            view.__exit__()
        run.checksums.save()
        _rmtree(run.workdir)


PRUNE_FILTERS = ("until", "id", "description")


def prune(ctx: Context, *, all: bool = False,  # noqa: A002
          filters: dict[str, list[str]] | None = None, keep_storage: int = 0
          ) -> dict[str, Any]:
    """`builder prune` (POST /build/prune): the cache records whose layers no image has,
    or all of them; filters until= (not used for that long, or since that time), id=
    (a key's prefix) and description= (a part of the step's); with `keep_storage`, the
    least recently used go only until the cache takes at most that many bytes. Docker's
    BuildCachePruneReport. What builds killed on the way left (work dirs, views, RUN
    containers) goes first."""
    from minidocker.errors import UsageError
    from minidocker.image import manage
    wanted = dict(filters or {})
    for key in wanted:
        if key not in PRUNE_FILTERS:
            raise UsageError(f"invalid filter '{key}'",
                             hint="builder prune filters: until=, id=, description=")
    limit = None
    if wanted.get("until"):
        from minidocker.engine.service.filters import until
        limit = until(wanted)

    ids = [v.removeprefix("sha256:") for v in wanted.get("id", [])]
    words = wanted.get("description", [])

    def chosen(record: dict[str, Any]) -> bool:
        key = str(record["key"]).removeprefix("sha256:")
        described = str(record.get("description") or "")
        return (limit is None or float(record.get("used") or 0) < limit) and \
            (not ids or any(key.startswith(i) for i in ids)) and \
            (not words or any(w in described for w in words))

    _clean_stale(ctx, os.path.join(ctx.root, "build", "tmp"))
    removed, reclaimed = manage.prune_build_cache(
        Store(ctx.root), all_records=all, wanted=chosen if wanted else None,
        keep_storage=max(0, int(keep_storage or 0)))
    return {"CachesDeleted": [k.removeprefix("sha256:") for k in removed],
            "SpaceReclaimed": reclaimed}


class _EngineSink(Sink):
    """The engine's reports during a build (a pull's progress, warnings) as events of the
    step under way."""

    def __init__(self, build: _Build):
        self.build = build

    def _line(self, text: str) -> None:
        self.build.sink(events.Log(self.build.vertex, 1, (text + "\n").encode(),
                                   time.monotonic() - self.build.vertex_start))

    def warning(self, message: str) -> None:
        self.build.sink(events.Warning(message))

    def status(self, text: str) -> None:
        self._line(text)

    def item(self, id: str, status: str, total: int = 0) -> None:
        self._line(f"{id}: {status}")

    def update(self, id: str, status: str) -> None:
        self._line(f"{id}: {status}")

    def stream(self, text: str) -> None:
        self._line(text.rstrip("\n"))


class _Build:
    def __init__(self, store: Store, root: str, source: contexts.Context,
                 options: BuildOptions, sink: events.Sink, workdir: str):
        self.store = store
        self.root = root
        self.ctx: Context = Context(root)
        self.vertex_start = time.monotonic()
        self.source = source
        self.options = options
        self.sink = sink
        self.workdir = workdir
        self.checksums = cache.Checksums(os.path.join(root, "build", "checksums.json"))
        self.vertex = 0
        self.used_args: set[str] = set()
        self.stage_results: dict[int, State] = {}
        self.building: set[int] = set()
        self.meta: dict[str, str] = {}
        self.program: instructions.Program | None = None
        self.single_stage = True
        self.base_images: dict[str, Image] = {}
        self.views: list[View] = []        # read-only views that RUN mounts use
        self.temporary: list[str] = []     # copies for RUN --mount=type=bind,rw

    # ---- events

    def _vertex(self, name: str, step: int = 0, total: int = 0, stage: str = "",
                instruction: str = "") -> tuple[int, float]:
        self.vertex += 1
        self.vertex_start = time.monotonic()
        self.sink(events.Vertex(self.vertex, name, step, total, stage, instruction))
        return self.vertex, time.monotonic()

    def _done(self, vid: int, started: float, cached: bool = False, result: str = "") -> None:
        self.sink(events.Done(vid, cached, time.monotonic() - started, result))

    # ---- the whole build

    def build(self) -> str:
        vid, t0 = self._vertex("[internal] load build definition from "
                               + (os.path.basename(self.options.dockerfile) or "Dockerfile"))
        try:
            self.source.open()
            text = self.options.dockerfile_text
            if text is None:
                text = self.source.dockerfile(self.options.dockerfile)
            dockerfile = parser.parse(text)
            self.program = instructions.program(dockerfile)
        except parser.ParseError as e:
            self.sink(events.Failed(vid, time.monotonic() - t0, e.message))
            raise BuildError(e.reason, line=e.line) from None
        except MinidockerError as e:
            self.sink(events.Failed(vid, time.monotonic() - t0, e.message))
            raise
        self._done(vid, t0)
        for warning in dockerfile.warnings:
            self.sink(events.Warning(warning))
        vid, t0 = self._vertex("[internal] load .dockerignore")
        self._done(vid, t0)
        self.single_stage = len(self.program.stages) == 1
        self.meta = self._meta_args(self.program.meta_args)
        target = self._target_stage()
        state = self._stage(target.index)
        self._warn_unused_args()
        return self._export(state)

    def _meta_args(self, args: list[instructions.Arg]) -> dict[str, str]:
        from minidocker.image.hostplatform import host_platform
        platform = host_platform()
        os_name, _, arch = platform.partition("/")
        arch, _, variant = arch.partition("/")
        values = {"TARGETPLATFORM": platform, "TARGETOS": os_name, "TARGETARCH": arch,
                  "TARGETVARIANT": variant, "BUILDPLATFORM": platform, "BUILDOS": os_name,
                  "BUILDARCH": arch, "BUILDVARIANT": variant}
        for arg in args:
            for key, default in arg.pairs:
                if key in self.options.build_args:
                    values[key] = self.options.build_args[key]
                    self.used_args.add(key)
                elif default is not None:
                    values[key] = self._expand(arg, default, values)
        return values

    def _target_stage(self) -> instructions.Stage:
        assert self.program is not None
        if not self.options.target:
            return self.program.stages[-1]
        for stage in self.program.stages:
            if stage.name == self.options.target.lower():
                return stage
        raise UsageError(f"failed to reach build target {self.options.target} in "
                         "Dockerfile: target stage could not be found")

    def _warn_unused_args(self) -> None:
        unused = sorted(k for k in self.options.build_args
                        if k not in self.used_args and k not in PROXY_ARGS)
        if unused:
            self.sink(events.Warning("[Warning] One or more build-args "
                                     f"[{' '.join(unused)}] were not consumed"))

    def _stage_ref(self, name: str) -> instructions.Stage | None:
        assert self.program is not None
        for stage in self.program.stages:
            if stage.name and stage.name == name.lower():
                return stage
        if name.isdigit() and int(name) < len(self.program.stages):
            return self.program.stages[int(name)]
        return None

    # ---- a stage

    def _stage(self, index: int) -> State:
        assert self.program is not None
        if index in self.stage_results:
            return self.stage_results[index]
        if index in self.building:
            raise BuildError("circular dependency between build stages",
                             line=self.program.stages[index].base.line)
        self.building.add(index)
        stage = self.program.stages[index]
        label = stage.name or f"stage-{stage.index}"
        total = len(stage.steps) + 1
        runner_ = _Stage(self, stage, label, total)
        state = runner_.run()
        self.building.discard(index)
        self.stage_results[index] = state
        return state

    # ---- the image

    def _export(self, state: State) -> str:
        vid, t0 = self._vertex("exporting to image")
        image = state.image
        if self.options.labels:
            config = copy_module.deepcopy(image.config)
            labels = config["config"].get("Labels") or {}
            labels.update(self.options.labels)
            config["config"]["Labels"] = labels
            image = _commits().write_manifest(self.store, config, image.layers)
            buildcache.add_state(self.store, image)
        self.sink(events.Log(vid, 1, f"writing image {image.id} done\n".encode(),
                             time.monotonic() - t0))
        tags = [refs.parse(t) for t in self.options.tags]
        self.store.add_image(image.manifest_digest, image.manifest_size
                             or len(self.store.read_blob(image.manifest_digest)),
                             image.manifest.get("mediaType") or _commits().st.MEDIA_OCI_MANIFEST,
                             tags)
        for tag in tags:
            self.sink(events.Log(vid, 1, f"naming to {tag} done\n".encode(),
                                 time.monotonic() - t0))
        self._done(vid, t0)
        self.sink(events.Built(image.id, [t.familiar() for t in tags]))
        return image.id

    # ---- helpers

    def _expand(self, instruction: Instruction, word: str, env: dict[str, str]) -> str:
        try:
            return shell.expand(word, env, self.escape)
        except shell.ExpandError as e:
            raise BuildError(e.message, line=instruction.line) from None

    @property
    def escape(self) -> str:
        return self.program.escape if self.program else "\\"

    def base_image(self, name: str, instruction: Instruction) -> Image:
        if name in self.base_images:
            return self.base_images[name]
        image = None if self.options.pull else self.store.try_lookup(name)
        if image is None:
            from minidocker.engine.service import images
            try:
                image = images.pull_into(self.ctx, self.store, name)
            except MinidockerError as e:
                raise BuildError(f"failed to resolve source metadata for {name}: "
                                 f"{e.message}", line=instruction.line, hint=e.hint) from None
        self.base_images[name] = image
        return image


class _Stage:
    """One stage's steps, from its FROM to its last instruction."""

    def __init__(self, build: _Build, stage: instructions.Stage, label: str, total: int):
        self.b = build
        self.stage = stage
        self.label = label
        self.total = total
        self.args: dict[str, str | None] = {}   # declared ARGs in order (None: no value)
        self.cmd_set = False
        self.step = 0

    # -- naming

    def name(self, instruction: Instruction, text: str | None = None) -> str:
        shown = text if text is not None else instruction.text()
        prefix = f"{self.step}/{self.total}"
        if not self.b.single_stage:
            prefix = f"{self.label} {prefix}"
        return f"[{prefix}] {shown}"

    def error(self, instruction: Instruction, message: str, **kw: Any) -> BuildError:
        return BuildError(message, line=instruction.line, step=self.name(instruction), **kw)

    # -- environment

    def env(self, config: dict[str, Any]) -> dict[str, str]:
        """What variables expand to here: declared ARGs, then ENV over them."""
        env = {k: v for k, v in self.args.items() if v is not None}
        for item in (config.get("config") or {}).get("Env") or []:
            key, _, value = item.partition("=")
            env[key] = value
        return env

    def run_env(self, config: dict[str, Any]) -> list[str]:
        """A RUN's environment: the image's Env, declared ARGs it does not set, and the
        proxy args given on the command line."""
        env = list((config.get("config") or {}).get("Env") or [])
        keys = {e.partition("=")[0] for e in env}
        for key, value in self.args.items():
            if value is not None and key not in keys:
                env.append(f"{key}={value}")
                keys.add(key)
        for key in PROXY_ARGS:
            if key in self.b.options.build_args and key not in keys:
                env.append(f"{key}={self.b.options.build_args[key]}")
        return env

    def expand(self, instruction: Instruction, word: str, config: dict[str, Any]) -> str:
        return self.b._expand(instruction, word, self.env(config))

    # -- the steps

    def run(self) -> State:
        state = self.from_(self.stage.base)
        onbuild = list((state.config.get("config") or {}).get("OnBuild") or [])
        triggers: list[Instruction] = []
        if onbuild:
            config = copy_module.deepcopy(state.config)
            config["config"]["OnBuild"] = None
            state = self.commit(state, config, None, "onbuild-reset", {"onbuild": onbuild})
            for expression in onbuild:
                try:
                    node = parser.node_from_line(expression, self.b.escape,
                                                 self.stage.base.line, self.stage.base.line)
                    triggers.append(instructions.parse_instruction(node))
                except parser.ParseError as e:
                    raise self.error(self.stage.base, f"ONBUILD trigger {expression!r}: "
                                                      f"{e.reason}") from None
            self.total += len(triggers)
        for instruction in triggers + self.stage.steps:
            self.step += 1
            state = self.dispatch(instruction, state)
        return state

    def from_(self, instruction: instructions.From) -> State:
        self.step = 1
        name = self.b._expand(instruction, instruction.image, self.b.meta)
        if not name:
            raise BuildError("base name (" + instruction.image + ") should not be blank",
                             line=instruction.line)
        if instruction.platform:
            from minidocker.image.hostplatform import host_platform
            wanted = self.b._expand(instruction, instruction.platform, self.b.meta)
            if wanted != host_platform():
                raise self.error(instruction, f"platform {wanted} is not this host's "
                                              f"({host_platform()}); only the host platform "
                                              "can be built")
        other = self.b._stage_ref(name)
        if other is not None and other.index < self.stage.index:
            parent = self.b._stage(other.index)
            vid, t0 = self.b._vertex(self.name(instruction, f"FROM {name}"), self.step,
                                     self.total, self.label, instruction.text())
            self.b._done(vid, t0, cached=True, result=parent.image.short_id)
            return State(parent.image, parent.key)
        shown = "scratch" if name == "scratch" else refs.parse(name).familiar()
        if name != "scratch":
            try:
                shown = str(refs.parse(name))
            except MinidockerError as e:
                raise self.error(instruction, e.message) from None
        vid, t0 = self.b._vertex(self.name(instruction, f"FROM {shown}"), self.step,
                                 self.total, self.label, instruction.text())
        if name == "scratch":
            from minidocker.image.hostplatform import host_platform
            os_name, _, arch = host_platform().partition("/")
            config: dict[str, Any] = {
                "architecture": arch.split("/")[0], "os": os_name,
                "config": {"Env": [DEFAULT_PATH]}, "rootfs": {"type": "layers",
                                                              "diff_ids": []},
                "history": []}
            key = cache.key("", "from", image="scratch")
            state = self.b_state(key, config, [])
        else:
            image = self.b.base_image(name, instruction)
            config = copy_module.deepcopy(image.config)
            config.setdefault("config", {})
            if not any(e.startswith("PATH=") for e in config["config"].get("Env") or []):
                config["config"]["Env"] = [DEFAULT_PATH] + list(config["config"].get("Env")
                                                                 or [])
            key = cache.key("", "from", image=image.id)
            state = self.b_state(key, config, image.layers)
        self.b._done(vid, t0, cached=True, result=state.image.short_id)
        return state

    def b_state(self, key: str, config: dict[str, Any], layers: list[dict[str, Any]]
                ) -> State:
        found = buildcache.get(self.b.store, key)
        if found is not None:
            return State(found, key)
        image = _commits().write_manifest(self.b.store, config, layers)
        buildcache.put(self.b.store, key, image)
        return State(image, key)

    def commit(self, state: State, config: dict[str, Any], layer: tuple[dict[str, Any], str]
               | None, kind: str, parts: dict[str, Any], history: str = "",
               created: str = "") -> State:
        """A new state: `config` (edited from the parent's), plus a layer or not."""
        key = cache.key(state.key, kind, **parts)
        config = copy_module.deepcopy(config)
        created = created or now()
        layers = list(state.image.layers)
        if layer is not None:
            desc, diff_id = layer
            layers.append(desc)
            rootfs = config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
            rootfs["diff_ids"] = list(rootfs.get("diff_ids") or []) + [diff_id]
        if history:
            entry: dict[str, Any] = {"created": created, "created_by": history,
                                     "comment": HISTORY_COMMENT}
            if layer is None:
                entry["empty_layer"] = True
            config["history"] = list(config.get("history") or []) + [entry]
        config["created"] = created
        image = _commits().write_manifest(self.b.store, config, layers)
        buildcache.put(self.b.store, key, image, history)
        return State(image, key)

    def cached(self, state: State, kind: str, parts: dict[str, Any]) -> State | None:
        if self.b.options.no_cache:
            return None
        key = cache.key(state.key, kind, **parts)
        found = buildcache.get(self.b.store, key)
        return State(found, key) if found is not None else None

    def dispatch(self, instruction: Instruction, state: State) -> State:
        keyword = instruction.keyword
        text = instruction.text()
        if keyword == "RUN" and isinstance(instruction, instructions.Command) \
                and instruction.heredocs:
            text = f"{text} ({_summary(instruction.heredocs[0].content)})"
        vid, t0 = self.b._vertex(self.name(instruction, text), self.step, self.total,
                                 self.label, instruction.text())
        try:
            handler = getattr(self, "do_" + keyword.lower())
            new, cached = handler(instruction, state, vid, t0)
        except BuildError as e:
            self.b.sink(events.Failed(vid, time.monotonic() - t0, e.message))
            raise
        except MinidockerError as e:
            error = self.error(instruction, e.message, hint=e.hint)
            self.b.sink(events.Failed(vid, time.monotonic() - t0, error.message))
            raise error from None
        except OSError as e:
            from minidocker.errors import describe
            error = self.error(instruction, describe(e))
            self.b.sink(events.Failed(vid, time.monotonic() - t0, error.message))
            raise error from None
        self.b._done(vid, t0, cached=cached, result=new.image.short_id)
        return new

    # metadata-only steps: the config change is the key; they cost no more than a lookup

    def _meta_step(self, state: State, config: dict[str, Any], history: str | None,
                   kind: str) -> tuple[State, bool]:
        parts = {"config": config.get("config"), "author": config.get("author"),
                 "history": history}
        hit = self.cached(state, kind, parts)
        if hit is not None:
            return hit, True
        return self.commit(state, config, None, kind, parts, history or ""), False

    def _config(self, state: State) -> dict[str, Any]:
        config = copy_module.deepcopy(state.config)
        config.setdefault("config", {})
        return config

    def do_env(self, ins: instructions.KeyValues, state: State, *_: Any) -> tuple[State, bool]:
        config = self._config(state)
        env_before = self.env(config)
        shown = []
        env = list(config["config"].get("Env") or [])
        for key, value in ins.pairs:  # a variable keeps its place; values see the old env
            item = f"{self.b._expand(ins, key, env_before)}=" \
                f"{self.b._expand(ins, value, env_before)}"
            name = item.partition("=")[0]
            for i, old in enumerate(env):
                if old.partition("=")[0] == name:
                    env[i] = item
                    break
            else:
                env.append(item)
            shown.append(item)
        config["config"]["Env"] = env
        return self._meta_step(state, config, "ENV " + " ".join(shown), "env")

    def do_label(self, ins: instructions.KeyValues, state: State, *_: Any
                 ) -> tuple[State, bool]:
        config = self._config(state)
        env = self.env(config)
        labels = dict(config["config"].get("Labels") or {})
        shown = []
        for key, value in ins.pairs:
            key = self.b._expand(ins, key, env)
            value = self.b._expand(ins, value, env)
            labels[key] = value
            shown.append(f"{key}={value}")
        config["config"]["Labels"] = labels
        return self._meta_step(state, config, "LABEL " + " ".join(shown), "label")

    def do_arg(self, ins: instructions.Arg, state: State, *_: Any) -> tuple[State, bool]:
        shown = []
        config = self._config(state)
        for key, default in ins.pairs:
            value: str | None
            if key in self.b.options.build_args:
                value = self.b.options.build_args[key]
                self.b.used_args.add(key)
            elif default is not None:
                value = self.b._expand(ins, default, self.env(config))
            else:
                value = self.b.meta.get(key)
            self.args.pop(key, None)
            self.args[key] = value
            shown.append(key if value is None else f"{key}={value}")
        return self._meta_step(state, config, "ARG " + " ".join(shown),
                               "arg:" + json.dumps(self.args))

    def do_workdir(self, ins: instructions.Single, state: State, *_: Any
                   ) -> tuple[State, bool]:
        config = self._config(state)
        path = self.expand(ins, ins.value, config)
        current = config["config"].get("WorkingDir") or "/"
        path = posixpath.normpath(posixpath.join(current, path))
        if path.startswith("//"):
            path = path[1:]
        config["config"]["WorkingDir"] = path
        user = config["config"].get("User") or ""
        parts = {"config": config["config"], "path": path, "user": user}
        hit = self.cached(state, "workdir", parts)
        if hit is not None:
            return hit, True
        layer = None
        if path != "/":
            with View(self.b.store, state.image, self.b.workdir) as view:
                missing = []
                probe = path
                while probe != "/" and view.lstat(probe) is None:
                    missing.append(probe)
                    probe = posixpath.dirname(probe)
                if missing:
                    owner = (0, 0)
                    if user:
                        from minidocker.engine.bundle import resolve_user
                        resolved = resolve_user(user, view.lowers())
                        owner = (int(resolved["uid"]), int(resolved["gid"]))
                    base = copying.canonical(view, path)
                    entries = [copying.Entry(base, "dir", 0o755, owner[0], owner[1],
                                             time.time())]
                    entries += copying.parents(view, [base], owner)
                    layer = self._write_layer(state, entries)
        return self.commit(state, config, layer, "workdir", parts, f"WORKDIR {path}"), False

    def do_user(self, ins: instructions.Single, state: State, *_: Any) -> tuple[State, bool]:
        config = self._config(state)
        user = self.expand(ins, ins.value, config)
        config["config"]["User"] = user
        return self._meta_step(state, config, f"USER {user}", "user")

    def do_expose(self, ins: instructions.Words, state: State, *_: Any
                  ) -> tuple[State, bool]:
        config = self._config(state)
        env = self.env(config)
        ports = dict(config["config"].get("ExposedPorts") or {})
        added = []
        for word in ins.words:
            try:
                expanded = shell.expand_words(word, env, self.b.escape)
            except shell.ExpandError as e:
                raise self.error(ins, e.message) from None
            for spec in expanded:
                for port in _ports(spec):
                    ports[port] = {}
                    added.append(port)
        config["config"]["ExposedPorts"] = ports
        shown = " ".join(f"{p}:{{}}" for p in sorted(set(added)))
        return self._meta_step(state, config, f"EXPOSE map[{shown}]", "expose")

    def do_volume(self, ins: instructions.Words, state: State, *_: Any
                  ) -> tuple[State, bool]:
        config = self._config(state)
        volumes = dict(config["config"].get("Volumes") or {})
        added = []
        for word in ins.words:
            path = self.expand(ins, word, config)
            if not path:
                raise self.error(ins, "VOLUME specified can not be an empty string")
            volumes[path] = {}
            added.append(path)
        config["config"]["Volumes"] = volumes
        return self._meta_step(state, config, f"VOLUME [{' '.join(added)}]", "volume")

    def do_stopsignal(self, ins: instructions.Single, state: State, *_: Any
                      ) -> tuple[State, bool]:
        config = self._config(state)
        sig = self.expand(ins, ins.value, config)
        if not _valid_signal(sig):
            raise self.error(ins, f"invalid signal: {sig}")
        config["config"]["StopSignal"] = sig
        return self._meta_step(state, config, f"STOPSIGNAL {sig}", "stopsignal")

    def do_maintainer(self, ins: instructions.Single, state: State, *_: Any
                      ) -> tuple[State, bool]:
        config = self._config(state)
        config["author"] = ins.value
        return self._meta_step(state, config, f"MAINTAINER {ins.value}", "maintainer")

    def do_shell(self, ins: instructions.Words, state: State, *_: Any) -> tuple[State, bool]:
        config = self._config(state)
        config["config"]["Shell"] = list(ins.words)
        return self._meta_step(state, config, f"SHELL [{' '.join(ins.words)}]", "shell")

    def _command(self, ins: instructions.Command, config: dict[str, Any]) -> list[str]:
        if not ins.shell_form:
            return list(ins.args)
        shell_ = list(config["config"].get("Shell") or DEFAULT_SHELL)
        return shell_ + [ins.args[0] if ins.args else ""]

    def do_cmd(self, ins: instructions.Command, state: State, *_: Any) -> tuple[State, bool]:
        config = self._config(state)
        args = self._command(ins, config)
        config["config"]["Cmd"] = args
        config["config"]["ArgsEscaped"] = True
        self.cmd_set = True
        return self._meta_step(state, config, f"CMD {_go_quoted(args)}", "cmd")

    def do_entrypoint(self, ins: instructions.Command, state: State, *_: Any
                      ) -> tuple[State, bool]:
        config = self._config(state)
        args = self._command(ins, config)
        config["config"]["Entrypoint"] = args
        if not self.cmd_set:
            config["config"]["Cmd"] = None
        return self._meta_step(state, config, f"ENTRYPOINT {_go_quoted(args)}", "entrypoint")

    def do_healthcheck(self, ins: instructions.Healthcheck, state: State, *_: Any
                       ) -> tuple[State, bool]:
        config = self._config(state)
        check: dict[str, Any] = {"Test": list(ins.test)}
        for flag, key in (("interval", "Interval"), ("timeout", "Timeout"),
                          ("start-period", "StartPeriod"),
                          ("start-interval", "StartInterval")):
            if flag in ins.options:
                from minidocker.engine.health import parse_duration
                check[key] = parse_duration(ins.options[flag], f"--{flag}")
        if "retries" in ins.options:
            try:
                check["Retries"] = int(ins.options["retries"])
            except ValueError:
                raise self.error(ins, f"invalid --retries: {ins.options['retries']!r}") \
                    from None
        config["config"]["Healthcheck"] = check
        shown = " ".join(str(check.get(k, 0)) for k in ("Interval", "Timeout", "StartPeriod",
                                                          "StartInterval", "Retries"))
        return self._meta_step(state, config,
                               f"HEALTHCHECK &{{{_go_quoted(check['Test'])} {shown}}}",
                               "healthcheck")

    def do_onbuild(self, ins: instructions.Onbuild, state: State, *_: Any
                   ) -> tuple[State, bool]:
        config = self._config(state)
        config["config"]["OnBuild"] = list(config["config"].get("OnBuild") or []) + \
            [ins.expression]
        return self._meta_step(state, config, None, "onbuild")

    # -- COPY / ADD

    def do_copy(self, ins: instructions.Copy, state: State, vid: int, t0: float
                ) -> tuple[State, bool]:
        return self._copy(ins, state, vid, t0)

    def do_add(self, ins: instructions.Copy, state: State, vid: int, t0: float
               ) -> tuple[State, bool]:
        return self._copy(ins, state, vid, t0)

    def _copy(self, ins: instructions.Copy, state: State, vid: int, t0: float
              ) -> tuple[State, bool]:
        config = self._config(state)
        env = self.env(config)
        sources = [self.b._expand(ins, s, env) for s in ins.sources
                   if not _heredoc_word(s, ins)]
        patterns = list(sources)
        heredocs = []
        for doc in ins.heredocs:
            content = parser.chomp(doc.content) if doc.chomp else doc.content
            if doc.expand:
                try:
                    content = shell.expand_heredoc(content, env, self.b.escape)
                except shell.ExpandError as e:
                    raise self.error(ins, e.message) from None
            heredocs.append((doc.name, content.encode()))
        dest = written = self.b._expand(ins, ins.dest, env)
        workdir = config["config"].get("WorkingDir") or "/"
        trailing = dest.endswith("/") or dest in (".", "")
        dest = posixpath.normpath(posixpath.join(workdir, dest or "."))
        if trailing and not dest.endswith("/"):
            dest += "/"
        chmod = copying.parse_chmod(ins.chmod) if ins.chmod else None
        # where the files come from, and what identifies them for the cache
        stage_key = ""
        from_view_image: Image | None = None
        if ins.source_stage:
            name = self.b._expand(ins, ins.source_stage, self.b.meta)
            other = self.b._stage_ref(name)
            if other is not None:
                if other.index >= self.stage.index:
                    raise self.error(ins, f"COPY --from={name}: a stage can only copy from "
                                          "an earlier stage")
                result = self.b._stage(other.index)
                from_view_image, stage_key = result.image, result.key
            else:
                from_view_image = self.b.base_image(name, ins)
                stage_key = from_view_image.id
        parts: dict[str, Any] = {"keyword": ins.keyword, "dest": dest, "chown": ins.chown,
                                 "chmod": ins.chmod, "heredocs": heredocs,
                                 "workdir": workdir, "written": written,
                                 "patterns": patterns}
        if from_view_image is not None:
            with View(self.b.store, from_view_image, self.b.workdir) as source_view:
                source = contexts.Context(source_view.root, use_ignore=False).open()
                try:
                    parts.update(sources=sources, source=stage_key)
                    hit = self.cached(state, "copy", parts)
                    if hit is not None:
                        return hit, True
                    items = copying.matches(source, sources, ins.keyword) if sources else []
                    return self._copy_layer(ins, state, config, parts, items, source, dest,
                                            chmod, heredocs, keep_owner=True), False
                finally:
                    source.close()
        source = self.b.source
        if any(not remote.is_url(s) for s in sources) and source.root is None:
            raise self.error(ins, f"{ins.keyword} needs a build context, and this build "
                                  "has none (the Dockerfile came on stdin)")
        checksum = self._checksum(ins, sources, heredocs, env)
        downloads = ""

        def fetch(url: str) -> copying.Match:
            nonlocal downloads
            import tempfile
            downloads = downloads or tempfile.mkdtemp(prefix="add-", dir=self.b.workdir)
            got = remote.fetch(url, downloads, build_args=self.b.options.build_args,
                               checksum=checksum)
            self.b.sink(events.Log(vid, 1, f"{remote.redacted(url)}: {got.size} bytes, "
                                           f"{got.digest}\n".encode(),
                                   time.monotonic() - t0))
            # what of it lands in the image: its content, name, and the server's mtime
            digest = ["url", got.name, got.digest, got.last_modified]
            return copying.Match(url, [(url, os.stat(got.path))], False, host=got.path,
                                 name=got.name, remote=digest)

        try:
            items = copying.matches(source, sources, ins.keyword, fetch) if sources else []
            parts["sources"] = [[item.rel, item.remote if item.remote else
                                 self._digests(source, item.rel, item.entries)]
                                for item in items]
            hit = self.cached(state, "copy", parts)
            if hit is not None:
                return hit, True
            return self._copy_layer(ins, state, config, parts, items, source, dest, chmod,
                                    heredocs, keep_owner=False), False
        finally:
            if downloads:
                _rmtree(downloads)

    def _checksum(self, ins: instructions.Copy, sources: list[str],
                  heredocs: list[tuple[str, bytes]], env: dict[str, str]) -> str:
        """ADD --checksum, expanded and checked as BuildKit checks it: one source, an
        http(s) URL, a digest."""
        if not ins.checksum:
            return ""
        if len(sources) + len(heredocs) != 1:
            raise self.error(ins, "checksum can't be specified for multiple sources")
        if not sources or not remote.is_url(sources[0]) or remote.is_git(sources[0]):
            raise self.error(ins, "checksum can't be specified for non-HTTP(S) sources")
        checksum = self.b._expand(ins, ins.checksum, env)
        remote.parse_checksum(checksum)
        return checksum

    def _digests(self, source: contexts.Context, top: str,
                 entries: list[tuple[str, os.stat_result]]) -> list[Any]:
        """What the cache key holds of copied files (cache.entry_digest), per entry."""
        top_host = source.real_path(top)
        out = []
        for rel, st in entries:
            host = top_host if rel == top else os.path.join(
                top_host, posixpath.relpath(rel, top) if top else rel)
            link = os.readlink(host) if stat.S_ISLNK(st.st_mode) else ""
            out.append(cache.entry_digest(self.b.checksums, posixpath.relpath(rel, top)
                                          if top else rel, host, st, link))
        return out

    def _copy_layer(self, ins: instructions.Copy, state: State, config: dict[str, Any],
                    parts: dict[str, Any], items: list[copying.Match],
                    source: contexts.Context, dest: str, chmod: int | None,
                    heredocs: list[tuple[str, bytes]], keep_owner: bool) -> State:
        with View(self.b.store, state.image, self.b.workdir) as view:
            chown = copying.parse_chown(ins.chown, view) if ins.chown else None
            entries = copying.plan(view, items, source, dest, ins.keyword, chown, chmod,
                                   keep_owner, heredocs)
            layer = self._write_layer(state, entries)
        flags = "".join(f" --{name}={value}" for name, value in
                        (("chown", ins.chown), ("chmod", ins.chmod)) if value)
        shown_sources = " ".join([*(f"<<{name}" for name, _ in heredocs),
                                  *parts.get("patterns", [])])
        history = f"{ins.keyword}{flags} {shown_sources} {parts['written']} # buildkit"
        return self.commit(state, config, layer, "copy", parts, history)

    def _write_layer(self, state: State, entries: list[copying.Entry] | None = None,
                     upper: str = "") -> tuple[dict[str, Any], str]:
        """A layer blob from copy entries (or a RUN's upper dir), and its snapshot made at
        once from what is at hand (the tar, or the upper dir moved into place)."""
        import tempfile
        fd, tmp = tempfile.mkstemp(prefix="layer-", dir=self.b.workdir)
        try:
            with os.fdopen(fd, "wb") as out:
                if upper:
                    _commits().write_upper_tar(upper, out)
                else:
                    copying.write(entries or [], out)
            desc, diff_id = _commits().store_layer(self.b.store, tmp)
            chains = state.image.chain_ids
            chain = _commits().st.sha256_digest(f"{chains[-1]} {diff_id}".encode()) \
                if chains else diff_id
            snapshot.adopt(self.b.store, chain, diff_id, chains[-1] if chains else None,
                           directory=upper or None, tar_path=None if upper else tmp,
                           size=os.path.getsize(tmp))
            return desc, diff_id
        finally:
            os.unlink(tmp)

    # -- RUN

    def do_run(self, ins: instructions.Command, state: State, vid: int, t0: float
               ) -> tuple[State, bool]:
        config = self._config(state)
        argv = self._run_argv(ins, config)
        env = self.run_env(config)
        user = config["config"].get("User") or ""
        workdir = config["config"].get("WorkingDir") or "/"
        network = ins.network or self.b.options.network
        declared = [(k, v) for k, v in self.args.items() if v is not None]
        mounts, mount_parts = self._run_mounts(ins, config)
        parts = {"argv": argv, "env": env, "user": user, "workdir": workdir,
                 "network": network, "mounts": mount_parts}
        hit = self.cached(state, "run", parts)
        if hit is not None:
            return hit, True
        history = "RUN " + " ".join(
            ([f"|{len(declared)}"] + [f"{k}={v}" for k, v in declared] if declared else [])
            + argv) + " # buildkit"

        def output(stream: int, data: bytes) -> None:
            self.b.sink(events.Log(vid, stream, data, time.monotonic() - t0))

        try:
            code, container = runner.run(
                self.b.ctx, state.image.id, argv, env=env, user=user, workdir=workdir,
                network=network, mounts=mounts, output=output)
        finally:
            while self.b.temporary:
                _rmtree(self.b.temporary.pop())
        try:
            if code != 0:
                shown = " ".join(argv)
                raise self.error(ins, f"process \"{shown}\" did not complete successfully: "
                                      f"exit code: {code}")
            container.unmount()
            snapshot.ensure(self.b.store, state.image)
            runner.drop_mount_stubs(container.upper, container.mount_destinations(),
                                    snapshot.lower_dirs(self.b.store, state.image))
            layer = None if runner.is_empty(container.upper) else \
                self._write_layer(state, upper=container.upper)
        finally:
            container.remove()
        return self.commit(state, config, layer, "run", parts, history), False

    def _run_argv(self, ins: instructions.Command, config: dict[str, Any]) -> list[str]:
        if not ins.heredocs:
            return self._command(ins, config)
        first = ins.args[0] if ins.args else ""
        doc = ins.heredocs[0]
        if ins.shell_form and parser._HEREDOC.match(first.strip()):
            content = parser.chomp(doc.content) if doc.chomp else doc.content
            if content.startswith("#!"):
                # a script with its own interpreter: BuildKit runs it as a file; here the
                # shell runs it through a here-document so that the same interpreter runs
                script = f"cat > /tmp/.buildkit-heredoc-{os.getpid()} <<'EOF_{doc.name}'\n"
                return list(config["config"].get("Shell") or DEFAULT_SHELL) + [
                    f"{script}{content}EOF_{doc.name}\n"
                    f"chmod +x /tmp/.buildkit-heredoc-{os.getpid()} && "
                    f"/tmp/.buildkit-heredoc-{os.getpid()}; "
                    f"rc=$?; rm -f /tmp/.buildkit-heredoc-{os.getpid()}; exit $rc"]
            return list(config["config"].get("Shell") or DEFAULT_SHELL) + [content]
        full = first
        for heredoc in ins.heredocs:
            full += "\n" + heredoc.content + heredoc.name
        return list(config["config"].get("Shell") or DEFAULT_SHELL) + [full]

    def _run_mounts(self, ins: instructions.Command, config: dict[str, Any]
                    ) -> tuple[list[dict[str, Any]], list[Any]]:
        """RUN --mount as engine mounts, and what of them goes into the cache key."""
        mounts: list[dict[str, Any]] = []
        parts: list[Any] = []
        env = self.env(config)
        for spec in ins.mounts:
            target = self.b._expand(ins, spec["target"], env)
            target = posixpath.normpath(posixpath.join(
                config["config"].get("WorkingDir") or "/", target))
            kind = spec["type"]
            readonly = spec.get("ro", "false" if kind != "bind" else "true") == "true" \
                and spec.get("rw") != "true"
            if kind == "tmpfs":
                mount: dict[str, Any] = {"Type": "tmpfs", "Destination": target}
                if spec.get("size"):
                    mount["TmpfsSize"] = spec["size"]
                mounts.append(mount)
                parts.append(["tmpfs", target, spec.get("size", "")])
            elif kind == "cache":
                ident = spec.get("id") or target
                directory = cache_mount_dir(self.b.root, ident)
                if not os.path.isdir(directory):
                    os.makedirs(directory, mode=0o755)
                    uid, gid = int(spec.get("uid") or 0), int(spec.get("gid") or 0)
                    os.chown(directory, uid, gid)
                    if spec.get("mode"):
                        os.chmod(directory, int(spec["mode"], 8))
                mounts.append({"Type": "bind", "Source": directory, "Destination": target,
                               "RW": not readonly})
                parts.append(["cache", target, ident, readonly])
            else:  # bind: from the context, or a stage or image
                source_path = spec.get("source", "")
                stage_name = spec.get("from", "")
                host, part = self._bind_source(ins, stage_name, source_path)
                if not readonly:  # writes are discarded: the container gets a copy
                    import shutil
                    import tempfile
                    tmp = tempfile.mkdtemp(prefix="bind-", dir=self.b.workdir)
                    self.b.temporary.append(tmp)
                    copy_target = os.path.join(tmp, "src")
                    if os.path.isdir(host):
                        shutil.copytree(host, copy_target, symlinks=True)
                    else:
                        shutil.copy2(host, copy_target)
                    host = copy_target
                mounts.append({"Type": "bind", "Source": host, "Destination": target,
                               "RW": not readonly})
                parts.append(["bind", target, readonly, part])
        return mounts, parts

    def _bind_source(self, ins: instructions.Command, stage_name: str, path: str
                     ) -> tuple[str, Any]:
        if not stage_name:
            source = self.b.source
            if source.root is None:
                raise self.error(ins, "RUN --mount=type=bind needs a build context")
            try:
                host = source.real_path(path)
            except FileNotFoundError:
                raise self.error(ins, f"RUN --mount: {path!r} not found in the build "
                                      "context") from None
            rel = contexts.clean(path)
            return host, ["context", path, self._digests(source, rel, source.walk(rel))]
        other = self.b._stage_ref(stage_name)
        image = self.b._stage(other.index).image if other is not None \
            else self.b.base_image(stage_name, ins)
        view = View(self.b.store, image, self.b.workdir).__enter__()
        self.b.views.append(view)  # closed when the build ends
        found = view.resolve(path or "/")
        if found is None:
            raise self.error(ins, f"RUN --mount: {path!r} not found in {stage_name}")
        return found, ["image", image.id, path]


def cache_mount_dir(root: str, ident: str) -> str:
    import hashlib
    return os.path.join(root, "build", "cache-mounts",
                        hashlib.sha256(ident.encode()).hexdigest()[:32])


def _heredoc_word(word: str, ins: instructions.Copy) -> bool:
    return bool(ins.heredocs) and parser._HEREDOC.match(word) is not None


def _summary(content: str) -> str:
    lines = [line for line in content.splitlines() if line.strip()]
    if not lines:
        return ""
    return lines[0].strip() + (" ..." if len(lines) > 1 else "")


def _go_quoted(args: list[str]) -> str:
    return "[" + " ".join(json.dumps(a) for a in args) + "]"


def _ports(spec: str) -> list[str]:
    port, _, proto = spec.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise UsageError(f"invalid proto: {proto}")
    low, _, high = port.partition("-")
    try:
        start = int(low)
        end = int(high) if high else start
    except ValueError:
        raise UsageError(f"invalid containerPort: {port}") from None
    if not (0 < start <= end <= 65535):
        raise UsageError(f"invalid port range: {port}")
    return [f"{p}/{proto}" for p in range(start, end + 1)]


def _valid_signal(sig: str) -> bool:
    import signal
    if sig.isdigit():
        return 0 < int(sig) < 65
    name = sig.upper()
    name = name if name.startswith("SIG") else "SIG" + name
    return hasattr(signal, name) or name.startswith("SIGRTMIN") or name.startswith("SIGRTMAX")
