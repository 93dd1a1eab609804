"""The content store: an OCI image layout (oci-layout, index.json, blobs/sha256/...) on disk.

Layout under `<root>/image/`: `oci/` is the OCI image layout that skopeo and umoci read
(tags are index.json entries whose `org.opencontainers.image.ref.name` is the full
reference), `ingest/` holds partial downloads, `snapshots/` the unpacked layers (see
snapshot.py) and `leases/` the containers that use an image.  Every blob is verified
against its digest before it becomes visible (temp file + rename), and index.json is
rewritten atomically under a lock, so concurrent pulls and tags never corrupt it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from typing import TYPE_CHECKING

from minidocker.errors import Conflict, InvalidConfig, MinidockerError, NotFound
from minidocker.image import reference as refs

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

OCI_LAYOUT_VERSION = "1.0.0"
MEDIA_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
MEDIA_OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
MEDIA_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MEDIA_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MEDIA_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
MEDIA_DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MANIFEST_TYPES = (MEDIA_OCI_MANIFEST, MEDIA_DOCKER_MANIFEST)
INDEX_TYPES = (MEDIA_OCI_INDEX, MEDIA_DOCKER_LIST)

ANNOTATION_REF = "org.opencontainers.image.ref.name"
ANNOTATION_REPO_DIGESTS = "io.minidocker.repo-digests"
ANNOTATION_CONFIG = "io.minidocker.config"  # the image ID, so lookups need only index.json


def default_root() -> str:
    return os.environ.get("MINIDOCKER_ROOT") or "/var/lib/minidocker"


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def digest_hex(digest: str) -> str:
    algo, _, hexpart = digest.partition(":")
    if algo != "sha256" or not refs.is_digest(digest):
        raise InvalidConfig(f"unsupported or malformed digest {digest!r}")
    return hexpart


class CorruptBlob(InvalidConfig):
    """A blob whose content does not hash to its digest: edited or damaged on disk. Raised
    by every read of a config or manifest and by layer unpacking and export; `named()`
    adds the image and the blob's role, which is what the user is shown."""

    def __init__(self, digest: str, actual: str, image: str = "", kind: str = ""):
        self.digest = digest
        self.actual = actual
        self.image = image
        self.kind = kind
        where = f"image {image}: " if image else ""
        role = f"{kind} " if kind else ""
        super().__init__(f"{where}{role}blob {digest} is corrupt: its content hashes to "
                         f"{actual}",
                         hint=f"remove the image (minidocker rmi -f {image}) and pull or load "
                              "it again" if image else "pull or load the image again")

    def named(self, image: str, kind: str = "") -> CorruptBlob:
        return CorruptBlob(self.digest, self.actual, image, kind or self.kind)


def canonical_json(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), sort_keys=False).encode()


class Image:
    """One image as the engine sees it: Id (config digest), manifest, config and names."""

    def __init__(self, id: str, manifest_digest: str, manifest: dict[str, Any],
                 config: dict[str, Any], repo_tags: list[str] | None = None,
                 repo_digests: list[str] | None = None, manifest_size: int = 0):
        self.id = id
        self.manifest_digest = manifest_digest
        self.manifest = manifest
        self.config = config
        self.repo_tags = repo_tags if repo_tags is not None else []
        self.repo_digests = repo_digests if repo_digests is not None else []
        self.manifest_size = manifest_size

    def __repr__(self) -> str:
        return f"Image({self.id!r}, tags={self.repo_tags!r})"

    @property
    def layers(self) -> list[dict[str, Any]]:
        return list(self.manifest.get("layers") or [])

    @property
    def diff_ids(self) -> list[str]:
        return list((self.config.get("rootfs") or {}).get("diff_ids") or [])

    @property
    def chain_ids(self) -> list[str]:
        return chain_ids(self.diff_ids)

    @property
    def size(self) -> int:
        return sum(int(layer.get("size", 0)) for layer in self.layers)

    @property
    def short_id(self) -> str:
        return self.id.removeprefix("sha256:")[:12]

    @property
    def display_name(self) -> str:
        """How messages name the image: its first tag, else its short ID."""
        return self.repo_tags[0] if self.repo_tags else self.short_id


