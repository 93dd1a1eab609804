"""`pull` and `push`: move images between a registry and the local store.

Pull: manifest (an index picks the platform), config, then every layer concurrently:
download into `ingest/<digest>.partial` (kept on failure, so a second pull resumes with a
Range request), verify, publish into blobs/, unpack its snapshot. Tags are written to
index.json only at the very end, so a failed pull leaves no visible image.
Push: blobs first (those the registry has are skipped), then the manifest.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import json
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from minidocker.errors import InvalidConfig, MinidockerError, NotFound, UsageError
from minidocker.image import auth, snapshot
from minidocker.image import reference as refs
from minidocker.image import store as st
from minidocker.image.hostplatform import host_platform
from minidocker.image.registry import (
    Client,
    ConnectionFailed,
    RegistryError,
    push_scope,
    select_platform,
)
from minidocker.sink import Sink

WORKERS = 4
RESUME_ATTEMPTS = 3  # tries per blob within one pull, each resuming the last


def client_for(store: st.Store, domain: str, insecure: bool = False,
               credentials: tuple[str, str] | None = None,
               config_dir: str | None = None) -> Client:
    """A registry client with the given credentials, else the ones `login` kept (in the
    client config directory `config_dir`: image/auth.py)."""
    return Client(domain, insecure=insecure,
                  credentials=credentials or auth.get(store.root, domain, config_dir))


def pull(store: st.Store, name: str, *, platform: str | None = None, insecure: bool = False,
         progress: Sink | None = None, credentials: tuple[str, str] | None = None,
         config_dir: str | None = None) -> st.Image:
    ref = refs.parse(name)
    progress = progress or Sink()
    client = client_for(store, ref.domain, insecure, credentials, config_dir)
    with store.writing():
        try:
            body, media_type, digest = client.get_manifest(ref.path,
                                                           ref.digest or ref.tag or "latest")
        except NotFound as e:
            raise NotFound(f"manifest for {ref.familiar()} not found: {e.message}",
                           hint="check the name and tag, and that you are logged in "
                                "if the repository is private") from None
        repo_digest = f"{ref.name}@{digest}"
        extra_blobs = []
        if media_type in st.INDEX_TYPES:
            index = json.loads(body)
            desc = select_platform(index, platform or host_platform())
            extra_blobs.append(body)
            body, media_type, _ = client.get_manifest(ref.path, desc["digest"])
        manifest = json.loads(body)
        manifest_digest = st.sha256_digest(body)
        config_desc = manifest.get("config") or {}
        layers = manifest.get("layers") or []
        if not config_desc.get("digest"):
            raise InvalidConfig(f"manifest of {ref.familiar()} has no config")
        if ref.tag:
            progress.status(f"{ref.tag}: Pulling from {ref.familiar_name}")
        _fetch(store, client, ref.path, config_desc, None)
        config = store.read_json(config_desc["digest"])
        image = st.Image(config_desc["digest"], manifest_digest, manifest, config,
                         manifest_size=len(body))
        if len(image.diff_ids) != len(layers):
            raise InvalidConfig(f"image {ref.familiar()}: {len(layers)} layers but "
                                f"{len(image.diff_ids)} diff IDs in its config")
        fresh = not store.has_blob(manifest_digest) or bool(snapshot.missing(store, image))

        cancelled = threading.Event()
        # downloads wait on the network, unpacking on CPU and disk: at most one unpack per
        # core (measured on 2 cores: 4 concurrent unpacks are slower than 2)
        unpack_slots = threading.BoundedSemaphore(max(1, min(WORKERS, os.cpu_count() or 1)))

        def layer_job(i: int) -> None:
            key = layers[i]["digest"].removeprefix("sha256:")[:12]
            if snapshot.exists(store, image.chain_ids[i]):
                progress.update(key, "Already exists")
                return
            _fetch(store, client, ref.path, layers[i], progress, cancelled)
            progress.update(key, "Extracting")
            with unpack_slots:
                snapshot.unpack_layer(store, image, i)
            progress.update(key, "Pull complete")

        for i, layer in enumerate(layers):
            key = layer["digest"].removeprefix("sha256:")[:12]
            exists = snapshot.exists(store, image.chain_ids[i])
            progress.item(key, "Already exists" if exists else "Waiting", int(layer.get("size", 0)))
        errors = _run_all(layer_job, range(len(layers)), cancelled)
        for err in errors:
            if err is not None:
                raise _one_line(err)
        for extra in extra_blobs:
            store.write_blob(extra)
        store.write_blob(body, manifest_digest)
        store.add_image(manifest_digest, len(body), media_type,
                        [ref] if ref.tag else [], repo_digest=repo_digest)
    progress.status(f"Digest: {digest}")
    if fresh:
        progress.status(f"Status: Downloaded newer image for {ref.familiar()}")
    else:
        progress.status(f"Status: Image is up to date for {ref.familiar()}")
    return store.lookup(str(ref))


class Cancelled(MinidockerError):
    """The user interrupted the pull (workers stop at their next chunk)."""


def _run_all(job: Callable[[int], None], items: Iterable[int],
             cancelled: threading.Event) -> list[BaseException | None]:
    """Run `job` over `items` on the worker pool; on Ctrl-C tell the workers to stop, wait
    for them (so their temp files are cleaned up), then re-raise."""
    pool = ThreadPoolExecutor(max_workers=WORKERS)
    try:
        futures = [pool.submit(job, i) for i in items]
        return [f.exception() for f in futures]
    except KeyboardInterrupt:
        cancelled.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)


def _one_line(err: BaseException) -> BaseException:
    if isinstance(err, MinidockerError | KeyboardInterrupt):
        return err
    if isinstance(err, http.client.HTTPException):
        return RegistryError(f"download interrupted: {type(err).__name__}: {err}",
                             hint="pull again to resume")
    if isinstance(err, OSError):
        from minidocker.errors import describe
        return MinidockerError(describe(err))
    return err


def _fetch(store: st.Store, client: Client, repo: str, desc: dict[str, Any],
           progress: Sink | None, cancelled: threading.Event | None = None) -> None:
    """Make blob `desc` present in the store: resume, download, verify, publish."""
    digest = desc["digest"]
    if store.has_valid_blob(digest):  # a damaged copy is removed and downloaded again
        return
    # one downloader per blob (other pulls, threads or processes, wait and then find it)
    # (the lock file stays: unlinking it would race with waiters; gc removes it)
    with store.lock(f"locks/blob-{st.digest_hex(digest)}"):
        if not store.has_blob(digest):
            _download(store, client, repo, desc, progress, cancelled)


def _download(store: st.Store, client: Client, repo: str, desc: dict[str, Any],
              progress: Sink | None, cancelled: threading.Event | None) -> None:
    digest = desc["digest"]
    key = digest.removeprefix("sha256:")[:12]
    partial = os.path.join(store.ingest_dir, st.digest_hex(digest) + ".partial")
    restarted = False
    attempt = 0
    while True:
        attempt += 1
        if progress:
            progress.update(key, "Downloading") if not progress.live else progress.item(
                key, "Downloading", int(desc.get("size", 0)))
        try:
            def advance(n: int) -> None:
                if cancelled is not None and cancelled.is_set():
                    raise Cancelled("pull interrupted", hint="pull again to resume")
                if progress:
                    progress.advance(key, n)

            client.fetch_blob(repo, digest, partial, advance)
        except (http.client.HTTPException, ConnectionError, TimeoutError,
                ConnectionFailed) as e:
            if attempt < RESUME_ATTEMPTS:
                continue  # resume from what we have, with a Range request
            why = e.message if isinstance(e, ConnectionFailed) else type(e).__name__
            raise RegistryError(f"download of {digest} interrupted: {why}",
                                hint="pull again to resume") from None
        except OSError as e:
            if e.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            # a full disk: what was downloaded only keeps it full; the next pull restarts
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
            raise MinidockerError(f"download of {digest}: {os.strerror(e.errno)}",
                                  hint="free some space and pull again") from None
        if _file_digest(partial) == digest:
            store.publish_file(partial, digest)
            return
        os.unlink(partial)  # a bad resume (or a bad server): start over once
        if restarted:
            raise RegistryError(f"blob {digest} from {client.domain}: digest mismatch")
        restarted = True


def _file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def remote_tags(store: st.Store, name: str, *, insecure: bool = False,
                credentials: tuple[str, str] | None = None,
                config_dir: str | None = None) -> list[str]:
    """The tags a registry has of the repository `name` (pull --all-tags)."""
    ref = refs.parse(name, default_tag=False)
    client = client_for(store, ref.domain, insecure, credentials, config_dir)
    try:
        return sorted(client.tags(ref.path))
    except NotFound as e:
        raise NotFound(f"repository {ref.familiar_name} not found: {e.message}",
                       hint="check the name, and that you are logged in if the "
                            "repository is private") from None


def push(store: st.Store, name: str, *, insecure: bool = False,
         progress: Sink | None = None, credentials: tuple[str, str] | None = None,
         config_dir: str | None = None) -> str:
    """Upload a local image to the registry its name points to; returns the manifest digest."""
    ref = refs.parse(name)
    if ref.digest:
        raise UsageError("push takes a tag, not a digest")
    image = store.lookup(name)
    progress = progress or Sink()
    client = client_for(store, ref.domain, insecure, credentials, config_dir)
    scope = push_scope(ref.path)
    progress.status(f"The push refers to repository [{ref.name}]")
    descs = [*image.layers, image.manifest["config"]]
    # a repository of the same registry that has this image: blobs can be mounted from it
    source = next((r.path for r in _repo_digest_refs(image)
                   if r.domain == ref.domain and r.path != ref.path), None)
    if source:
        scope = f"{scope} repository:{source}:pull"

    def job(desc: dict[str, Any]) -> None:
        digest = desc["digest"]
        key = digest.removeprefix("sha256:")[:12]
        if client.blob_exists(ref.path, digest, scope):
            progress.update(key, "Layer already exists")
            return
        actual = store.file_digest(digest)
        if actual is None:
            raise MinidockerError(f"blob {digest} of {ref.familiar()} is missing from the store")
        if actual != digest:
            kind = "config" if digest == image.id else "layer"
            raise st.CorruptBlob(digest, actual, ref.familiar(), kind)
        progress.update(key, "Pushing")
        if client.upload_blob(ref.path, digest, store.blob_path(digest), scope, source):
            progress.update(key, f"Mounted from {source}")
        else:
            progress.update(key, "Pushed")

    errors = _run_all(lambda i: job(descs[i]), range(len(descs)), threading.Event())
    for err in errors:
        if err is not None:
            raise _one_line(err)
    body = store.read_blob(image.manifest_digest)
    media_type = image.manifest.get("mediaType") or st.MEDIA_OCI_MANIFEST
    digest = client.put_manifest(ref.path, ref.tag or "latest", body, media_type, scope)
    with contextlib.suppress(MinidockerError):
        store.add_image(image.manifest_digest, len(body), media_type, [],
                        repo_digest=f"{ref.name}@{digest}")
    progress.status(f"{ref.tag}: digest: {digest} size: {len(body)}")
    return digest


def _repo_digest_refs(image: st.Image) -> list[refs.Reference]:
    out = []
    for text in image.repo_digests:
        try:
            out.append(refs.parse(text))
        except MinidockerError:
            continue
    return out


def login(store: st.Store, domain: str, user: str, password: str, insecure: bool = False,
          keep: bool = True, config_dir: str | None = None) -> str | None:
    """Check the credentials against the registry; and keep them (the default): the path
    of the file that has them in plain base64, None if a credential helper keeps them."""
    domain = refs.DEFAULT_DOMAIN if domain in refs.LEGACY_DOMAINS + ("",) else domain
    client = Client(domain, insecure=insecure, credentials=(user, password))
    client.ping()
    if keep:
        return auth.store(store.root, domain, user, password, config_dir)
    return None
