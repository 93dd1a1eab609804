"""The `builder` fixture: the engine fixture (a private --root, cleaned up) with the
busybox rootfs imported as `busybox:latest`, and helpers to write a context and build."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import at_a_terminal, run_captured
from tests.integration.engine.conftest import Engine, engine, mounts_under  # noqa: F401


class Builder:
    def __init__(self, engine: Engine, tmp: Path):
        self.engine = engine
        self.tmp = tmp
        self.count = 0

    @property
    def root(self) -> Path:
        return self.engine.root

    def context(self, dockerfile: str, files: dict[str, str | bytes] | None = None) -> Path:
        """A new context directory with the Dockerfile and `files` (path -> content)."""
        self.count += 1
        ctx = self.tmp / f"ctx{self.count}"
        ctx.mkdir()
        (ctx / "Dockerfile").write_text(dockerfile)
        for rel, content in (files or {}).items():
            path = ctx / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        return ctx

    def build(self, ctx: Path | str, *flags: str, check: bool = True, **kw: Any
              ) -> subprocess.CompletedProcess[str]:
        proc = self.engine.run("build", "--progress", "plain", "--network", "none", *flags,
                               str(ctx), timeout=180, **kw)
        if check:
            assert proc.returncode == 0, proc.stderr
        return proc

    def image_id(self, proc: subprocess.CompletedProcess[str]) -> str:
        for line in proc.stderr.splitlines():
            if "writing image sha256:" in line:
                return line.split("writing image ")[1].split()[0]
        raise AssertionError(f"no image in the output: {proc.stderr}")

    def run(self, image: str, *cmd: str) -> str:
        return self.engine.ok("run", "--rm", "--network", "none", image, *cmd)

    def config(self, image: str) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.engine.ok("image", "inspect", image))[0]
        return doc

    def start(self, ctx: Path, marker: bytes) -> subprocess.Popen[bytes]:
        """A build in the background, returned once its output shows `marker`."""
        import time
        proc = subprocess.Popen(self.engine.cmd("build", "--progress", "plain", "--network",
                                                "none", str(ctx)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                preexec_fn=at_a_terminal)  # the tests interrupt it
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        seen = b""
        while marker not in seen and time.monotonic() < deadline:
            chunk = proc.stderr.read1(4096)  # type: ignore[attr-defined]
            if not chunk:
                break
            seen += chunk
        assert marker in seen, seen.decode(errors="replace")
        return proc

    def leftovers(self) -> list[str]:
        """What a build must not leave: containers, mounts, temp dirs, runtime state."""
        out = [f"container {c}" for c in self.engine.container_dirs()]
        out += [f"mount {m}" for m in mounts_under(self.root)]
        tmp = self.root / "build" / "tmp"
        out += [f"tmp {n}" for n in (os.listdir(tmp) if tmp.exists() else [])]
        runtime = self.root / "runtime"
        out += [f"runtime {n}" for n in (os.listdir(runtime) if runtime.exists() else [])
                if not n.startswith(".")]
        return out


@pytest.fixture
def builder(engine: Engine, tmp_path: Path) -> Iterator[Builder]:  # noqa: F811
    engine.ok("import", engine.image, "busybox:latest")
    yield Builder(engine, tmp_path)


class Files:
    """An HTTP server on 127.0.0.1 (a random port) in a thread of the test: `serve(path,
    body, status, headers)` sets what a GET of `path` answers (404 for anything else),
    `hang(path)` makes it accept and answer nothing; `requests` lists (path, Host,
    Authorization) of every GET. As a proxy it answers absolute URLs the same way."""

    def __init__(self) -> None:
        import http.server
        import threading
        self.answers: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.hanging: set[str] = set()
        self.requests: list[tuple[str, str, str]] = []
        self.stop = threading.Event()
        files = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                files.requests.append((self.path, self.headers.get("Host") or "",
                                       self.headers.get("Authorization") or ""))
                path = self.path.split("?")[0]
                if path in files.hanging:
                    files.stop.wait(60)
                    return
                status, body, headers = files.answers.get(path, (404, b"not here\n", {}))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://{self.address}{path}"

    def serve(self, path: str, body: bytes, status: int = 200,
              headers: dict[str, str] | None = None) -> str:
        self.answers[path] = (status, body, headers or {})
        return self.url(path)

    def hang(self, path: str) -> str:
        self.hanging.add(path)
        return self.url(path)

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture
def files() -> Iterator[Files]:
    server = Files()
    try:
        yield server
    finally:
        server.close()


def tar_of(files: dict[str, bytes], compression: str = "", mode: int = 0o644,
           owner: int = 0) -> bytes:
    """A tar archive (compression "" or "gz") of `files` (name -> content)."""
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=f"w:{compression}") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            info.uid = info.gid = owner
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


__all__ = ["Builder", "Files", "builder", "engine", "files", "run_captured", "tar_of"]
