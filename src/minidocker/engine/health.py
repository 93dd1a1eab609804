"""Healthchecks (Docker's HEALTHCHECK, --health-*): the container's monitor runs the test
in the container every interval, through the engine's exec in a child of its own, and records
State.Health: starting, then healthy after a success, or unhealthy after `retries`
failures in a row (failures during the start period don't count). The last five results
are kept in Health.Log, as Docker does."""

from __future__ import annotations

import _signal as signal  # the signal module's IntEnums import enum: 3 ms
import os
import sys
import time

_DEFAULT_SIGNALS = tuple(s for s in signal.valid_signals()
                         if s not in (signal.SIGKILL, signal.SIGSTOP))

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SECOND = 1_000_000_000  # the config's durations are nanoseconds, as Docker's
DEFAULTS = {"Interval": 30 * SECOND, "Timeout": 30 * SECOND, "StartPeriod": 0, "Retries": 3}
OUTPUT_MAX = 4096  # Docker keeps this much of a check's output
LOG_MAX = 5


def parse_duration(text: str, what: str) -> int:
    """A duration flag or option (Go's: 30s, 1m30s, 500ms) in ns; UsageError naming it."""
    from minidocker.errors import UsageError
    from minidocker.units import parse_duration as go_duration
    try:
        return go_duration(text.strip())
    except ValueError as e:
        raise UsageError(f"invalid argument \"{text}\" for \"{what}\" flag: {e}") from None