def chain_ids(diff_ids: list[str]) -> list[str]:
    """ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))."""
    out: list[str] = []
    for diff_id in diff_ids:
        out.append(diff_id if not out else sha256_digest(f"{out[-1]} {diff_id}".encode()))
    return out


class BlobWriter:
    """Writes one blob to a temp file, hashing as it goes; `commit()` verifies and publishes."""

    def __init__(self, store: Store, expected: str | None = None, expected_size: int | None = None):
        self.store = store
        self.expected = expected
        self.expected_size = expected_size
        os.makedirs(store.ingest_dir, exist_ok=True)
        fd, self.tmp = _mkstemp(store.ingest_dir, "blob-")
        self.file = os.fdopen(fd, "wb")
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.hash.update(data)
        self.size += len(data)

    def flush(self) -> None:
        self.file.flush()

    def commit(self) -> str:
        self.file.close()
        digest = "sha256:" + self.hash.hexdigest()
        try:
            if self.expected and digest != self.expected:
                raise InvalidConfig(f"blob digest mismatch: expected {self.expected}, got {digest}")
            if self.expected_size is not None and self.size != self.expected_size:
                raise InvalidConfig(f"blob {digest} size mismatch: expected "
                                    f"{self.expected_size}, got {self.size}")
            self.store.publish_file(self.tmp, digest)
        finally:
            self.discard()
        return digest

    def discard(self) -> None:
        if not self.file.closed:
            self.file.close()
        try:
            os.unlink(self.tmp)
        except FileNotFoundError:
            pass

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


def _mkstemp(directory: str, prefix: str) -> tuple[int, str]:
    import tempfile
    return tempfile.mkstemp(prefix=prefix, dir=directory)


