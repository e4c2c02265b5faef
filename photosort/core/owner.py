"""Who owns a piece of unfinished work, and whether that owner is provably gone.

A move journal row names its process (host, pid, and the pid's start time, since pids are
reused). Recovery may undo or finish a move only when its owner is provably gone: same
host, and the pid is not running or is running as a different (later started) process.
A live owner, or one on another host (a library on a network share), is left alone.
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    started: str | None  # the process's start time in the OS's own units, when known


def process_start(pid: int) -> str | None:
    """The start time of ``pid`` (Linux: clock ticks since boot), or None if unknown."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            text = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = text[text.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def this_process() -> Owner:
    pid = os.getpid()
    return Owner(socket.gethostname(), pid, process_start(pid))


def pid_running(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: running
    except OSError:
        return False
    if sys.platform.startswith("linux"):
        try:  # a zombie (killed, not yet reaped) is gone for our purposes
            with open(f"/proc/{pid}/stat", "rb") as fh:
                text = fh.read().decode("ascii", "replace")
            return text[text.rfind(")") + 2 :].split()[0] != "Z"
        except OSError:
            return False
    return True


def is_gone(owner: Owner) -> bool:
    """True only when ``owner`` is certainly not running any more."""
    if owner.host != socket.gethostname():
        return False
    if owner.pid == os.getpid():
        return owner.started is not None and owner.started != process_start(owner.pid)
    if not pid_running(owner.pid):
        return True
    started = process_start(owner.pid)
    return owner.started is not None and started is not None and started != owner.started
