"""Named points where the crash-safety tests kill a run, to prove a crash loses nothing.

Set ``ISTHMUS_FAILPOINT=name`` (or ``name:N`` for the N-th time the point is reached) in a
process's environment and it sends itself SIGKILL there: no cleanup, no finally blocks, as
if the machine lost power. Unset, a failpoint costs one comparison.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

ENVIRONMENT_VARIABLE = "ISTHMUS_FAILPOINT"

_wanted_name, _, _wanted_count = (os.environ.get(ENVIRONMENT_VARIABLE) or "").partition(":")
_hits: Counter[str] = Counter()

POINTS = (
    "run-created",  # the run record exists, the lease is not taken
    "lease-taken",  # the lease is held, nothing read yet
    "batch-read",  # a batch is read, not yet mapped
    "batch-written",  # a batch is written into the open transaction
    "stream-done",  # a stream's rows and checkpoint are written, not committed
    "before-commit",  # everything written, the commit not issued
    "after-commit",  # the destination committed; the state store not yet updated
    "checkpoint-saved",  # the state store has the checkpoint; the run record is not finished
    "run-finished",  # the run record is finished; the lease not yet released
)


def failpoint(name: str) -> None:
    if not _wanted_name or name != _wanted_name:
        return
    _hits[name] += 1
    if _hits[name] == int(_wanted_count or 1):
        os.kill(os.getpid(), signal.SIGKILL)
