"""The countdown agent as a hone program, and its reward.

The agent is :func:`hone.agent.arun_agent` with the ``calc`` and ``submit`` tools: the same
loop that serves users is the RL environment. Tasks travel through rollouts as small JSON
records (``{"id", "numbers", "target"}``), so episodes store them as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hone.agent import AgentOptions, arun_agent
from hone.demo.countdown import (
    MAX_TURNS,
    SYSTEM_PROMPT,
    TOOLS,
    CalcFeedback,
    CountdownEpisode,
    CountdownTask,
    reward,
    user_prompt,
)
from hone.errors import ConfigError
from hone.messages import AnyMessage, SystemMessage, UserMessage
from hone.models import ModelBackend, SamplingOptions
from hone.rewards import FunctionReward, reward_fn
from hone.tools import ToolRegistry
from hone.train import ToolSchemas
from hone.trajectory import Episode

__all__ = [
    "CountdownAgent",
    "countdown_reward",
    "submitted_expression",
    "task_from_record",
    "task_record",
]


_REGISTRY = ToolRegistry(list(TOOLS))


def task_record(task: CountdownTask) -> dict[str, Any]:
    """A task as the JSON record rollouts carry (its id names numbers and target)."""
    numbers = list(task.numbers)
    return {
        "id": f"{'-'.join(map(str, numbers))}={task.target}",
        "numbers": numbers,
        "target": task.target,
    }


def task_from_record(record: Any) -> CountdownTask:
    """The :class:`CountdownTask` of a record (or the task itself).

    Raises:
        ConfigError: the value is neither a task nor a record with numbers and target.
    """
    if isinstance(record, CountdownTask):
        return record
    if isinstance(record, Mapping) and "numbers" in record and "target" in record:
        return CountdownTask(tuple(int(n) for n in record["numbers"]), int(record["target"]))
    raise ConfigError(
        f"not a countdown task: {record!r}; pass a CountdownTask or task_record(task)"
    )


@dataclass(frozen=True, slots=True)
class CountdownAgent:
    """``program(task, model)``: the countdown agent, ready for rollouts and evaluation.

    Attributes:
        max_turns: model calls allowed (calc checks plus the final submit).
        max_tokens: most tokens per model call.
        feedback: what ``calc`` answers (see :class:`~hone.demo.countdown.CountdownEpisode`).
    """

    max_turns: int = MAX_TURNS
    max_tokens: int = 48
    feedback: CalcFeedback = "target"

    async def __call__(self, task: Any, model: ModelBackend) -> list[AnyMessage]:
        """Run the agent on one task; return the conversation."""
        puzzle = task_from_record(task)
        options = AgentOptions(
            max_steps=self.max_turns,
            stop_tools={"submit"},
            final_answer=None,  # no extra turn: an unsubmitted episode scores 0
            sampling=SamplingOptions(max_tokens=self.max_tokens),
        )
        messages: list[AnyMessage] = [
            SystemMessage(content=SYSTEM_PROMPT),
            UserMessage(content=user_prompt(puzzle)),
        ]
        # The tiny model learns its two tools from the system prompt and the demonstrations;
        # the template's tool section (~200 tokens of schemas) would triple the CPU time of
        # every forward pass. Serve the trained model the same way: ToolSchemas(model, "none").
        return await arun_agent(
            ToolSchemas(model, "none"),
            _REGISTRY,
            messages,
            options=options,
            deps=CountdownEpisode(puzzle, feedback=self.feedback),
        )


def submitted_expression(messages: Sequence[Mapping[str, Any]]) -> str | None:
    """The expression of the first ``submit`` call in an OpenAI-format conversation."""
    import json

    for message in messages:
        for call in message.get("tool_calls") or ():
            function = call.get("function", {})
            if function.get("name") != "submit":
                continue
            try:
                arguments = json.loads(function.get("arguments") or "{}")
            except json.JSONDecodeError:
                return None
            expression = arguments.get("expression") if isinstance(arguments, dict) else None
            return expression if isinstance(expression, str) else None
    return None


def _score(episode: Episode) -> float:
    return reward(task_from_record(episode.task), submitted_expression(episode.messages))


#: The programmatic reward: 1.0 when the submitted expression reaches the target, else 0.0.
countdown_reward: FunctionReward = reward_fn(_score)
