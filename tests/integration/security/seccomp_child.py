"""Child process for the seccomp tests: load a filter, make one system call, report.

argv[1] is JSON: {"profile": linux.seccomp, "call": name (or "nr": number), "args": [ints],
"trap": catch SIGSYS, "listener": {"state": {...}} to send the listener fd}.
Prints JSON {"ret": return value, "errno": errno, "trapped": bool}.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys

from minidocker.linux import libc, seccomp

request = json.loads(sys.argv[1])
lib = ctypes.CDLL("libseccomp.so.2")
lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
number = request.get("nr", lib.seccomp_syscall_resolve_name(request["call"].encode()))
assert number >= 0, request["call"]
libc_handle = ctypes.CDLL(None, use_errno=True)
libc_handle.syscall.restype = ctypes.c_long
trapped = []
if request.get("trap"):
    signal.signal(signal.SIGSYS, lambda signum, frame: trapped.append(signum))

prepared = seccomp.prepare(request["profile"])
libc.prctl(libc.PR_SET_NO_NEW_PRIVS, 1)
listener = seccomp.load(prepared)
if request.get("listener"):
    assert listener is not None
    profile = request["profile"]
    seccomp.send_listener(listener, profile["listenerPath"], request["listener"]["state"],
                          profile.get("listenerMetadata"))
    os.close(listener)

args = [ctypes.c_long(a) for a in request.get("args", [])]
ctypes.set_errno(0)
ret = libc_handle.syscall(ctypes.c_long(number), *args)
err = ctypes.get_errno() if ret == -1 else 0
print(json.dumps({"ret": ret, "errno": err, "trapped": bool(trapped)}), flush=True)
