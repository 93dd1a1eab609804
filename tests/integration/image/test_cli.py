"""The image commands as a user runs them: output shapes, exit codes, one-line errors."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

from tests.integration.image.conftest import CLI, Registry
from tests.integration.image.test_pull import push_layout


def test_pull_images_inspect_tag_history_rmi(tmp_path: Path, registry: Registry,
                                             cli: CLI) -> None:
    name = push_layout(tmp_path, registry, "cli/app")
    out = cli("pull", name).stdout
    assert "Status: Downloaded newer image" in out and out.strip().endswith(name)
    assert "Image is up to date" in cli("pull", name).stdout
    listing = cli("images").stdout.splitlines()
    assert listing[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert listing[1].split()[:2] == [name.rsplit(":", 1)[0], "v1"]
    (doc,) = json.loads(cli("image", "inspect", name).stdout)
    assert doc["Id"].startswith("sha256:") and doc["RepoTags"] == [name]
    assert doc["RepoDigests"][0].startswith(name.rsplit(":", 1)[0] + "@sha256:")
    assert doc["Config"]["Cmd"] == ["/bin/sh"] and len(doc["RootFS"]["Layers"]) == 3
    short = doc["Id"][7:19]
    assert cli("images", "-q").stdout.split() == [short]
    assert cli("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.strip() == name
    assert "sha256:" in cli("images", "--digests").stdout
    cli("tag", name, "mine:latest")
    assert cli("images", "--format", "{{.Repository}}", "-f", "reference=mi*").stdout == "mine\n"
    assert cli("images", "-q", "-f", "dangling=true").stdout == ""
    both = cli("image", "inspect", "-f", "{{.Id}}", "mine", "nope", check=False)
    assert both.returncode == 1 and both.stdout.strip() == doc["Id"]
    assert "no such image: nope" in both.stderr
    assert cli("image", "inspect", "-f", "{{.Id}}", "mine").stdout.strip() == doc["Id"]
    hist = cli("history", "mine").stdout.splitlines()
    assert hist[0].split()[:2] == ["IMAGE", "CREATED"] and len(hist) == 4
    assert cli("rmi", "mine").stdout.strip() == "Untagged: mine:latest"
    by_digest = f"{name.rsplit(':', 1)[0]}@{doc['RepoDigests'][0].split('@')[1]}"
    other = CLI(tmp_path / "by-digest")
    other("pull", by_digest)
    row = other("images", "--digests", "--format",
                "{{.Repository}} {{.Tag}} {{.Digest}}").stdout.split()
    assert row == [name.rsplit(":", 1)[0], "<none>", by_digest.split("@")[1]]
    rmi = cli("rmi", short).stdout
    assert f"Untagged: {name}" in rmi and f"Deleted: {doc['Id']}" in rmi
    assert cli("images", "-q").stdout == ""


def test_errors_are_one_line_with_exit_1(cli: CLI) -> None:
    """Docker's client exits 1 when a command other than run or create fails."""
    inspect = cli("image", "inspect", "nope", check=False)  # Docker: [] and exit 1
    assert (inspect.returncode, inspect.stdout.strip()) == (1, "[]")
    for args in (["pull", "Bad:Name"], ["rmi", "nope"],
                 ["tag", "nope", "x"], ["history", "nope"]):
        proc = cli(*args, check=False)
        assert proc.returncode == 1, (args, proc.stderr)
        assert proc.stderr.startswith("minidocker: error: "), proc.stderr
        assert "Traceback" not in proc.stderr


