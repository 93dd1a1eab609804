"""Image operations of the service layer (Docker's /images/...): list, inspect, history,
pull, push, tag, remove, prune, save, load, import, login. Progress goes to the
context's sink; results are Docker's shapes."""

from __future__ import annotations

from minidocker.errors import MinidockerError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any

    from minidocker.engine.service import Context
    from minidocker.engine.service.types import PruneReport
    from minidocker.image.store import Image, Store

LIST_FILTERS = ("dangling", "reference", "label", "before", "since")


def _store(ctx: Context) -> Store:
    from minidocker.image.store import Store
    return Store(ctx.root)


def _event(ctx: Context, action: str, actor: str, name: str, image: Image | None = None
           ) -> None:
    """An image event as dockerd's: Actor.ID the reference (pull, push) or the image's
    id, the attribute name, and the image's labels."""
    from minidocker.engine.events import emit_object
    labels = ((image.config.get("config") or {}).get("Labels") or {}) if image else {}
    emit_object(ctx.root, "image", action, actor, **labels, name=name)


def _ref_event(ctx: Context, action: str, name: str, image: Image) -> None:
    """pull and push: Actor.ID the reference (busybox:latest), name its repository."""
    from minidocker.image import reference
    ref = reference.parse(name)  # parsed by the pull or push already
    _event(ctx, action, ref.familiar(), ref.familiar_name, image)


def _removal_events(ctx: Context, lines: list[dict[str, str]], image_id: str | None) -> None:
    for line in lines:
        if "Untagged" in line and image_id:
            _event(ctx, "untag", image_id, image_id)
        elif "Deleted" in line:
            _event(ctx, "delete", line["Deleted"], line["Deleted"])