class Store:
    """The image store under `<root>/image`. Cheap to construct: nothing is read until asked."""

    def __init__(self, root: str | None = None):
        self.root = root or default_root()
        self.path = os.path.join(self.root, "image")
        self.layout = os.path.join(self.path, "oci")
        self.blobs_dir = os.path.join(self.layout, "blobs", "sha256")
        self.ingest_dir = os.path.join(self.path, "ingest")
        self.snapshots_dir = os.path.join(self.path, "snapshots")
        self.leases_dir = os.path.join(self.path, "leases")
        self.corrupt: list[tuple[dict[str, Any], CorruptBlob]] = []  # set by images()

    # ---- layout and locks -------------------------------------------------------------

    def init(self) -> Store:
        os.makedirs(self.blobs_dir, exist_ok=True)
        os.makedirs(self.ingest_dir, exist_ok=True)
        layout_file = os.path.join(self.layout, "oci-layout")
        if not os.path.exists(layout_file):
            write_atomic(layout_file, canonical_json({"imageLayoutVersion": OCI_LAYOUT_VERSION}))
        if not os.path.exists(self.index_path):
            write_atomic(self.index_path, canonical_json(_empty_index()))
        return self

    @property
    def index_path(self) -> str:
        return os.path.join(self.layout, "index.json")

    def lock(self, name: str = "index", shared: bool = False) -> FileLock:
        """flock on `<image>/<name>.lock`: `index` guards index.json, `gc` blob removal."""
        path = os.path.join(self.path, f"{name}.lock")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return FileLock(path, shared)

    def writing(self) -> FileLock:
        """Held (shared) while adding content, so that gc never removes what is being added."""
        self.init()
        return self.lock("gc", shared=True)

    # ---- blobs -------------------------------------------------------------------------

    def blob_path(self, digest: str) -> str:
        return os.path.join(self.blobs_dir, digest_hex(digest))

    def has_blob(self, digest: str) -> bool:
        return os.path.exists(self.blob_path(digest))

    def read_blob(self, digest: str, verify: bool = True) -> bytes:
        """A blob's bytes, checked against its digest (CorruptBlob if they differ): configs
        and manifests are small, and what is run or exported must be what was pulled."""
        try:
            with open(self.blob_path(digest), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise NotFound(f"blob {digest} is missing from the image store") from None
        if verify:
            actual = sha256_digest(data)
            if actual != digest:
                raise CorruptBlob(digest, actual)
        return data

    def read_json(self, digest: str, verify: bool = True) -> dict[str, Any]:
        try:
            doc = json.loads(self.read_blob(digest, verify))
        except ValueError as e:
            raise InvalidConfig(f"blob {digest} is not valid JSON: {e}") from None
        if not isinstance(doc, dict):
            raise InvalidConfig(f"blob {digest} is not a JSON object")
        return doc

    def file_digest(self, digest: str) -> str | None:
        """What a stored blob's content hashes to (None if it is missing)."""
        h = hashlib.sha256()
        try:
            with open(self.blob_path(digest), "rb", buffering=0) as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
        except FileNotFoundError:
            return None
        return "sha256:" + h.hexdigest()

    def has_valid_blob(self, digest: str) -> bool:
        """The blob is present and intact; a corrupt one is removed (so that pull and load
        write it again instead of keeping the damaged copy)."""
        actual = self.file_digest(digest)
        if actual is None:
            return False
        if actual != digest:
            try:
                os.unlink(self.blob_path(digest))
            except FileNotFoundError:
                pass
            return False
        return True

    def write_blob(self, data: bytes, expected: str | None = None) -> str:
        digest = sha256_digest(data)
        if expected and expected != digest:
            raise InvalidConfig(f"blob digest mismatch: expected {expected}, got {digest}")
        if not self.has_valid_blob(digest):
            os.makedirs(self.blobs_dir, exist_ok=True)
            fd, tmp = _mkstemp(self.blobs_dir, ".tmp-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.chmod(tmp, 0o644)
                os.rename(tmp, self.blob_path(digest))
            except BaseException:
                os.unlink(tmp)
                raise
        return digest

    def write_json(self, doc: dict[str, Any]) -> tuple[str, int]:
        data = canonical_json(doc)
        return self.write_blob(data), len(data)

    def publish_file(self, path: str, digest: str) -> None:
        """Move an already verified file into blobs/ (atomic; an existing blob wins)."""
        os.makedirs(self.blobs_dir, exist_ok=True)
        os.chmod(path, 0o644)
        os.rename(path, self.blob_path(digest))

    def blob_writer(self, expected: str | None = None, size: int | None = None) -> BlobWriter:
        return BlobWriter(self, expected, size)

    # ---- index.json --------------------------------------------------------------------

    def read_index(self) -> dict[str, Any]:
        try:
            with open(self.index_path, "rb") as f:
                doc = json.load(f)
        except FileNotFoundError:
            return _empty_index()
        except ValueError as e:
            raise InvalidConfig(f"{self.index_path}: {e}") from None
        doc.setdefault("manifests", [])
        return doc

    def update_index(self, change: Callable[[list[dict[str, Any]]], None]) -> None:
        """Read-modify-write index.json under the index lock; `change` edits the entry list."""
        self.init()
        with self.lock("index"):
            index = self.read_index()
            change(index["manifests"])
            write_atomic(self.index_path, json.dumps(index, indent=None).encode())

    def add_image(self, manifest_digest: str, manifest_size: int, media_type: str,
                  tags: Sequence[refs.Reference] = (), repo_digest: str | None = None) -> None:
        """Record a manifest: one entry per tag (moved from any older image) or, without tags,
        one untagged entry. An image that loses its last tag stays as an untagged entry."""
        names = [str(t) for t in tags]
        config_digest = str(self.read_json(manifest_digest).get("config", {}).get("digest", ""))

        def change(entries: list[dict[str, Any]]) -> None:
            repo_digests = _repo_digests(entries, manifest_digest)
            if repo_digest and repo_digest not in repo_digests:
                repo_digests.append(repo_digest)
            displaced = []
            for entry in list(entries):
                ref_name = _ref_name(entry)
                if entry["digest"] == manifest_digest and (ref_name is None or ref_name in names):
                    entries.remove(entry)
                elif ref_name is not None and ref_name in names:
                    entries.remove(entry)
                    displaced.append(entry)
            new = [_entry(manifest_digest, manifest_size, media_type, name, repo_digests,
                          config_digest) for name in names]
            if not new and not any(e["digest"] == manifest_digest for e in entries):
                new.append(_entry(manifest_digest, manifest_size, media_type, None, repo_digests,
                                  config_digest))
            for entry in entries:
                if entry["digest"] == manifest_digest and repo_digests:
                    entry.setdefault("annotations", {})[ANNOTATION_REPO_DIGESTS] = \
                        ",".join(repo_digests)
            entries.extend(new)
            for old in displaced:
                if not any(e["digest"] == old["digest"] for e in entries):
                    old["annotations"].pop(ANNOTATION_REF, None)
                    entries.append(old)

        self.update_index(change)

    def remove_entries(self, predicate: Callable[[dict[str, Any]], bool]) -> int:
        removed = 0

        def change(entries: list[dict[str, Any]]) -> None:
            nonlocal removed
            keep = [e for e in entries if not predicate(e)]
            removed = len(entries) - len(keep)
            entries[:] = keep

        self.update_index(change)
        return removed

    def untag(self, ref: refs.Reference) -> str:
        """Remove a tag's entry; returns the manifest digest it pointed to. The caller decides
        what becomes of an image that loses its last tag (manage.remove)."""
        name = str(ref)
        found: list[str] = []

        def change(entries: list[dict[str, Any]]) -> None:
            for entry in list(entries):
                if _ref_name(entry) == name:
                    entries.remove(entry)
                    found.append(entry["digest"])

        self.update_index(change)
        if not found:
            raise NotFound(f"no such image: {ref.familiar()}")
        return found[0]

    # ---- images ------------------------------------------------------------------------

    def images(self) -> list[Image]:
        """Every image in the store, one per config digest, with all its tags. Images whose
        manifest or config is corrupt are left out and listed in `self.corrupt`."""
        by_id: dict[str, Image] = {}
        self.corrupt = []
        for entry in self.read_index()["manifests"]:
            if entry.get("mediaType", MEDIA_OCI_MANIFEST) not in MANIFEST_TYPES:
                continue
            kind = "manifest"
            try:
                manifest = self.read_json(entry["digest"])
                config_digest = manifest["config"]["digest"]
                image = by_id.get(config_digest)
                if image is None:
                    kind = "config"
                    config = self.read_json(config_digest)
                    image = Image(config_digest, entry["digest"], manifest, config,
                                  manifest_size=int(entry.get("size", 0)))
                    by_id[config_digest] = image
            except CorruptBlob as e:
                self.corrupt.append((entry, e.named(entry_name(entry), kind)))
                continue
            except (NotFound, InvalidConfig, KeyError, TypeError):
                continue
            ref_name = _ref_name(entry)
            if ref_name:
                try:
                    tag = refs.parse(ref_name).familiar()
                except MinidockerError:
                    tag = ""
                if tag and tag not in image.repo_tags:
                    image.repo_tags.append(tag)
            for rd in _split(entry.get("annotations", {}).get(ANNOTATION_REPO_DIGESTS)):
                try:
                    rd = refs.parse(rd).familiar()
                except MinidockerError:
                    pass
                if rd not in image.repo_digests:
                    image.repo_digests.append(rd)
        return list(by_id.values())

    def lookup(self, name: str) -> Image:
        """An image by reference (`alpine`, `alpine:3`, `x@sha256:...`), Id or Id prefix."""
        fast = self._lookup_tag(name)
        if fast is not None:
            return fast
        images = self.images()
        wanted_hex = name.removeprefix("sha256:").lower()
        ref: refs.Reference | None = None
        try:
            ref = refs.parse(name)
        except MinidockerError:
            ref = None
        if ref is not None:
            for image in images:
                if ref.digest is None and ref.familiar() in image.repo_tags:
                    return image
                if ref.digest and (image.manifest_digest == ref.digest or any(
                        rd.endswith("@" + ref.digest) and rd.startswith(ref.familiar_name + "@")
                        for rd in image.repo_digests)):
                    return image
        if all(c in "0123456789abcdef" for c in wanted_hex) and wanted_hex:
            matches = [i for i in images if i.id.removeprefix("sha256:").startswith(wanted_hex)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise Conflict(f"image ID prefix {name!r} is ambiguous",
                               hint="give more characters of the ID")
        for entry, error in self.corrupt:
            if _entry_matches(entry, name, ref):
                raise error
        if len(wanted_hex) == 64 and name.startswith("sha256:"):
            from minidocker.image import buildcache  # a build step's state, by full ID
            state = buildcache.state(self, name)
            if state is not None:
                return state
        shown = ref.familiar() if ref else name
        raise NotFound(f"no such image: {shown}",
                       hint=f"pull it first: minidocker pull {shown}" if ref else None)

    def _lookup_tag(self, name: str) -> Image | None:
        """The run path's common case, a tag: from index.json plus two blobs, not every
        image's. None when the slow path must decide (no such tag, or foreign entries)."""
        try:
            ref = refs.parse(name)
        except MinidockerError:
            return None
        if ref.digest:
            return None
        entries = self.read_index()["manifests"]
        wanted = str(ref)
        target = next((e for e in entries if _ref_name(e) == wanted), None)
        if target is None or not all(ANNOTATION_CONFIG in (e.get("annotations") or {})
                                     for e in entries):
            return None
        config_digest = target["annotations"][ANNOTATION_CONFIG]
        kind = "manifest"
        try:
            manifest = self.read_json(target["digest"])
            kind = "config"
            config = self.read_json(config_digest)
        except CorruptBlob as e:
            raise e.named(ref.familiar(), kind) from None
        except (NotFound, InvalidConfig):
            return None
        if (manifest.get("config") or {}).get("digest") != config_digest:
            return None  # an index entry out of step with its manifest: the slow path
        image = Image(config_digest, target["digest"], manifest, config,
                      manifest_size=int(target.get("size", 0)))
        for entry in entries:
            annotations = entry.get("annotations") or {}
            if annotations.get(ANNOTATION_CONFIG) != config_digest:
                continue
            ref_name = annotations.get(ANNOTATION_REF)
            if ref_name:
                try:
                    tag = refs.parse(ref_name).familiar()
                except MinidockerError:
                    continue
                if tag not in image.repo_tags:
                    image.repo_tags.append(tag)
            for rd in _split(annotations.get(ANNOTATION_REPO_DIGESTS)):
                try:
                    rd = refs.parse(rd).familiar()
                except MinidockerError:
                    pass
                if rd not in image.repo_digests:
                    image.repo_digests.append(rd)
        return image

    def try_lookup(self, name: str) -> Image | None:
        try:
            return self.lookup(name)
        except NotFound:
            return None

    # ---- garbage collection ------------------------------------------------------------

    def gc(self, wait: bool = True) -> tuple[int, int]:
        """Remove blobs and snapshots no image or lease refers to; returns (blobs, snapshots).
        With wait=False, give up at once if a pull, load or unpack is running (rmi must not
        hang behind a download; the next gc collects what this one skipped)."""
        import contextlib

        from minidocker.image import snapshot

        lock = self.lock("gc")
        lock.blocking = wait
        try:
            lock.__enter__()
        except BlockingIOError:
            return 0, 0
        try:
            blobs: set[str] = set()
            chains: set[str] = set()
            for entry in self.read_index()["manifests"]:
                blobs.add(entry["digest"])
                try:  # unverified: a damaged image keeps its blobs until it is removed
                    manifest = self.read_json(entry["digest"], verify=False)
                except MinidockerError:
                    continue
                for desc in manifest.get("manifests", []):
                    blobs.add(desc["digest"])
                config = manifest.get("config", {}).get("digest")
                if config:
                    blobs.add(config)
                    with contextlib.suppress(MinidockerError):
                        diff_ids = self.read_json(config, verify=False).get(
                            "rootfs", {}).get("diff_ids", [])
                        chains.update(chain_ids(diff_ids))
                blobs.update(layer["digest"] for layer in manifest.get("layers", []))
            for lease in snapshot.leases(self):
                chains.update(lease.get("chain_ids", []))
            from minidocker.image import buildcache
            cache_blobs, cache_chains = buildcache.roots(self)
            blobs |= cache_blobs
            chains |= cache_chains
            removed_blobs = 0
            keep = {d.removeprefix("sha256:") for d in blobs}
            with contextlib.suppress(FileNotFoundError):
                for name in os.listdir(self.blobs_dir):
                    if name not in keep:
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(os.path.join(self.blobs_dir, name))
                            removed_blobs += 1
            removed_snaps = snapshot.remove_unused(self, chains)
            _clean_ingest(self)
        finally:
            lock.__exit__()
        return removed_blobs, removed_snaps


class FileLock:
    """A flock held for a `with` block (a class: contextlib costs imports on the run path)."""

    def __init__(self, path: str, shared: bool = False):
        self.path = path
        self.shared = shared
        self.blocking = True
        self.fd = -1

    def __enter__(self) -> None:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self.fd, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX)
                        | (0 if self.blocking else fcntl.LOCK_NB))
        except BaseException:
            os.close(self.fd)
            raise

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)


