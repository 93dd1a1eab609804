"""The parent/child protocol's socket: what the parent reads when the child fails."""

from __future__ import annotations

import pytest

from minidocker.runtime import sync


def test_an_error_behind_an_unread_message_is_read_not_reset() -> None:
    """A child that fails before reading the parent's last message and closes its end:
    the kernel reports ECONNRESET once on the parent's next recv, with the child's ERROR
    still queued; the parent must show that error (it showed 'Connection reset by peer',
    seen with an unknown seccomp syscall name under load)."""
    parent, child = sync.pair()
    sync.send(parent, "CGROUPS_DONE")
    sync.send(child, sync.ERROR, msg="linux.seccomp: unknown system call 'mkdri'")
    child.close()
    with pytest.raises(sync.ChildFailed, match="mkdri"):
        sync.recv(parent, sync.READY)
    parent.close()


def test_a_child_gone_without_a_word_is_a_setup_failure() -> None:
    parent, child = sync.pair()
    sync.send(parent, "CGROUPS_DONE")
    child.close()
    with pytest.raises(sync.ChildFailed, match="exited during setup"):
        sync.recv(parent, sync.READY)
    with pytest.raises(sync.ChildFailed, match="exited during setup"):
        sync.recv_fds(parent, sync.READY)
    parent.close()
