"""Work handed to one second process, to use a core the run's own process leaves idle.

Spawned, never forked: the run's process may hold threads (BLAS, ONNX Runtime) and, in a
notebook, torch. On Linux the child is killed with the run (SIGKILL, out of memory): a child
left behind would go on working on a machine the analyst believes idle."""

from __future__ import annotations

import re
import sys
from concurrent.futures import ProcessPoolExecutor

# A main module that runs its work only under this test: a spawned child imports the main
# module again, and would run an unguarded script's whole work a second time.
MAIN_GUARD = re.compile(r"""(__name__\s*==\s*['"]__main__['"])|(['"]__main__['"]\s*==\s*__name__)""")


def main_module_is_guarded() -> bool:
    """True when a spawned child can import the main module without running it: an
    interactive session or notebook (no file), or a script (console scripts included) that
    keeps its work under `if __name__ == "__main__":`."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None:
        return True
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return MAIN_GUARD.search(handle.read(1_000_000)) is not None
    except OSError:
        return False


def _set_up_child(run_pid: int, low_priority: bool) -> None:
    import os
    import sys

    if low_priority and hasattr(os, "nice"):
        try:
            os.nice(19)
        except OSError:
            pass
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
        if os.getppid() != run_pid:  # the run died before the line above
            os._exit(1)


# What starting a child can raise where processes are not available or not allowed: the
# caller then does the work in its own process.
CHILD_START_ERRORS = (OSError, RuntimeError, ImportError)


def result_or_here(future, here):
    """The child's result; where the child died (killed, out of memory), `here()`: the same
    work done in this process, so that nothing is lost but the overlap."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool:
        return here()


def child_process(low_priority: bool = False) -> ProcessPoolExecutor:
    """A pool of one spawned process tied to this one (`low_priority`: at nice 19, so that it
    takes only what this process leaves). Raises OSError or RuntimeError where no process can
    be started, or where starting one would run an unguarded main script again; the caller
    then does the work itself."""
    import multiprocessing
    import os

    if not main_module_is_guarded():
        raise RuntimeError("the main script has no `if __name__ == \"__main__\":` guard")
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_set_up_child, initargs=(os.getpid(), low_priority))
