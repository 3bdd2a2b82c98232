"""hone's compute thread: one OS thread runs local generation and training steps."""

from __future__ import annotations

import asyncio
import threading

import pytest
import torch

from hone import _compute


def test_call_runs_on_the_compute_thread_and_returns() -> None:
    assert not _compute.on_compute_thread()
    name = _compute.call(lambda: threading.current_thread().name)
    assert name.startswith("hone-compute") and name != threading.current_thread().name


def test_nested_compute_bound_calls_run_inline() -> None:
    @_compute.compute_bound
    def inner() -> str:
        return threading.current_thread().name

    @_compute.compute_bound
    def outer() -> tuple[str, str]:
        return threading.current_thread().name, inner()  # would deadlock if re-queued

    here, nested = outer()
    assert here == nested and here.startswith("hone-compute")


def test_acall_keeps_the_loop_free_and_returns() -> None:
    async def main() -> tuple[bool, bool]:
        started = threading.Event()
        ticks = 0

        def work() -> bool:
            started.set()
            return _compute.on_compute_thread()

        async def tick() -> None:
            nonlocal ticks
            ticks += 1

        on_thread, _ = await asyncio.gather(_compute.acall(work), tick())
        return on_thread, ticks == 1 and started.is_set()

    assert asyncio.run(main()) == (True, True)


def test_errors_reach_the_caller() -> None:
    def fail() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        _compute.call(fail)


def test_the_compute_thread_follows_the_callers_torch_thread_count() -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert _compute.call(torch.get_num_threads) == 1
        torch.set_num_threads(2)
        assert _compute.call(torch.get_num_threads) == 2
    finally:
        torch.set_num_threads(before)