def _clean_ingest(store: Store, max_age: float = 86400) -> None:
    """Under the gc lock no pull, load, import or commit is running, so whatever is in
    ingest/ was left by one that died (kill -9, a full disk): remove it, except partial
    downloads, which a pull resumes for a day. The per-blob and per-snapshot lock files
    go too, and temp files of index.json writers that died (under the index lock)."""
    import shutil
    import time

    now = time.time()
    for directory, everything in ((os.path.join(store.path, "locks"), True),
                                  (store.ingest_dir, False)):
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            continue
        for name in names:
            path = os.path.join(directory, name)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                elif everything or not name.endswith(".partial") or \
                        now - os.lstat(path).st_mtime > max_age:
                    os.unlink(path)
            except OSError:
                pass
    with store.lock("index"):
        try:
            names = os.listdir(store.layout)
        except FileNotFoundError:
            return
        for name in names:
            if ".tmp." in name:
                try:
                    os.unlink(os.path.join(store.layout, name))
                except OSError:
                    pass


def entry_name(entry: dict[str, Any]) -> str:
    """How messages name the image of an index entry: its tag, else its short ID."""
    ref_name = _ref_name(entry)
    if ref_name:
        try:
            return refs.parse(ref_name).familiar()
        except MinidockerError:
            return ref_name
    config = (entry.get("annotations") or {}).get(ANNOTATION_CONFIG) or entry["digest"]
    return str(config).removeprefix("sha256:")[:12]


