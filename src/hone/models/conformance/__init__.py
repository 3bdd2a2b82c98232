"""Conformance checks every model backend and wrapper must pass.

Backends (local Transformers, OpenAI-compatible servers, scripted) and wrappers (batching,
recording) must agree on what a :class:`~hone.models.Completion` holds, on exact token ids and
re-scorable logprobs (what RL training needs), on errors and on streaming. Use the checks to
test a backend of your own::

    import pytest
    from hone.models.conformance import CHECKS, BackendHarness, arun_check

    harness = BackendHarness(make=lambda: MyBackend(...), context_window=4096)

    @pytest.mark.parametrize("name", sorted(CHECKS))
    async def test_conformance(name):
        await arun_check(harness, name)

Each check gets a fresh backend from ``make`` and closes it afterwards. Checks that need what
the harness does not give (``score`` to re-score logprobs, ``encode`` for exact prompt ids,
``context_window`` for overflow errors) raise ``unittest.SkipTest``, which pytest reports as
skipped. Checks raise ``AssertionError`` on failure and need no test framework.
"""

from hone.models.conformance._checks import CHECKS, arun_all, arun_check, run_all, run_check
from hone.models.conformance._harness import BackendHarness, Scorer, causal_lm_scorer

__all__ = [
    "CHECKS",
    "BackendHarness",
    "Scorer",
    "arun_all",
    "arun_check",
    "causal_lm_scorer",
    "run_all",
    "run_check",
]