def config_from_flags(cmd: str | None, interval: int | None, timeout: int | None,
                      start_period: int | None, retries: int | None,
                      none: bool) -> dict[str, Any] | None:
    """Config.Healthcheck from the run/create flags (durations in ns; None: the image's
    stays). The service layer checks the values (validate.config)."""
    from minidocker.errors import UsageError
    if none:
        if cmd:
            raise UsageError("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    out: dict[str, Any] = {}
    if cmd:
        out["Test"] = ["CMD-SHELL", cmd]
    for key, value in (("Interval", interval), ("Timeout", timeout),
                       ("StartPeriod", start_period)):
        if value:
            out[key] = value
    if retries is not None:
        out["Retries"] = retries
    return out or None


def merged(image: dict[str, Any] | None, flags: dict[str, Any] | None) -> dict[str, Any] | None:
    """The image's HEALTHCHECK with the flags over it; None when there is no test."""
    out = {**(image or {}), **(flags or {})}
    test = out.get("Test") or []
    return None if not test or test[0] == "NONE" else out


def command(test: list[str]) -> list[str] | None:
    """The argv to exec in the container for a Test (CMD args..., CMD-SHELL cmd)."""
    if len(test) >= 2 and test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", test[1]]
    if len(test) >= 2 and test[0] == "CMD":
        return list(test[1:])
    return None


def check_main(argv: list[str]) -> None:
    """One check, in a process of its own: ROOT ID ARGV... run in the container through
    the engine's exec with our stdio (the monitor's pipe); exits with its code."""
    from minidocker.engine.service import Context, execs
    from minidocker.errors import MinidockerError, describe
    try:
        code = execs.run(Context(argv[0], spawn="fork"), argv[1], {"Cmd": argv[2:]})
    except MinidockerError as e:
        os.write(2, f"{e.message}\n".encode())
        code = e.exit_code
    except OSError as e:
        os.write(2, f"{describe(e)}\n".encode())
        code = 125
    os._exit(code & 0xFF)


class Checker:
    """Run by the monitor: when(), start() a check, read() its output, end() it."""

    def __init__(self, root: str, cid: str, config: dict[str, Any]):
        self.root, self.cid = root, cid
        conf = {**DEFAULTS, **{k: v for k, v in config.items() if v}}
        self.argv = command(config.get("Test") or []) or []
        self.interval = conf["Interval"] / SECOND
        self.timeout = conf["Timeout"] / SECOND
        self.start_period = conf["StartPeriod"] / SECOND
        self.retries = max(1, int(conf["Retries"]))
        self.pid = 0
        self.out_fd = -1
        self.output = b""
        self.began = ""
        self.deadline = 0.0
        self.killed = False
        self.restart()

    def restart(self) -> None:
        """The container (re)started: starting again, first check after one interval."""
        self.cancel()
        self.started = time.monotonic()
        self.next = self.started + self.interval
        self.streak = 0
        self._save({"Status": "starting", "FailingStreak": 0, "Log": []})

    def when(self) -> float:
        """Seconds until something is due (a check to start, or a late one to kill)."""
        due = self.deadline if self.pid else self.next
        return max(0.0, due - time.monotonic())

    def tick(self) -> int:
        """Start a due check; kill a late one. The check's output fd when one started."""
        now = time.monotonic()
        if self.pid:
            if now >= self.deadline:
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except OSError:
                    pass
                self.killed = True
                self.deadline = now + 3600  # its end is reported by end()
            return -1
        if now < self.next or not self.argv:
            return -1
        return self._start()

    def poll_output(self) -> None:
        """Keep the pipe drained while the check runs (the monitor calls it on wake-ups)."""
        if self.out_fd >= 0:
            self.read()

    def _start(self) -> int:
        from minidocker.engine.records import now as timestamp
        r, w = os.pipe()
        src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        boot = (f"import sys; sys.path.insert(0, {src!r}); "
                "from minidocker.engine.health import check_main; check_main(sys.argv[1:])")
        argv = [sys.executable, "-S", "-c", boot, self.root, self.cid, *self.argv]
        null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        try:
            # every signal at its default and none blocked, whatever the monitor got from
            # the command that started it (a background script ignores SIGINT and SIGQUIT)
            self.pid = os.posix_spawn(sys.executable, argv, os.environ,
                                      file_actions=[(os.POSIX_SPAWN_DUP2, null, 0),
                                                    (os.POSIX_SPAWN_DUP2, w, 1),
                                                    (os.POSIX_SPAWN_DUP2, w, 2)],
                                      setpgroup=0, setsigmask=(),
                                      setsigdef=_DEFAULT_SIGNALS)
        except OSError as e:
            os.close(r)
            self.output = f"cannot run the check: {e.strerror}".encode()
            self.began = timestamp()
            self._record(-1)
            return -1
        finally:
            os.close(w)
            os.close(null)
        os.set_blocking(r, False)
        self.out_fd = r
        self.output = b""
        self.began = timestamp()
        self.killed = False
        self.deadline = time.monotonic() + self.timeout
        return r

    def read(self) -> None:
        try:
            data = os.read(self.out_fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if len(self.output) < OUTPUT_MAX:
            self.output = (self.output + data)[:OUTPUT_MAX]

    def end(self, status: int) -> None:
        """The check process ended with wait status `status`."""
        if self.out_fd >= 0:
            self.read()
            os.close(self.out_fd)
            self.out_fd = -1
        self.pid = 0
        if self.killed:
            code = -1
            self.output = f"Health check exceeded timeout ({self.timeout:g}s)".encode()
        else:
            code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
        self._record(code)
        self.next = time.monotonic() + self.interval

    def cancel(self) -> None:
        """Stop a running check (its process is left to the monitor's reaping)."""
        if self.pid:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                pass
            self.pid = 0
        if self.out_fd >= 0:
            os.close(self.out_fd)
            self.out_fd = -1

    def _record(self, code: int) -> None:
        from minidocker.engine.records import Record
        from minidocker.engine.records import now as timestamp
        from minidocker.errors import MinidockerError
        try:
            record = Record(self.root, self.cid)
            health = dict(record.state.get("Health") or {})
        except MinidockerError:
            return
        in_start_period = time.monotonic() < self.started + self.start_period
        if code == 0:
            self.streak = 0
            status = "healthy"
        else:
            if not in_start_period:
                self.streak += 1
            status = "unhealthy" if self.streak >= self.retries else \
                health.get("Status") or "starting"
        log = list(health.get("Log") or [])[-(LOG_MAX - 1):] + [{
            "Start": self.began, "End": timestamp(), "ExitCode": code,
            "Output": self.output.decode("utf-8", "replace")}]
        self._save({"Status": status, "FailingStreak": self.streak, "Log": log})
        if status != health.get("Status"):
            from minidocker.engine import events
            events.emit(record, f"health_status: {status}")

    def _save(self, health: dict[str, Any]) -> None:
        from minidocker.engine.records import Record
        from minidocker.errors import MinidockerError
        try:
            Record(self.root, self.cid).update(Health=health)
        except (MinidockerError, OSError):
            pass  # removed meanwhile, or a full disk: the next check records again
