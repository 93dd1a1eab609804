"""Damaged image blobs: a config, manifest or layer blob edited, truncated, extended or
replaced at random. Every command that reads the image either works or fails with one
line naming the image and the blob; `rmi -f` removes it and nothing is left."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from minidocker.image import snapshot
from tests.faults.harness import FIGURES, IMAGE, RANDOM, TRIALS, FaultRoot

READERS = [["run", "--rm", "--network", "none", "IMG", "true"],
           ["create", "--network", "none", "IMG", "true"],
           ["image", "inspect", "IMG"], ["history", "IMG"], ["tag", "IMG", "other:1"],
           ["save", "-o", "/dev/null", "IMG"], ["save", "--format", "oci", "-o", "/dev/null",
                                                "IMG"],
           ["images"]]


def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "flip":
        i = RANDOM.randrange(len(data))
        data = data[:i] + bytes([data[i] ^ (1 << RANDOM.randrange(8))]) + data[i + 1:]
    elif how == "truncate":
        data = data[:RANDOM.randrange(len(data))]
    elif how == "extend":
        data += b"\0" * RANDOM.randrange(1, 4096)
    elif how == "edit" and data.startswith(b"{"):  # valid JSON, another meaning
        doc = json.loads(data)
        doc["edited"] = True
        data = json.dumps(doc).encode()
    else:
        data = b""
    path.write_bytes(data)


def test_damaged_blobs_are_reported_and_removable(faults: FaultRoot) -> None:
    from minidocker.image.store import Store

    problems: list[str] = []
    for trial in range(max(3, TRIALS)):
        name = f"damaged:{trial}"
        faults.ok("tag", IMAGE, name)  # the same blobs: damage a copy, not the base image
        faults.ok("commit", "--change", f"LABEL trial={trial}",
                  faults.ok("create", "--network", "none", name, "true").strip(), name)
        for cid in faults.container_dirs():
            faults.ok("rm", "-f", cid)
        store = Store(str(faults.root))
        image = store.lookup(name)
        kind, digest = RANDOM.choice([("config", image.id), ("manifest", image.manifest_digest),
                                      ("layer", image.layers[-1]["digest"])])
        how = RANDOM.choice(["flip", "truncate", "extend", "edit", "empty"])
        damage(Path(store.blob_path(digest)), how)
        if kind == "layer":  # the top layer is unpacked already: make run unpack it again
            shutil.rmtree(snapshot.snapshot_path(store, image.chain_ids[-1]),
                          ignore_errors=True)
        found = []
        for argv in READERS:
            proc = faults.run(*(name if a == "IMG" else a for a in argv))
            err = proc.stderr
            if "Traceback" in err or proc.returncode not in (0, 1, 125) or proc.returncode and (
                    not err.startswith("minidocker: error: ") or digest not in err):
                found.append(f"{argv[0]} ({kind} {how}): {proc.returncode} {err.strip()[:200]}")
        found += faults.remove_everything() + faults.leftovers()
        FIGURES.add("damaged blob", not found, f"{kind} {how}: {found}")
        problems += found
        if found:
            faults.force_clean()
    assert not problems, problems