def _entry_matches(entry: dict[str, Any], name: str, ref: refs.Reference | None) -> bool:
    """Whether `name` (a reference, an ID or an ID prefix) designates this index entry."""
    if ref is not None:
        if ref.digest is None and _ref_name(entry) == str(ref):
            return True
        if ref.digest is not None and entry["digest"] == ref.digest:
            return True
    wanted = name.removeprefix("sha256:").lower()
    config = str((entry.get("annotations") or {}).get(ANNOTATION_CONFIG, ""))
    return bool(wanted) and all(c in "0123456789abcdef" for c in wanted) and \
        config.removeprefix("sha256:").startswith(wanted)


def entries_for(store: Store, name: str) -> list[dict[str, Any]]:
    """The index entries `name` designates (by tag, digest, ID or ID prefix), read from
    index.json alone: what `rmi` removes of an image whose blobs cannot be trusted."""
    try:
        ref: refs.Reference | None = refs.parse(name)
    except MinidockerError:
        ref = None
    return [e for e in store.read_index()["manifests"] if _entry_matches(e, name, ref)]


def _empty_index() -> dict[str, Any]:
    return {"schemaVersion": 2, "mediaType": MEDIA_OCI_INDEX, "manifests": []}


def _ref_name(entry: dict[str, Any]) -> str | None:
    return (entry.get("annotations") or {}).get(ANNOTATION_REF)


