"""The process sandbox passes the sandbox conformance suite, with every layer and with none."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hone.sandbox import Layers, ProcessSandbox, SandboxConfig
from hone.sandbox.conformance import CHECKS, SandboxHarness, arun_all, arun_check

BARE = Layers(bubblewrap=False, drop_uid=False, landlock=False, seccomp=False, no_new_privs=False)


@pytest.mark.parametrize("layers", ["every", "none"])
@pytest.mark.parametrize("name", sorted(CHECKS))
async def test_process_sandbox_conforms(
    name: str, layers: str, make_config: Callable[..., SandboxConfig]
) -> None:
    config = make_config() if layers == "every" else make_config(layers=BARE)
    harness = SandboxHarness(make=lambda: ProcessSandbox(config), output_chars=2_000)
    await arun_check(harness, name)


async def test_a_broken_sandbox_fails_the_checks(make_config: Callable[..., SandboxConfig]) -> None:
    """The checks can fail: a sandbox that forgets variables between blocks is caught."""

    class Forgetful(ProcessSandbox):
        async def astart(self, functions=()):  # type: ignore[no-untyped-def]
            session = await super().astart(functions)
            original = session.arun

            async def arun(code: str, *, timeout: float | None = None):  # type: ignore[no-untyped-def]
                await session.arestart()
                return await original(code, timeout=timeout)

            session.arun = arun  # type: ignore[method-assign]
            return session

    found = await arun_all(SandboxHarness(make=lambda: Forgetful(make_config())))
    assert isinstance(found["persistent_namespace"], AssertionError)
    assert found["errors_are_values"] is None
