"""Shared fixtures of the sandbox tests: quick limits, and sessions closed after each test."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from hone.sandbox import Limits, ProcessSandbox, ProcessSession, SandboxConfig

if not sys.platform.startswith("linux"):
    pytest.skip("the process sandbox runs on Linux", allow_module_level=True)

#: Limits that keep the tests quick: short timeouts, small memory and files.
QUICK = Limits(
    timeout=5.0,
    interrupt_grace=0.5,
    cpu_seconds=30,
    memory_bytes=512 << 20,
    file_size_bytes=1 << 20,
    open_files=64,
    processes=32,
    output_chars=2_000,
    start_timeout=30.0,
)


def quick_config(**changes: object) -> SandboxConfig:
    """A configuration with :data:`QUICK` limits (and every layer), with ``changes``."""
    return SandboxConfig(**{"limits": QUICK, **changes})  # type: ignore[arg-type]


@pytest.fixture
def make_config() -> Callable[..., SandboxConfig]:
    """:func:`quick_config`, for tests."""
    return quick_config


@pytest.fixture
def uid_processes() -> Callable[[int], list[int]]:
    """:func:`processes_of`, for tests."""
    return processes_of


@pytest.fixture
async def session() -> AsyncIterator[ProcessSession]:
    """A session with every layer the platform has."""
    started = await ProcessSandbox(quick_config()).astart()
    try:
        yield started
    finally:
        await started.aclose()


@pytest.fixture
def sync_session() -> Iterator[ProcessSession]:
    """A session started with the sync shell."""
    started = ProcessSandbox(quick_config()).start()
    try:
        yield started
    finally:
        started.close()


def processes_of(uid: int) -> list[int]:
    """The pids of the live processes running as ``uid`` now."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as status:
                    fields = dict(ln.split(":", 1) for ln in status if ":" in ln)
            except OSError:
                continue
            # A zombie is dead already (its parent has not reaped it yet).
            if int(fields["Uid"].split()[0]) == uid and not fields["State"].strip().startswith("Z"):
                found.append(int(entry))
    return found
