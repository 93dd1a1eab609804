"""The Docker Engine API server (`minidocker system service`): HTTP in, one engine service
call per request, Docker's JSON, status codes and stream framing out. A front end like the
CLI, and a peer of it: neither imports the other (docs/api.md)."""
