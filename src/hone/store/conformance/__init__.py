"""Conformance checks every store must pass.

Use them to test a store of your own::

    import pytest
    from hone.store.conformance import CHECKS, StoreHarness, run_check

    harness = StoreHarness(make=lambda index, ttl: MyStore(index=index, ttl=ttl))

    @pytest.mark.parametrize("name", sorted(CHECKS))
    def test_conformance(name):
        run_check(harness, name)

Each check opens fresh stores with ``make(index=..., ttl=...)`` and closes them afterwards.
Checks of what persists need ``reopen`` (a store on the same storage); without it they raise
``unittest.SkipTest``. Checks raise ``AssertionError`` on failure and need no test framework.
:data:`FILTER_CASES` is the filter semantics as data: the same results on every backend.
"""

from hone.store.conformance._checks import CHECKS, FILTER_CASES, run_all, run_check
from hone.store.conformance._kit import StoreHarness

__all__ = ["CHECKS", "FILTER_CASES", "StoreHarness", "run_all", "run_check"]
