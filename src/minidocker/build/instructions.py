"""Instructions: each parser node checked and given its typed shape (flags validated,
exec or shell form, KEY=VALUE pairs, RUN mounts, HEALTHCHECK options), and the
Dockerfile split into stages. Variables are not expanded here: that needs the build
arguments and the stage's environment at the time the step runs (builder)."""

from __future__ import annotations

from minidocker.build.parser import Dockerfile, Heredoc, Node, ParseError

# flags each instruction accepts: name -> kind ("str", "bool", "list")
FLAGS: dict[str, dict[str, str]] = {
    "FROM": {"platform": "str"},
    "RUN": {"mount": "list", "network": "str", "security": "str"},
    "COPY": {"from": "str", "chown": "str", "chmod": "str", "link": "bool"},
    "ADD": {"chown": "str", "chmod": "str", "link": "bool", "checksum": "str",
            "keep-git-dir": "bool"},
    "HEALTHCHECK": {"interval": "str", "timeout": "str", "start-period": "str",
                    "start-interval": "str", "retries": "str"},
}
KEYWORDS = ("ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
            "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME",
            "WORKDIR")


class InstructionError(ParseError):
    pass


def _error(node: Node, message: str) -> InstructionError:
    return InstructionError(message, node.line)


class Instruction:
    """A node given its meaning; subclasses add their fields (plain classes: dataclasses
    cost the CLI ~13 ms of imports)."""

    def __init__(self, node: Node):
        self.node = node

    @property
    def keyword(self) -> str:
        return self.node.keyword

    @property
    def line(self) -> int:
        return self.node.line

    def text(self) -> str:
        """The instruction as written (one line: heredoc bodies left out)."""
        return self.node.original.split("\n", 1)[0].strip()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text()!r}, line {self.line})"


class From(Instruction):
    def __init__(self, node: Node, image: str, name: str = "", platform: str = ""):
        super().__init__(node)
        self.image = image
        self.name = name
        self.platform = platform


class KeyValues(Instruction):   # ENV, LABEL
    def __init__(self, node: Node, pairs: list[tuple[str, str]], legacy: bool = False):
        super().__init__(node)
        self.pairs = pairs
        self.legacy = legacy


class Arg(Instruction):
    def __init__(self, node: Node, pairs: list[tuple[str, str | None]]):
        super().__init__(node)
        self.pairs = pairs


class Command(Instruction):     # RUN, CMD, ENTRYPOINT
    def __init__(self, node: Node, args: list[str], shell_form: bool = True,
                 mounts: list[dict[str, str]] | None = None, network: str = "",
                 heredocs: list[Heredoc] | None = None):
        super().__init__(node)
        self.args = args
        self.shell_form = shell_form
        self.mounts = mounts or []
        self.network = network
        self.heredocs = heredocs or []


class Copy(Instruction):        # COPY, ADD
    def __init__(self, node: Node, sources: list[str], dest: str, source_stage: str = "",
                 chown: str = "", chmod: str = "", link: bool = False,
                 heredocs: list[Heredoc] | None = None, checksum: str = ""):
        super().__init__(node)
        self.sources = sources
        self.dest = dest
        self.source_stage = source_stage
        self.chown = chown
        self.chmod = chmod
        self.link = link
        self.heredocs = heredocs or []
        self.checksum = checksum          # ADD --checksum (checked once expanded)


class Words(Instruction):       # EXPOSE, VOLUME, SHELL
    def __init__(self, node: Node, words: list[str]):
        super().__init__(node)
        self.words = words


class Single(Instruction):      # WORKDIR, USER, STOPSIGNAL, MAINTAINER
    def __init__(self, node: Node, value: str):
        super().__init__(node)
        self.value = value


class Healthcheck(Instruction):
    def __init__(self, node: Node, test: list[str], options: dict[str, str] | None = None):
        super().__init__(node)
        self.test = test
        self.options = options or {}


class Onbuild(Instruction):
    def __init__(self, node: Node, expression: str):
        super().__init__(node)
        self.expression = expression


class Stage:
    def __init__(self, index: int, name: str, base: From):
        self.index = index
        self.name = name            # lower case, "" if unnamed
        self.base = base
        self.steps: list[Instruction] = []


class Program:
    def __init__(self, meta_args: list[Arg], stages: list[Stage], escape: str = "\\"):
        self.meta_args = meta_args
        self.stages = stages
        self.escape = escape


