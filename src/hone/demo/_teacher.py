"""The scripted teacher as a model backend, so it runs through the same agent program.

:class:`CountdownTeacher` reads the conversation like a model would: the task from the user
turn, the calc results from the tool turns. Per episode it draws a *patience* (how many
distinct candidates it will check) from a fixed distribution, checks its candidates one per
turn, submits the first one calc confirms, and otherwise submits the closest one it saw.
Varying the patience is what makes the demonstrations useful for RL: the imitating policy
learns that "check another candidate" is a possible move, and RL can reinforce persistence.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import AsyncIterator, Sequence

from hone.demo.countdown import (
    PATIENCE,
    CandidateOrder,
    CountdownTask,
    candidates,
    draw_budget,
)
from hone.errors import ConfigError
from hone.messages import AnyMessage, AssistantMessage, ToolCall, ToolMessage, UserMessage
from hone.models import ChatRequest, Completion, StreamEvent
from hone.trajectory import derive_seed

__all__ = ["CountdownTeacher"]

_TASK = re.compile(r"Numbers: ([\d ]+)\nTarget: (\d+)")


def _task_of(messages: Sequence[AnyMessage]) -> CountdownTask:
    for message in messages:
        if isinstance(message, UserMessage) and (found := _TASK.search(message.text)):
            return CountdownTask(tuple(int(n) for n in found[1].split()), int(found[2]))
    raise ConfigError("the countdown teacher found no 'Numbers: ... Target: ...' user turn")


def _checked(messages: Sequence[AnyMessage]) -> list[tuple[str, str]]:
    """(expression, calc result) pairs seen so far, in order."""
    calls: dict[str, str] = {}
    out: list[tuple[str, str]] = []
    for message in messages:
        if isinstance(message, AssistantMessage):
            for call in message.tool_calls:
                if call.name == "calc":
                    calls[call.id] = str(call.arguments.get("expression", ""))
        elif isinstance(message, ToolMessage) and message.tool_call_id in calls:
            out.append((calls[message.tool_call_id], message.text.strip()))
    return out


def _values(checked: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """(expression, value) of the checks that gave a number (bare, or ``14 (target 17: no)``)."""
    out = []
    for expression, result in checked:
        value = result.split(" ")[0]
        if value.lstrip("-").isdigit():
            out.append((expression, value))
    return out


class CountdownTeacher:
    """A :class:`~hone.models.ModelBackend` that plays the scripted countdown teacher.

    Args:
        patience: budgets to draw from, uniformly, once per episode (repeat one to weight it).
        seed: with the task, fixes each episode's patience and candidates.
        order: candidates as a random sample of the family, or in its sorted order.
        name: the model name in episodes.
    """

    def __init__(
        self,
        patience: tuple[int, ...] = PATIENCE,
        *,
        seed: int = 0,
        order: CandidateOrder = "sorted",
        name: str = "teacher",
    ) -> None:
        draw_budget(random.Random(0), patience)  # validates the distribution
        self.patience = patience
        self.seed = seed
        self.order: CandidateOrder = order
        self._name = name

    @property
    def name(self) -> str:
        """The teacher's name."""
        return self._name

    def plan(self, task: CountdownTask) -> list[str]:
        """The candidates this teacher checks on ``task`` (its patience decides how many)."""
        rng = random.Random(derive_seed(self.seed, task.numbers, task.target))
        return candidates(task, rng, draw_budget(rng, self.patience), order=self.order)

    def act(self, messages: Sequence[AnyMessage]) -> tuple[str, str]:
        """The next ``(tool, expression)`` given the conversation so far."""
        task = _task_of(messages)
        checked = _checked(messages)
        for expression, result in checked:
            if result.split(" ")[0] == str(task.target):
                return "submit", expression
        plan = self.plan(task)
        if len(checked) < len(plan):
            return "calc", plan[len(checked)]
        values = [(abs(int(v) - task.target), e) for e, v in _values(checked)]
        return "submit", min(values)[1] if values else plan[0]

    async def complete(self, request: ChatRequest) -> Completion:
        """The teacher's next turn: one tool call, written as the Hermes text a model would."""
        tool, expression = self.act(request.messages)
        turn = sum(isinstance(m, AssistantMessage) for m in request.messages)
        call = ToolCall(id=f"call_{turn}", name=tool, arguments={"expression": expression})
        payload = {"name": tool, "arguments": {"expression": expression}}
        text = f"<tool_call>\n{json.dumps(payload)}\n</tool_call>"
        return Completion(
            message=AssistantMessage(tool_calls=(call,)),
            text=text,
            finish_reason="tool_calls",
            model=self._name,
        )

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """Each request's next turn."""
        return [await self.complete(r) for r in requests]

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """The whole turn as one ``done`` event."""
        yield StreamEvent(kind="done", completion=await self.complete(request))
