"""`minidocker system service [--time SECONDS] [URI]`: the CLI hands its arguments over to
this module in a fresh process (exec), so neither front end imports the other."""

from __future__ import annotations

import argparse
import os
import sys

DESCRIPTION = """\
Serve the Docker Engine API (version 1.41) for docker, docker-compose, the Docker SDKs and
testcontainers: point them at it with DOCKER_HOST=unix:///run/minidocker/minidocker.sock.
URI: unix:///PATH (default unix:///run/minidocker/minidocker.sock; mode 0660, group
minidocker when it exists), tcp://HOST:PORT (loopback only, unless TLS with client
certificates is configured: access to this API is root on the host), or fd:// (the
sockets systemd passes; also used when no URI is given and systemd passed some).
Containers outlive the service: stopping or killing it stops none of them."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="minidocker system service", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("uri", nargs="?", metavar="URI", help="where to listen (see above)")
    p.add_argument("-t", "--time", type=float, default=5.0, metavar="SECONDS",
                   help="exit after SECONDS with no connection (0: never; default 5, "
                        "as podman)")
    p.add_argument("--tlscert", metavar="FILE", help="TLS certificate of the server")
    p.add_argument("--tlskey", metavar="FILE", help="TLS key of the server")
    p.add_argument("--tlscacert", metavar="FILE",
                   help="CA whose client certificates are accepted (required with TLS)")
    p.add_argument("--stall-timeout", type=float, default=60.0, metavar="SECONDS",
                   help="drop a client that sends nothing for SECONDS in the middle of a "
                        "request or upload (408; default 60)")
    p.add_argument("--root", help=argparse.SUPPRESS)
    p.add_argument("--debug", action="store_true", help="log every request on stderr")
    return p


def main(argv: list[str]) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as e:
        return 125 if e.code == 2 else int(e.code or 0)
    from minidocker.errors import MinidockerError
    tls_parts = (args.tlscert, args.tlskey, args.tlscacert)
    try:
        if any(tls_parts) and not all(tls_parts):
            raise MinidockerError("TLS needs all of --tlscert, --tlskey and --tlscacert "
                                  "(client certificates are always verified)")
        if args.time < 0:
            raise MinidockerError(f"invalid --time {args.time:g}: 0 (never) or more")
        if args.stall_timeout <= 0:
            raise MinidockerError(f"invalid --stall-timeout {args.stall_timeout:g}")
        from minidocker.engine import rootless
        root = os.path.abspath(args.root or os.environ.get("MINIDOCKER_ROOT")
                               or rootless.default_root())
        if rootless.is_rootless():  # before any thread: an unprivileged user's server
            from minidocker.engine import session  # works in the user's session
            for warning in session.enter(rootless.run_dir()):
                sys.stderr.write(f"minidocker: warning: {warning}\n")
        from minidocker.api import http, server
        http.STALL_TIMEOUT = args.stall_timeout
        tls = (args.tlscert, args.tlskey, args.tlscacert) if all(tls_parts) else None
        return server.run(root, args.uri, args.time, tls, debug=args.debug)
    except MinidockerError as e:
        sys.stderr.write(f"minidocker: error: {e.message}\n")
        if e.hint:
            sys.stderr.write(f"hint: {e.hint}\n")
        return e.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