def _split(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


def _repo_digests(entries: list[dict[str, Any]], manifest_digest: str) -> list[str]:
    out: list[str] = []
    for entry in entries:
        if entry["digest"] == manifest_digest:
            for rd in _split(entry.get("annotations", {}).get(ANNOTATION_REPO_DIGESTS)):
                if rd not in out:
                    out.append(rd)
    return out


def _entry(digest: str, size: int, media_type: str, ref_name: str | None,
           repo_digests: list[str], config_digest: str = "") -> dict[str, Any]:
    annotations: dict[str, str] = {}
    if ref_name:
        annotations[ANNOTATION_REF] = ref_name
    if repo_digests:
        annotations[ANNOTATION_REPO_DIGESTS] = ",".join(repo_digests)
    if config_digest:
        annotations[ANNOTATION_CONFIG] = config_digest
    entry: dict[str, Any] = {"mediaType": media_type, "digest": digest, "size": size}
    if annotations:
        entry["annotations"] = annotations
    return entry


def write_atomic(path: str, data: bytes, tmp: str | None = None, sync: bool = True) -> None:
    """Replace `path` (fs.replace: temp file + rename; a failed write removes its temp
    file and leaves `path` as it was)."""
    from minidocker.fs import replace
    replace(path, data, tmp=tmp or f"{path}.tmp.{os.getpid()}.{id(data)}", sync=sync,
            mode=0o644, in_place=False)