def test_save_load_import_roundtrip(tmp_path: Path, busybox_rootfs: Path, cli: CLI,
                                    md_root: Path) -> None:
    image_id = cli("import", "-c", "CMD [\"sh\"]", "-c", "LABEL tier=web",
                   str(busybox_rootfs), "bb:1").stdout.strip()
    assert image_id.startswith("sha256:")
    tarball = tmp_path / "rootfs.tar.gz"
    subprocess.run(["tar", "-C", str(busybox_rootfs), "-czf", str(tarball), "."], check=True)
    with open(tarball, "rb") as f:
        proc = subprocess.run([*_cmd(md_root), "import", "-", "bb:stdin"], stdin=f,
                              capture_output=True, text=True, check=True)
    assert proc.stdout.startswith("sha256:")
    listed = cli("images", "--format", "{{.Tag}}", "-f", "label=tier=web").stdout.split()
    assert listed == ["1"]
    assert cli("images", "--format", "{{.Tag}}", "-f", "since=bb:1").stdout.split() == ["stdin"]
    assert cli("images", "--format", "{{.Tag}}", "-f", "before=bb:stdin").stdout.split() == ["1"]
    bad = cli("images", "-f", "color=red", check=False)
    assert bad.returncode == 1 and "invalid filter" in bad.stderr
    saved = tmp_path / "bb.tar"
    cli("save", "-o", str(saved), "bb:1")
    other = CLI(tmp_path / "other")
    assert other("load", "-i", str(saved)).stdout.strip() == "Loaded image: bb:1"
    with open(saved, "rb") as f:
        proc = subprocess.run([*_cmd(tmp_path / "third"), "load"], stdin=f,
                              capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "Loaded image: bb:1"
    oci = subprocess.run([*_cmd(md_root), "save", "--format", "oci", "bb:1"],
                         capture_output=True, check=True).stdout
    assert other("load", input=oci).stdout.decode().strip() == "Loaded image: bb:1"
    assert "Total reclaimed space" in cli("image", "prune", "-a", "-f").stdout
    assert cli("images", "-q").stdout == ""


def test_push_and_login_logout(tmp_path: Path, registry: Registry, auth_proxy,  # type: ignore[no-untyped-def]
                               busybox_rootfs: Path, cli: CLI, md_root: Path) -> None:
    proxy = auth_proxy("basic", "u", "p")
    target = f"{proxy.addr}/cli/pushed:1"
    cli("import", str(busybox_rootfs), target)
    proc = cli("push", target, check=False)
    assert proc.returncode == 1 and "401" in proc.stderr
    config = tmp_path / "docker-config"  # Docker's client config directory, as DOCKER_CONFIG
    env = {**os.environ, "DOCKER_CONFIG": str(config)}
    login = subprocess.run([*_cmd(md_root), "login", "-u", "u", "--password-stdin", proxy.addr],
                           input="p\n", capture_output=True, text=True, env=env)
    assert login.stdout.strip() == "Login Succeeded", login.stderr
    assert "stored unencrypted in" in login.stderr  # as Docker's client says
    saved = json.loads((config / "config.json").read_text())  # Docker's own file and format
    assert saved["auths"][proxy.addr] == {"auth": base64.b64encode(b"u:p").decode()}
    assert oct(os.stat(config / "config.json").st_mode & 0o777) == "0o600"
    assert "digest: sha256:" in subprocess.run([*_cmd(md_root), "push", target], env=env,
                                               capture_output=True, text=True).stdout
    out = subprocess.run([*_cmd(md_root), "logout", proxy.addr], env=env, capture_output=True,
                         text=True).stdout
    assert "Removing login credentials" in out
    assert json.loads((config / "config.json").read_text())["auths"] == {}
    warned = subprocess.run([*_cmd(md_root), "login", "-u", "u", "-p", "p", proxy.addr],
                            env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert warned.stderr.startswith("WARNING! Using --password via the CLI is insecure. Use "
                                    "--password-stdin.\n"), warned.stderr
    other = CLI(tmp_path / "other")
    assert other("pull", target.replace(proxy.addr, registry.addr)).returncode == 0


def _cmd(root: Path) -> list[str]:
    from tests.conftest import tool
    return [tool("minidocker"), "--root", str(root)]


def test_push_and_pull_all_tags(tmp_path: Path, registry: Registry, busybox_rootfs: Path,
                                cli: CLI) -> None:
    """push -a pushes every local tag of the repository, pull -a pulls every tag the
    registry has (then prints the repository's name), as Docker's; a tag with -a is
    refused, and so is a repository with no local tag; each pull and push is an event."""
    repo = f"{registry.addr}/cli/alltags{os.getpid()}"
    cli("import", str(busybox_rootfs), f"{repo}:one")
    cli("tag", f"{repo}:one", f"{repo}:two")
    cli("tag", f"{repo}:one", f"{registry.addr}/cli/other:x")  # another repository
    out = cli("push", "--all-tags", repo).stdout
    assert "one: digest: sha256:" in out and "two: digest: sha256:" in out
    assert "other" not in out
    for args, message in ((("push", "-a", f"{repo}:one"), "tag can't be used with --all-tags"),
                          (("pull", "-a", f"{repo}:one"), "tag can't be used with --all-tags"),
                          (("push", "-a", f"{registry.addr}/cli/none"),
                           "An image does not exist locally with the tag")):
        result = cli(*args, check=False)
        assert result.returncode == 1 and message in result.stderr, result.stderr
    other = CLI(tmp_path / "other")
    out = other("pull", "-a", repo).stdout
    assert out.strip().endswith(repo) and "one: Pulling from" in out and \
        "two: Pulling from" in out, out
    assert sorted(other("images", "--format", "{{.Tag}}").stdout.split()) == ["one", "two"]
    events = other("events", "--since", "10m", "--until", "0s", "--format",
                   "{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}").stdout
    assert events.splitlines() == [f"image pull {repo}:{t} {repo}" for t in ("one", "two")]
    pushed = cli("events", "--since", "10m", "--until", "0s", "--filter", "event=push",
                 "--format", "{{.Actor.ID}}").stdout
    assert pushed.split() == [f"{repo}:one", f"{repo}:two"]


def test_import_platform_and_rmi_no_prune(busybox_rootfs: Path, cli: CLI) -> None:
    """import --platform makes an image of that platform (Docker's forms: arm64 is
    linux/arm64, arm/v7 keeps its variant), the host's by default; a platform that is no
    platform is refused; run warns as dockerd does for another platform's image (and
    runs it: binfmt_misc may); rmi --no-prune removes as rmi does (an image here has no
    parents to keep)."""
    cli("import", str(busybox_rootfs), "plat:host")
    cli("import", "--platform", "arm64", str(busybox_rootfs), "plat:arm64")
    cli("import", "--platform", "linux/arm/v7", str(busybox_rootfs), "plat:armv7")
    fmt = "{{.Os}}/{{.Architecture}}{{with .Variant}}/{{.}}{{end}}"
    shown = {tag: cli("image", "inspect", "-f", fmt, f"plat:{tag}").stdout.strip()
             for tag in ("host", "arm64", "armv7")}
    from minidocker.image.hostplatform import host_platform
    host = host_platform()
    assert shown == {"host": host, "arm64": "linux/arm64", "armv7": "linux/arm/v7"}
    bad = cli("import", "--platform", "plan9/z80", str(busybox_rootfs), "plat:bad",
              check=False)
    assert bad.returncode == 1 and "error parsing specified platform" in bad.stderr
    for tag, warned in (("host", False), ("arm64", host != "linux/arm64")):
        run = cli("run", "--rm", "--network", "none", f"plat:{tag}", "true")
        assert ("requested image's platform (linux/arm64) does not match the detected host "
                f"platform ({host})" in run.stderr) == warned, run.stderr
    assert cli("rmi", "--no-prune", "plat:host").stdout.startswith("Untagged: plat:host")