def ls(ctx: Context, *, filters: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
    """GET /images/json: one summary per image, newest first: Id, ParentId, RepoTags,
    RepoDigests, Created (epoch seconds), Size, VirtualSize, SharedSize, Labels,
    Containers. Docker's filters: dangling, reference (a pattern on repo or repo:tag: an
    image keeps only the tags it matches), label, before, since."""
    import fnmatch

    from minidocker.image import views
    store = _store(ctx)
    wanted = _check_filters(filters or {})
    cutoffs = {key: [views.epoch(store.lookup(v).config.get("created", "")) or 0.0
                     for v in wanted.get(key, [])] for key in ("before", "since")}
    out = []
    for image in sorted(store.images(), key=views.created_of, reverse=True):
        tags = list(image.repo_tags)
        labels = (image.config.get("config") or {}).get("Labels") or {}
        created = views.epoch(views.created_of(image)) or 0.0
        if "dangling" in wanted and not any(
                (not tags) == (v.lower() in ("true", "1")) for v in wanted["dangling"]):
            continue
        if "reference" in wanted:
            def hit(tag: str) -> bool:
                repo = tag.rpartition(":")[0]
                return any(fnmatch.fnmatchcase(n, p) for n in (repo, tag)
                           for p in wanted["reference"])
            tags = [t for t in tags if hit(t)]
            if not tags:
                continue
        if "label" in wanted and not all(
                (k in labels and (not sep or labels[k] == v))
                for k, sep, v in (w.partition("=") for w in wanted["label"])):
            continue
        if any(not created < c for c in cutoffs["before"]) or \
                any(not created > c for c in cutoffs["since"]):
            continue
        size = views.image_size(store, image)
        out.append({"Id": image.id, "ParentId": "", "RepoTags": tags,
                    "RepoDigests": list(image.repo_digests), "Created": int(created),
                    "Size": size, "VirtualSize": size, "SharedSize": -1,
                    "Labels": dict(labels), "Containers": -1})
    return out


def _check_filters(filters: dict[str, list[str]]) -> dict[str, list[str]]:
    for key, values in filters.items():
        if key not in LIST_FILTERS:
            raise UsageError(f"invalid filter '{key}'",
                             hint=f"filters: {', '.join(k + '=...' for k in LIST_FILTERS)}")
        if key == "dangling" and any(v.lower() not in ("true", "false", "1", "0")
                                     for v in values):
            raise UsageError(f"invalid filter 'dangling={values[0]}'", hint="true or false")
    return filters


def inspect(ctx: Context, name: str) -> dict[str, Any]:
    """GET /images/{name}/json. NotFound if there is no such image."""
    from minidocker.image import manage
    return manage.inspect(_store(ctx), [name])[0]


def history(ctx: Context, name: str) -> list[dict[str, Any]]:
    """GET /images/{name}/history, newest step first: Id (the image for the top step,
    else "<missing>"), Created (epoch seconds), CreatedBy, Size, Comment, Tags."""
    from minidocker.image import views
    store = _store(ctx)
    image = store.lookup(name)
    return [{"Id": r["ID"], "Created": int(r["Created"] or 0), "CreatedAt": r["CreatedAt"],
             "CreatedBy": r["CreatedBy"], "Size": r["Size"], "Comment": r["Comment"],
             "Tags": list(image.repo_tags) if r["ID"] == image.id else None}
            for r in views.history_rows(store, image)]


def pull(ctx: Context, name: str, *, platform: str | None = None, insecure: bool = False,
         credentials: tuple[str, str] | None = None) -> dict[str, Any]:
    """POST /images/create?fromImage=: pull from a registry, progress to the sink;
    the image's inspect document."""
    from minidocker.image import distribution, manage
    store = _store(ctx)
    image = distribution.pull(store, name, platform=platform, insecure=insecure,
                              progress=ctx.sink, credentials=credentials,
                              config_dir=ctx.auth_config)
    _ref_event(ctx, "pull", name, image)
    return manage.inspect(store, [image.id])[0]


def pull_all_tags(ctx: Context, name: str, *, platform: str | None = None,
                  insecure: bool = False, credentials: tuple[str, str] | None = None
                  ) -> list[str]:
    """`pull --all-tags` (POST /images/create?fromImage= with a name alone): every tag the
    registry has of the repository `name` (which names no tag); the references pulled."""
    from minidocker.image import distribution, reference
    ref = _all_tags_ref(name)
    tags = distribution.remote_tags(_store(ctx), name, insecure=insecure,
                                    credentials=credentials, config_dir=ctx.auth_config)
    done = []
    for tag in tags:
        one = str(reference.parse(f"{ref.name}:{tag}"))
        pull(ctx, one, platform=platform, insecure=insecure, credentials=credentials)
        done.append(one)
    return done


def _all_tags_ref(name: str) -> Any:
    from minidocker.image import reference
    ref = reference.parse(name, default_tag=False)
    if ref.tag or ref.digest:
        raise UsageError("tag can't be used with --all-tags/-a")
    return ref


def pull_into(ctx: Context, store: Store, name: str, platform: str | None = None) -> Image:
    """Pull for a create that found no image (its Store already open): the store Image."""
    from minidocker.image import distribution
    image = distribution.pull(store, name, platform=platform, progress=ctx.sink,
                              config_dir=ctx.auth_config)
    _ref_event(ctx, "pull", name, image)
    return image


def push(ctx: Context, name: str, *, insecure: bool = False,
         credentials: tuple[str, str] | None = None) -> str:
    """POST /images/{name}/push: progress to the sink; the manifest's digest."""
    from minidocker.image import distribution
    store = _store(ctx)
    digest = distribution.push(store, name, insecure=insecure, progress=ctx.sink,
                               credentials=credentials, config_dir=ctx.auth_config)
    _ref_event(ctx, "push", name, store.lookup(name))
    return digest


def push_all_tags(ctx: Context, name: str, *, insecure: bool = False,
                  credentials: tuple[str, str] | None = None) -> list[str]:
    """`push --all-tags` (POST /images/{name}/push without a tag): every local tag of the
    repository `name` (which names no tag), in order; the references pushed."""
    ref = _all_tags_ref(name)
    store = _store(ctx)
    mine = sorted({t for image in store.images() for t in image.repo_tags
                   if _same_repo(t, ref.name)})
    if not mine:
        from minidocker.errors import NotFound
        raise NotFound(f"An image does not exist locally with the tag: {ref.familiar_name}")
    for one in mine:
        push(ctx, one, insecure=insecure, credentials=credentials)
    return mine


def _same_repo(tag: str, name: str) -> bool:
    from minidocker.image import reference
    try:
        return reference.parse(tag).name == name
    except UsageError:
        return False


def tag(ctx: Context, source: str, target: str) -> None:
    """POST /images/{name}/tag."""
    from minidocker.image import manage, reference
    store = _store(ctx)
    manage.tag(store, source, target)
    image = store.lookup(target)
    _event(ctx, "tag", image.id, reference.parse(target).familiar(), image)


def remove(ctx: Context, name: str, *, force: bool = False) -> list[dict[str, str]]:
    """DELETE /images/{name}: untag, and delete when no tag is left (Conflict when a
    container uses it, unless `force`): [{"Untagged": ref} | {"Deleted": id}]."""
    from minidocker.image import manage
    store = _store(ctx)
    try:
        image_id: str | None = store.lookup(name).id
    except MinidockerError:
        image_id = None  # damaged, or none: remove says which
    out = []
    for line in manage.remove(store, name, force=force):
        kind, _, value = line.partition(": ")
        out.append({kind: value})
    _removal_events(ctx, out, image_id)
    return out


def prune(ctx: Context, *, all: bool = False,  # noqa: A002
          filters: dict[str, list[str]] | None = None) -> PruneReport:
    """POST /images/prune: untagged images no container uses (every unused one with
    `all`, or filters {"dangling": ["false"]} as Docker's); filters label=, label!= and
    until= (created before) too."""
    from minidocker.engine.service.filters import check_prune, created_before, labels_match
    from minidocker.engine.service.filters import until as until_filter
    from minidocker.image import manage
    wanted = check_prune(filters or {}, ("dangling", "label", "label!", "until"))
    if wanted.get("dangling") in (["false"], ["0"]):
        all = True  # noqa: A001
    limit = until_filter(wanted)
    keep = None
    if limit is not None or "label" in wanted or "label!" in wanted:
        def keep(image: Any) -> bool:
            config = image.config or {}
            return labels_match((config.get("config") or {}).get("Labels") or {}, wanted) \
                and created_before(str(config.get("created") or ""), limit)
    lines, reclaimed = manage.prune(_store(ctx), all_unused=all, wanted=keep)
    deleted = []
    for line in lines:
        kind, _, value = line.partition(": ")
        deleted.append({"Untagged" if kind == "untagged" else "Deleted": value})
    untagged = 0
    for item in deleted:  # an image's untags come right before its deletion
        if "Deleted" in item:
            for _ in range(untagged):
                _event(ctx, "untag", item["Deleted"], item["Deleted"])
            _event(ctx, "delete", item["Deleted"], item["Deleted"])
            untagged = 0
        else:
            untagged += 1
    return {"ImagesDeleted": deleted, "SpaceReclaimed": reclaimed}


def save(ctx: Context, names: list[str], out: IO[bytes], *, format: str = "docker"  # noqa: A002
         ) -> None:
    """GET /images/get: the images (tags kept) as a Docker (or OCI) archive on `out`."""
    from minidocker.image import archive
    store = _store(ctx)
    archive.save(store, names, out, format.removesuffix("-archive"))
    for name in names:
        image = store.lookup(name)
        _event(ctx, "save", image.id, image.id, image)


def load(ctx: Context, source: IO[bytes]) -> list[str]:
    """POST /images/load: every image of a Docker or OCI archive; Docker's lines
    ("Loaded image: alpine:latest", "Loaded image ID: sha256:...")."""
    from minidocker.image import archive
    store = _store(ctx)
    lines = archive.load(store, source)
    for line in lines:  # "Loaded image: busybox:latest" or "Loaded image ID: sha256:..."
        try:
            image = store.lookup(line.rpartition(": ")[2])
        except MinidockerError:
            continue
        _event(ctx, "load", image.id, image.id, image)
    return lines


def import_(ctx: Context, source: str | IO[bytes], *, ref: str | None = None,
            changes: list[str] | tuple[str, ...] = (), message: str = "",
            platform: str | None = None) -> dict[str, str]:
    """POST /images/create?fromSrc=: a rootfs tarball (or directory) as an image, of
    `platform` (os/arch[/variant], Docker's forms) or the host's."""
    from minidocker.engine.service import validate
    from minidocker.image import commit
    wanted = validate.platform(platform) if platform else None
    image = commit.import_rootfs(_store(ctx), source, ref=ref, changes=list(changes),
                                 message=message, platform=wanted)
    _event(ctx, "import", image.id, image.id, image)
    return {"Id": image.id}


def login(ctx: Context, server: str, username: str, password: str, *,
          insecure: bool = False, keep: bool = True) -> dict[str, str]:
    """Check the credentials against the registry and keep them (`minidocker login`);
    only check them with `keep` False (POST /auth: Docker's client keeps them)."""
    from minidocker.image import distribution
    path = distribution.login(_store(ctx), server, username, password, insecure=insecure,
                              keep=keep, config_dir=ctx.auth_config)
    if keep and path is not None and ctx.auth_config is not None:  # as Docker's client
        ctx.sink.warning(f"Your password will be stored unencrypted in {path}. Configure a "
                         "credential helper to remove this warning (credsStore in that "
                         "file: docs.docker.com/engine/reference/commandline/login/"
                         "#credentials-store)")
    return {"Status": "Login Succeeded", "IdentityToken": ""}


def logout(ctx: Context, server: str) -> bool:
    """Forget the credentials of a registry; False if there were none."""
    from minidocker.image import auth, reference
    domain = reference.DEFAULT_DOMAIN if server in reference.LEGACY_DOMAINS + ("",) else server
    return auth.remove(ctx.root, domain, ctx.auth_config)
