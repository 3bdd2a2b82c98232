"""Managed values: state keys the runtime fills in for each task instead of storing them.

``remaining_steps: RemainingSteps`` in a state schema gives every node the number of
super-steps left before the recursion limit; ``is_last_step: IsLastStep`` whether this is
the last one. They are never checkpointed and nodes cannot write them.
"""

from __future__ import annotations

from typing import Annotated, TypeAlias

from hone.graph._state import ManagedValue

__all__ = ["IsLastStep", "IsLastStepManager", "RemainingSteps", "RemainingStepsManager"]


class IsLastStepManager(ManagedValue):
    """Computes :data:`IsLastStep`."""

    @classmethod
    def get(cls, step: int, stop: int) -> bool:
        """True in the last super-step the recursion limit allows."""
        return step == stop - 1


class RemainingStepsManager(ManagedValue):
    """Computes :data:`RemainingSteps`."""

    @classmethod
    def get(cls, step: int, stop: int) -> int:
        """Super-steps left before the recursion limit."""
        return stop - step


#: ``bool``: whether the running super-step is the last one the recursion limit allows.
IsLastStep: TypeAlias = Annotated[bool, IsLastStepManager]
#: ``int``: super-steps left before the recursion limit.
RemainingSteps: TypeAlias = Annotated[int, RemainingStepsManager]