# ---- flags ----------------------------------------------------------------------------------


def parse_flags(node: Node) -> dict[str, str | bool | list[str]]:
    allowed = FLAGS.get(node.keyword, {})
    out: dict[str, str | bool | list[str]] = {}
    for flag in node.flags:
        if not flag.startswith("--"):
            raise _error(node, f"unknown flag: {flag}")
        name, has_value, value = flag[2:].partition("=")
        kind = allowed.get(name)
        if kind is None:
            raise _error(node, f"unknown flag: --{name}")
        if kind == "list":
            if not has_value:
                raise _error(node, f"missing a value on flag: --{name}")
            listed = out.setdefault(name, [])
            assert isinstance(listed, list)
            listed.append(value)
            continue
        if name in out:
            raise _error(node, f"duplicate flag specified: --{name}")
        if kind == "bool":
            if has_value and value.lower() not in ("true", "false"):
                raise _error(node, f"expecting boolean value for flag --{name}, not: {value}")
            out[name] = not has_value or value.lower() == "true"
        else:
            if not has_value or value == "":
                raise _error(node, f"missing a value on flag: --{name}")
            out[name] = value
    return out


def _str(flags: dict[str, str | bool | list[str]], name: str) -> str:
    value = flags.get(name, "")
    return value if isinstance(value, str) else ""


# ---- one node -------------------------------------------------------------------------------


def parse_instruction(node: Node) -> Instruction:
    keyword = node.keyword
    if keyword not in KEYWORDS:
        raise _error(node, f"unknown instruction: {node.original.split()[0]}")
    flags = parse_flags(node)
    value = node.value
    if keyword == "FROM":
        if len(value) not in (1, 3) or (len(value) == 3 and value[1].lower() != "as"):
            raise _error(node, "FROM requires either one or three arguments "
                               "(FROM image [AS name])")
        name = value[2].lower() if len(value) == 3 else ""
        if name and not _valid_stage_name(name):
            raise _error(node, f"invalid name for build stage: {value[2]!r}, name can't "
                               "start with a number or contain symbols")
        return From(node, image=value[0], name=name, platform=_str(flags, "platform"))
    if keyword in ("ENV", "LABEL"):
        if not value:
            raise _error(node, f"{keyword} requires at least one argument")
        pairs = [(value[i], value[i + 1]) for i in range(0, len(value), 3)]
        if keyword == "ENV" and any(not k for k, _ in pairs):
            raise _error(node, "ENV names can not be blank")
        return KeyValues(node, pairs=pairs, legacy=value[2] == "")
    if keyword == "ARG":
        if not value:
            raise _error(node, "ARG requires at least one argument")
        args: list[tuple[str, str | None]] = []
        for word in value:
            key, sep, default = word.partition("=")
            if not key:
                raise _error(node, f"ARG names can not be blank: {word!r}")
            args.append((key, default if sep else None))
        return Arg(node, pairs=args)
    if keyword in ("RUN", "CMD", "ENTRYPOINT"):
        if keyword == "RUN" and not value:
            raise _error(node, "RUN requires at least one argument")
        mounts = [parse_mount(node, m) for m in flags.get("mount", []) or []]  # type: ignore[union-attr]
        network = _str(flags, "network")
        if network and network not in ("default", "none", "host"):
            raise _error(node, f"unsupported network mode {network!r}")
        if _str(flags, "security") not in ("", "sandbox"):
            raise _error(node, "RUN --security=insecure is not supported")
        return Command(node, args=list(value), shell_form=not node.json, mounts=mounts,
                       network=network, heredocs=list(node.heredocs))
    if keyword in ("COPY", "ADD"):
        sources = list(value)
        if len(sources) < 2 and not (node.heredocs and sources):
            raise _error(node, f"{keyword} requires at least two arguments, but only "
                               f"{len(sources)} provided")
        return Copy(node, sources=sources[:-1], dest=sources[-1],
                    source_stage=_str(flags, "from"), chown=_str(flags, "chown"),
                    chmod=_str(flags, "chmod"), link=bool(flags.get("link")),
                    heredocs=list(node.heredocs), checksum=_str(flags, "checksum"))
    if keyword in ("EXPOSE", "VOLUME"):
        if not value:
            raise _error(node, f"{keyword} requires at least one argument")
        return Words(node, words=list(value))
    if keyword == "SHELL":
        if not node.json or not value:
            raise _error(node, "SHELL requires the arguments to be in JSON form")
        return Words(node, words=list(value))
    if keyword in ("WORKDIR", "USER", "STOPSIGNAL", "MAINTAINER"):
        if len(value) != 1 or not value[0]:
            raise _error(node, f"{keyword} requires exactly one argument")
        return Single(node, value=value[0])
    if keyword == "HEALTHCHECK":
        return _healthcheck(node, flags)
    # ONBUILD
    if node.sub is None:
        raise _error(node, "ONBUILD requires at least one argument")
    if node.sub.keyword in ("ONBUILD", "FROM", "MAINTAINER"):
        raise _error(node, f"{node.sub.keyword} isn't allowed as an ONBUILD trigger")
    parse_instruction(node.sub)  # a bad trigger is an error now, not in a later build
    return Onbuild(node, expression=value[0])


