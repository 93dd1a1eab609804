"""ADD of http(s) URLs, from an HTTP server of the test on 127.0.0.1: the download's name,
mode 0600, Last-Modified mtime, --chown/--chmod, an archive kept as it is, several URLs
into a directory, --checksum, the cache keyed by the downloaded content, the proxy, and
failures (404, refused, timeout, no file name, bad checksum) as one line that leaves
nothing behind."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess

from tests.integration.build.conftest import Builder, Files, tar_of
from tests.integration.build.test_cache import step_states

LAST_MODIFIED = "Sun, 09 Sep 2001 01:46:40 GMT"  # 1000000000


def _error(proc: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a failed build (and no traceback)."""
    stderr = proc.stderr
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("minidocker: error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_add_url_names_modes_mtime_and_no_extraction(builder: Builder, files: Files) -> None:
    archive = tar_of({"inside.txt": b"packed\n"}, "gz")
    data = files.serve("/files/data.txt", b"downloaded\n")
    packed = files.serve("/files/archive.tar.gz", archive)
    dated = files.serve("/files/dated.txt", b"dated\n", headers={"Last-Modified":
                                                                 LAST_MODIFIED})
    disposed = files.serve("/export/", b"a,b\n", headers={
        "Content-Disposition": 'attachment; filename="report.csv"'})
    first, second = files.serve("/m/a.txt", b"A\n"), files.serve("/m/b%20c.txt", b"BC\n")
    ctx = builder.context(
        "FROM busybox\n"
        f"ARG BASE={files.url('/files')}\n"
        "ADD ${BASE}/data.txt /dl/\n"
        f"ADD {packed} /dl/\n"
        f"ADD {data} /named\n"
        f"ADD --chown=10:20 --chmod=640 {data} /owned/\n"
        f"ADD {dated} /tmp\n"
        f"ADD {disposed} /cd/\n"
        f"ADD {first} {second} /multi/\n"
        "RUN cd / && stat -c '%a %u %g %n' dl/data.txt dl/archive.tar.gz named "
        "owned/data.txt tmp/dated.txt cd/report.csv 'multi/a.txt' 'multi/b c.txt' > /stats "
        "&& stat -c %Y /tmp/dated.txt > /mtime\n")
    builder.build(ctx, "-t", "urls")
    assert builder.run("urls", "cat", "/stats").splitlines() == [
        "600 0 0 dl/data.txt", "600 0 0 dl/archive.tar.gz", "600 0 0 named",
        "640 10 20 owned/data.txt", "600 0 0 tmp/dated.txt", "600 0 0 cd/report.csv",
        "600 0 0 multi/a.txt", "600 0 0 multi/b c.txt"]
    assert builder.run("urls", "cat", "/mtime") == "1000000000\n"
    assert builder.run("urls", "cat", "/named", "/multi/b c.txt") == "downloaded\nBC\n"
    # a URL's archive lands as the file it is: not extracted, unlike a local one
    assert builder.run("urls", "md5sum", "/dl/archive.tar.gz").split()[0] == \
        hashlib.md5(archive).hexdigest()
    assert "inside.txt" not in builder.run("urls", "ls", "/dl")
    # no context: a Dockerfile on stdin can still ADD a URL
    proc = builder.engine.run("build", "--network", "none", "-t", "stdin-url", "-",
                              input=f"FROM busybox\nADD {data} /d.txt\n".encode(),
                              timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert builder.run("stdin-url", "cat", "/d.txt") == "downloaded\n"
    assert builder.leftovers() == []


def test_add_url_checksum(builder: Builder, files: Files) -> None:
    body = b"verified content\n"
    url = files.serve("/v/file.bin", body)
    good = "sha256:" + hashlib.sha256(body).hexdigest()
    ctx = builder.context(f"FROM busybox\nADD --checksum={good} {url} /v/\n")
    builder.build(ctx, "-t", "checked")
    assert builder.run("checked", "cat", "/v/file.bin") == body.decode()
    sha512 = "sha512:" + hashlib.sha512(body).hexdigest()
    builder.build(builder.context(f"FROM busybox\nADD --checksum={sha512} {url} /f\n"))
    wrong = "sha256:" + hashlib.sha256(b"something else").hexdigest()
    proc = builder.build(builder.context(f"FROM busybox\nADD --checksum={wrong} {url} /v/\n"),
                         check=False)
    line = _error(proc)
    assert url in line and wrong in line and good in line and "Dockerfile:2" in line
    for dockerfile, message in (
            (f"ADD --checksum={good} local.txt /l\n",
             "checksum can't be specified for non-HTTP(S) sources"),
            (f"ADD --checksum={good} {url} {url} /two/\n",
             "checksum can't be specified for multiple sources"),
            (f"ADD --checksum=sha256:123 {url} /f\n", "invalid checksum digest format"),
            (f"COPY --checksum={good} {url} /f\n", "unknown flag: --checksum")):
        proc = builder.build(builder.context("FROM busybox\n" + dockerfile,
                                             {"local.txt": "x\n"}), check=False)
        assert message in _error(proc), dockerfile
    assert builder.leftovers() == []


def test_add_url_cache_follows_the_served_content(builder: Builder, files: Files) -> None:
    url = files.serve("/c/config.txt", b"version 1\n")
    ctx = builder.context(f"FROM busybox\nRUN echo before > /before\nADD {url} /etc/app/\n"
                          "RUN cat /etc/app/config.txt > /seen\n")
    step = f"[3/4] ADD {url} /etc/app/"
    first = step_states(builder.build(ctx, "-t", "cached-url").stderr)
    assert first[step] == "DONE"
    again = step_states(builder.build(ctx, "-t", "cached-url").stderr)
    assert set(again.values()) == {"CACHED"}  # the same content: every step hits
    assert [p for p, _, _ in files.requests].count("/c/config.txt") == 2  # fetched again
    files.serve("/c/config.txt", b"version 2\n")
    changed = step_states(builder.build(ctx, "-t", "cached-url").stderr)
    assert [changed[k] for k in sorted(changed, key=lambda k: int(k[1:].split("/")[0]))] \
        == ["CACHED", "CACHED", "DONE", "DONE"]
    assert builder.run("cached-url", "cat", "/seen") == "version 2\n"
    # a new Last-Modified lands in the image as the mtime: it misses too
    files.serve("/c/config.txt", b"version 2\n", headers={"Last-Modified": LAST_MODIFIED})
    dated = step_states(builder.build(ctx, "-t", "cached-url").stderr)
    assert dated[step] == "DONE"
    assert builder.leftovers() == []


def test_add_url_failures_are_one_line_and_leave_nothing(builder: Builder,
                                                          files: Files) -> None:
    missing = files.url("/nothing/here.txt")
    line = _error(builder.build(builder.context(f"FROM busybox\nADD {missing} /x\n"),
                                check=False))
    assert missing in line and "404" in line and "Dockerfile:2" in line
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/f"
    line = _error(builder.build(builder.context(f"FROM busybox\nADD {closed} /x\n"),
                                check=False))
    assert closed in line and "connection refused" in line
    slow = files.hang("/slow")
    proc = builder.build(builder.context(f"FROM busybox\nADD {slow} /x\n"), check=False,
                         env={**os.environ, "MINIDOCKER_BUILD_HTTP_TIMEOUT": "1"})
    line = _error(proc)
    assert slow in line and "timed out" in line
    files.serve("/", b"index\n")
    nameless = builder.context(f"FROM busybox\nADD {files.url('/')} /dir/\n")
    assert "cannot determine filename from url" in _error(builder.build(nameless,
                                                                        check=False))
    for dockerfile, message in (
            (f"COPY {files.url('/')} /x\n", "source can't be a URL for COPY"),
            ("ADD https://example.invalid/repo.git /src/", "git sources are not supported"),
            ("ADD git@example.invalid:repo /src/", "git sources are not supported"),
            (f"ADD {files.url('/')} {files.url('/')} /x\n", "must be a directory")):
        assert message in _error(builder.build(builder.context("FROM busybox\n" + dockerfile),
                                               check=False)), dockerfile
    assert builder.leftovers() == []


def test_add_url_through_a_proxy(builder: Builder, files: Files) -> None:
    """HTTP_PROXY from --build-arg or the environment carries the request (an absolute
    URL to the proxy, here the test's server on 127.0.0.1); loopback goes direct."""
    proxy = Files()
    try:
        proxy.serve("http://mirror.invalid/pkg.txt", b"via proxy\n")
        ctx = builder.context("FROM busybox\nADD http://mirror.invalid/pkg.txt /pkg.txt\n"
                              f"ADD {files.serve('/direct.txt', b'direct')} /direct.txt\n")
        builder.build(ctx, "--build-arg", f"HTTP_PROXY=http://{proxy.address}", "-t", "px")
        assert builder.run("px", "cat", "/pkg.txt") == "via proxy\n"
        assert [p for p, _, _ in proxy.requests] == ["http://mirror.invalid/pkg.txt"]
        assert [p for p, _, _ in files.requests] == ["/direct.txt"]  # loopback: direct
        env = {**os.environ, "http_proxy": proxy.address}  # no scheme: http, as Go takes it
        builder.build(ctx, "-t", "px-env", env=env)
        assert len(proxy.requests) == 2
    finally:
        proxy.close()
    assert builder.leftovers() == []
