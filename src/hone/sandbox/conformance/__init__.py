"""Conformance checks every :class:`~hone.sandbox.Sandbox` implementation must pass.

A sandbox of your own (a container, a remote service) is usable wherever hone takes one (the
CodeAct agent, RLM) when its sessions behave as these checks say: persistent variables,
printed output with the error's traceback, bounded output, host functions (sync and async,
errors, time limits), variables read and set as JSON, time limits that leave the host
running, restarts and idempotent closes::

    import pytest
    from hone.sandbox.conformance import CHECKS, SandboxHarness, arun_check

    harness = SandboxHarness(make=lambda: MySandbox(...), output_chars=2_000)

    @pytest.mark.parametrize("name", sorted(CHECKS))
    async def test_conformance(name):
        await arun_check(harness, name)

Checks raise ``AssertionError`` on failure and need no test framework.
"""

from hone.sandbox.conformance._checks import CHECKS, SandboxHarness, arun_all, arun_check

__all__ = ["CHECKS", "SandboxHarness", "arun_all", "arun_check"]