def _valid_stage_name(name: str) -> bool:
    import re
    return re.fullmatch(r"[a-z][a-z0-9\-_\.]*", name) is not None


def _healthcheck(node: Node, flags: dict[str, str | bool | list[str]]) -> Healthcheck:
    value = node.value
    if not value:
        raise _error(node, "HEALTHCHECK requires an argument")
    kind = value[0].upper()
    if kind == "NONE":
        if len(value) > 1 or flags:
            raise _error(node, "HEALTHCHECK NONE takes no arguments")
        return Healthcheck(node, test=["NONE"])
    if kind != "CMD":
        raise _error(node, f"unknown type {value[0]!r} in HEALTHCHECK (try CMD)")
    command = value[1:]
    if not command or (len(command) == 1 and not command[0]):
        raise _error(node, "missing command after HEALTHCHECK CMD")
    test = ["CMD", *command] if node.json else ["CMD-SHELL", command[0]]
    options = {k: v for k, v in flags.items() if isinstance(v, str)}
    return Healthcheck(node, test=test, options=options)


MOUNT_TYPES = ("bind", "cache", "tmpfs")
_MOUNT_KEYS = {"type", "target", "dst", "destination", "source", "src", "from", "ro",
               "readonly", "rw", "readwrite", "id", "sharing", "mode", "uid", "gid", "size"}


def parse_mount(node: Node, text: str) -> dict[str, str]:
    """One `RUN --mount=` value (CSV of key=value; type defaults to bind)."""
    import csv
    fields = next(csv.reader([text]), [])
    out: dict[str, str] = {"type": "bind"}
    for item in fields:
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if key not in _MOUNT_KEYS:
            raise _error(node, f"unexpected key {key!r} in --mount={text}")
        if key in ("ro", "readonly", "rw", "readwrite") and not sep:
            value = "true"
        key = {"dst": "target", "destination": "target", "src": "source",
               "readonly": "ro", "readwrite": "rw"}.get(key, key)
        out[key] = value
    if out["type"] in ("secret", "ssh"):
        raise _error(node, f"RUN --mount=type={out['type']} is not supported by this builder")
    if out["type"] not in MOUNT_TYPES:
        raise _error(node, f"unsupported mount type {out['type']!r}")
    if not out.get("target"):
        raise _error(node, f"--mount={text}: a target is required")
    if out.get("sharing", "shared") not in ("shared", "private", "locked"):
        raise _error(node, f"--mount={text}: sharing must be shared, private or locked")
    return out


# ---- the whole file -------------------------------------------------------------------------


def program(dockerfile: Dockerfile) -> Program:
    """Split into the meta ARGs (before the first FROM) and the stages."""
    meta: list[Arg] = []
    stages: list[Stage] = []
    for node in dockerfile.nodes:
        instruction = parse_instruction(node)
        if isinstance(instruction, From):
            stages.append(Stage(len(stages), instruction.name, instruction))
        elif not stages:
            if not isinstance(instruction, Arg):
                raise _error(node, f"{node.keyword} before the first FROM: no build stage "
                                   "in current context")
            meta.append(instruction)
        else:
            stages[-1].steps.append(instruction)
    if not stages:
        raise InstructionError("the Dockerfile has no FROM instruction (no build stage)")
    seen: dict[str, int] = {}
    for stage in stages:
        if stage.name:
            if stage.name in seen:
                raise _error(stage.base.node, f"duplicate stage name {stage.name!r}")
            seen[stage.name] = stage.index
    return Program(meta, stages, dockerfile.escape)
