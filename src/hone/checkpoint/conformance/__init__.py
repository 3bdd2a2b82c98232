"""Conformance checks every checkpoint saver must pass.

Use them to test a saver of your own::

    import pytest
    from hone.checkpoint.conformance import CHECKS, SaverHarness, run_check

    harness = SaverHarness(make=lambda: MySaver(...))

    @pytest.mark.parametrize("name", sorted(CHECKS))
    def test_conformance(name):
        run_check(harness, name)

Each check gets a fresh saver from ``make`` and closes it afterwards. Two checks need to damage
stored rows and so need hooks (``corrupt``, ``set_format_version``); without them they raise
``unittest.SkipTest``, which pytest reports as skipped. Checks raise ``AssertionError`` on
failure and need no test framework.

:func:`concurrent_writes` runs many writer threads against one saver and checks that nothing
was lost; :func:`concurrent_forks` has them all extend one checkpoint's list at once;
:class:`Chain` builds checkpoints the way a graph runtime does.
"""

from hone.checkpoint.conformance._checks import CHECKS, run_all, run_check
from hone.checkpoint.conformance._kit import (
    Chain,
    Saver,
    SaverHarness,
    check_chain,
    concurrent_forks,
    concurrent_writes,
    config,
    sample_values,
    write_chain,
)

__all__ = [
    "CHECKS",
    "Chain",
    "Saver",
    "SaverHarness",
    "check_chain",
    "concurrent_forks",
    "concurrent_writes",
    "config",
    "run_all",
    "run_check",
    "sample_values",
    "write_chain",
]
