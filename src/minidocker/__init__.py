"""minidocker: a daemonless, Docker-like container engine with its own OCI runtime."""

__version__ = "0.1.0"
OCI_VERSION = "1.2.0"
