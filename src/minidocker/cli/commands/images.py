"""minidocker images: list local images."""

from __future__ import annotations

from minidocker.cli.flags import Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
DIGESTS_TABLE = ("table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}"
                 "\t{{.Size}}")
TITLES = {"ID": "IMAGE ID", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT"}


SPEC = Spec("[OPTIONS] [REPOSITORY[:TAG]]", (
    ("a", "all", "bool", "Show all images (default hides intermediate images)"),
    ("", "digests", "bool", "Show digests"),
    ("f", "filter", "filter", "Filter output based on conditions provided"),
    ("", "format", "string", "Pretty-print images using a Go template"),
    ("", "no-trunc", "bool", "Don't truncate output"),
    ("q", "quiet", "bool", "Only show image IDs"),
), (("repository", "?"),))


def run(args: Any) -> int:
    import sys

    from minidocker.cli.commands._common import context
    from minidocker.cli.formats import Format
    from minidocker.cli.output import ago, go_time, human_size
    from minidocker.engine.service import images
    from minidocker.engine.service.filters import from_args

    filters = from_args(args.filter)
    if args.repository:  # as Docker's CLI: the argument is a reference filter
        from minidocker.image import reference
        ref = reference.parse(args.repository, default_tag=False)
        filters.setdefault("reference", []).append(
            ref.familiar_name + (f":{ref.tag}" if ref.tag else ""))
    rows = []
    for image in images.ls(context(args), filters=filters):
        for row in rows_of(image):
            if args.no_trunc:
                row["ID"] = image["Id"]
            created = image["Created"]
            row["CreatedSince"] = ago(created) if created else "N/A"
            row["CreatedAt"] = go_time(created) if created else ""
            row["Size"] = human_size(image["Size"], 3)
            rows.append(row)
    if args.quiet:
        ids = list(dict.fromkeys(r["ID"] for r in rows))
        sys.stdout.write("".join(f"{i}\n" for i in ids))
        return 0
    fmt = Format(args.format or (DIGESTS_TABLE if args.digests else DEFAULT_TABLE),
                 default_table=DIGESTS_TABLE if args.digests else DEFAULT_TABLE)
    sys.stdout.write(fmt.render(rows, TITLES))
    return 0


def rows_of(image: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per tag of an image summary (one `<none>` row without): Repository, Tag,
    Digest, ID as Docker's CLI shows them."""
    # untagged but pulled by digest: Docker shows the repository, tag <none>
    tags = image["RepoTags"] or [f"{d.split('@', 1)[0]}:<none>" for d in image["RepoDigests"]
                                 ][:1] or ["<none>:<none>"]
    rows = []
    for tag in tags:
        repo, _, t = tag.rpartition(":")
        if "/" in t:  # a registry port, not a tag
            repo, t = tag, "<none>"
        digest = next((d.split("@", 1)[1] for d in image["RepoDigests"]
                       if d.split("@", 1)[0] == repo), "<none>")
        rows.append({"Repository": repo, "Tag": t, "ID": image["Id"].split(":", 1)[-1][:12],
                     "Digest": digest})
    return rows
