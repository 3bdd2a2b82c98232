"""The background saves of ``durability="async"``: a run's saver calls run in the order the run
made them, on a save thread that runs of the process reuse.

A run used to start an OS thread of its own for its saves (one per ``invoke`` with a saver).
Now a run borrows a *lane* — a thread with its job queue — on its first background save and
gives it back when its saves are done, so later runs reuse the thread. All of a run's saves go
to the same thread (in order, as LangGraph's async durability promises, and on the same
thread-local database connection); concurrent runs use different lanes, so they never wait on
each other.
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

__all__ = ["SaveQueue"]

#: Idle lanes kept for later runs; a lane given back beyond this ends its thread.
_MAX_IDLE = 8

_Job = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]
_names = itertools.count(1)


class _Lane:
    """A daemon thread that runs the jobs put in its queue, one after the other."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        thread = threading.Thread(target=self._work, name=f"hone-save-{next(_names)}")
        # Daemon: a run waits for its own saves before it returns, so an idle lane holds
        # nothing that exiting the interpreter could lose.
        thread.daemon = True
        thread.start()

    def _work(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            fut, fn, args, kwargs = job
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                fut.set_exception(exc)
            else:
                fut.set_result(result)
            del job, fut, fn, args, kwargs  # do not keep the last checkpoint alive while idle


_idle: list[_Lane] = []
_idle_lock = threading.Lock()


def _reset_after_fork() -> None:
    """A forked child has none of its parent's threads."""
    global _idle_lock
    _idle.clear()
    _idle_lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)


def _take() -> _Lane:
    with _idle_lock:
        if _idle:
            return _idle.pop()
    return _Lane()


def _give(lane: _Lane) -> None:
    with _idle_lock:
        if len(_idle) < _MAX_IDLE:
            _idle.append(lane)
            return
    lane.jobs.put(None)


class SaveQueue:
    """One run's background saver calls, run in order on a borrowed lane."""

    def __init__(self) -> None:
        self._lane: _Lane | None = None
        self._release: weakref.finalize[Any, Any] | None = None

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        """Queue ``fn(*args, **kwargs)`` after the calls queued before; its future."""
        lane = self._lane
        if lane is None:
            lane = self._lane = _take()
            # A run dropped without closing still gives its lane back (once collected).
            self._release = weakref.finalize(self, _give, lane)
        fut: Future[Any] = Future()
        lane.jobs.put((fut, fn, args, kwargs))
        return fut

    def close(self) -> None:
        """Give the lane back for later runs (call once every queued save has finished)."""
        release, self._release, self._lane = self._release, None, None
        if release is not None:
            release()
