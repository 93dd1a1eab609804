"""minidocker commit: a new image from a container's changes."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--author", default="", help="author")
    parser.add_argument("-c", "--change", action="append", default=[],
                        help="apply Dockerfile instruction to the created image")
    parser.add_argument("-m", "--message", default="", help="commit message")
    parser.add_argument("-p", "--pause", default="true", help="pause during commit")
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("repository", nargs="?", metavar="REPOSITORY[:TAG]")


def run(args: argparse.Namespace) -> int:
    from minidocker.cli.commands._common import find, root
    from minidocker.engine import lifecycle
    from minidocker.image import commit
    from minidocker.image.store import Store
    record = find(args.container)
    store = Store(root())
    config = record.config
    cfg = config["Config"]
    container_config = {k: cfg[k] for k in ("Env", "Cmd", "Entrypoint", "WorkingDir", "User",
                                            "Labels", "ExposedPorts", "StopSignal",
                                            "Volumes") if cfg.get(k)}
    paused = False
    if args.pause != "false" and lifecycle.live_state(record).get("Status") == "running":
        lifecycle.pause(record)
        paused = True
    try:
        image_id = str(config.get("Image", ""))
        base = store.try_lookup(image_id) if image_id.startswith("sha256:") else None
        if base is not None:
            image = commit.commit_container(store, record.path("upper"), base,
                                            ref=args.repository, changes=args.change,
                                            comment=args.message, author=args.author,
                                            container_config=container_config)
        else:  # a directory image: the whole filesystem becomes the one layer
            view, mounted = lifecycle.rootfs_view(record)
            try:
                changes = list(args.change) + [
                    f"{k.upper()} {_json(cfg[k])}" for k in ("Cmd", "Entrypoint")
                    if cfg.get(k) and not any(c.upper().startswith(
                        "CMD" if k == "Cmd" else "ENTRYPOINT") for c in args.change)]
                image = commit.import_rootfs(store, view, ref=args.repository,
                                             changes=changes, message=args.message)
            finally:
                if mounted:
                    lifecycle.unmount_rootfs(record)
    finally:
        if paused:
            lifecycle.unpause(record)
    print(image.id)
    return 0


def _json(value: object) -> str:
    import json
    return json.dumps(value)
