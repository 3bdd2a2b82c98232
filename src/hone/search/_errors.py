"""The exceptions :mod:`hone.search` raises at its boundary.

A generator that raises, times out or returns a bad score is not an exception: the trial is
recorded as failed and the search goes on. These are for the *developer*::

    HoneError
    └── SearchError                 a search that cannot go on
        ├── SearchStateError        a saved search state that cannot be restored
        └── UnknownTrialError       a tell for a trial this search never asked for
                                    (also a KeyError)

Bad configuration (an empty action set, a negative budget) is a :class:`hone.errors.ConfigError`.
"""

from __future__ import annotations

from hone.errors import HoneError

__all__ = ["SearchError", "SearchStateError", "UnknownTrialError"]


class SearchError(HoneError):
    """A search that cannot go on."""


class SearchStateError(SearchError):
    """A saved search state that cannot be restored; the message names the field and why."""


class UnknownTrialError(SearchError, KeyError):
    """``tell`` was given a trial id this search state never handed out."""

    def __init__(self, trial_id: str) -> None:
        self.trial_id = trial_id
        super().__init__(f"unknown trial {trial_id!r}: ask() never handed it out in this search")

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])

    def __reduce__(self) -> tuple[type[UnknownTrialError], tuple[str]]:
        return (type(self), (self.trial_id,))
