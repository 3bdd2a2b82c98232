"""Countdown with a calculator: the task behind ``hone demo``.

Given three numbers (1-9) and a target, the agent inserts ``+ - *`` and parentheses between the
numbers, *kept in the given order*, to reach the target. It may check candidates with ``calc``
(which returns the value, or an error when the expression is invalid or does not use the numbers
once each, in order) and ends the episode with ``submit``. The reward is 1.0 when the submitted
expression is valid and equals the target, else 0.0.

Tasks come from a seeded generator; :func:`make_splits` keeps training and held-out tasks
disjoint (no ``(numbers, target)`` pair in both). The scripted :func:`teacher_actions` is the
fixed, imperfect demonstrator the tiny model first imitates.
"""

from __future__ import annotations

import ast
import functools
import random
import re
from dataclasses import dataclass, field
from typing import Literal

from hone.errors import ConfigError
from hone.messages import (
    AnyMessage,
    AssistantMessage,
    SystemMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from hone.tools import Tool, ToolContext, tool

__all__ = [
    "MAX_TURNS",
    "PATIENCE",
    "SYSTEM_PROMPT",
    "TOOLS",
    "CalcFeedback",
    "CandidateOrder",
    "CountdownEpisode",
    "CountdownTask",
    "Splits",
    "TeacherAction",
    "all_expressions",
    "candidates",
    "draw_budget",
    "evaluate_expression",
    "make_splits",
    "make_task",
    "reward",
    "teacher_actions",
    "teacher_messages",
    "user_prompt",
]

#: Assistant turns an episode may take (calc calls plus the final submit).
MAX_TURNS = 8
#: The demo teacher's patience: one check in 60% of episodes, otherwise 2 to 7 (uniformly).
PATIENCE: tuple[int, ...] = (1,) * 9 + (2, 3, 4, 5, 6, 7)
#: The system prompt: short on purpose, every token costs CPU time in training.
SYSTEM_PROMPT = (
    "Make the target from the numbers in order, each once, with + - * (). "
    "Check with calc, then submit."
)
_OPS = "+-*"
_ALLOWED = re.compile(r"[0-9+\-*() ]+")
_MAX_CHARS = 40
#: What ``calc`` tells the agent: the bare value, or the value and whether it hits the target.
CalcFeedback = Literal["value", "target"]
#: How the teacher orders its candidates: a random sample, or the family's sorted order.
CandidateOrder = Literal["random", "sorted"]


@dataclass(frozen=True, slots=True)
class CountdownTask:
    """One puzzle: reach ``target`` from ``numbers`` (used in order, each once)."""

    numbers: tuple[int, ...]
    target: int


@dataclass(frozen=True, slots=True)
class Splits:
    """Disjoint training and held-out tasks drawn from one seed."""

    train: tuple[CountdownTask, ...]
    test: tuple[CountdownTask, ...]


@functools.lru_cache(maxsize=1024)
def all_expressions(numbers: tuple[int, ...]) -> tuple[str, ...]:
    """Every expression of three ordered numbers with ``+ - *`` and either bracketing.

    Brackets that do not change the value are dropped, so ``(1+2)+3`` appears as ``1+2+3``.
    """
    if len(numbers) != 3:
        raise ConfigError(f"countdown tasks use exactly 3 numbers, got {numbers!r}")
    a, b, c = numbers
    out: set[str] = set()
    for o1 in _OPS:
        for o2 in _OPS:
            plain = f"{a}{o1}{b}{o2}{c}"
            for bracketed in (f"({a}{o1}{b}){o2}{c}", f"{a}{o1}({b}{o2}{c})"):
                same = _value(plain) == _value(bracketed)
                out.add(plain if same else bracketed)
    return tuple(sorted(out))


def _value(expression: str) -> int:
    """Integer value of a ``+ - *`` expression; ValueError/SyntaxError when it is not one."""

    def ev(node: ast.AST) -> int:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Add):
                return left + right
            return left - right if isinstance(node.op, ast.Sub) else left * right
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        raise ValueError("not an arithmetic expression")

    return ev(ast.parse(expression, mode="eval"))


def evaluate_expression(expression: str, numbers: tuple[int, ...]) -> int | str:
    """The value of ``expression``, or an error text when it is invalid for ``numbers``.

    Errors are values (the model sees them), never exceptions.
    """
    if len(expression) > _MAX_CHARS or not _ALLOWED.fullmatch(expression):
        return "error: invalid expression"
    if [int(d) for d in re.findall(r"\d+", expression)] != list(numbers):
        return "error: use the numbers once, in order"
    try:
        return _value(expression)
    except (SyntaxError, ValueError, RecursionError):
        return "error: invalid expression"


def make_task(rng: random.Random) -> CountdownTask:
    """Draw three numbers 1-9 and, as target, the value (>= 1) of a random expression of them."""
    while True:
        numbers = (rng.randint(1, 9), rng.randint(1, 9), rng.randint(1, 9))
        target = _value(rng.choice(all_expressions(numbers)))
        if target >= 1:
            return CountdownTask(numbers, target)


def make_splits(seed: int, *, n_train: int, n_test: int) -> Splits:
    """Draw ``n_test`` distinct held-out tasks, then ``n_train`` training tasks outside them.

    Training tasks may repeat among themselves; no training task equals a held-out one.

    Raises:
        ConfigError: when a size is negative or ``n_test`` exceeds the distinct tasks there are.
    """
    if n_train < 0 or n_test < 0:
        raise ConfigError(f"split sizes must be >= 0, got n_train={n_train}, n_test={n_test}")
    if n_test > 2000:
        raise ConfigError(f"n_test={n_test} is too large; use at most 2000 held-out tasks")
    rng = random.Random(seed)
    test: dict[CountdownTask, None] = {}
    while len(test) < n_test:
        test[make_task(rng)] = None
    train: list[CountdownTask] = []
    while len(train) < n_train:
        task = make_task(rng)
        if task not in test:
            train.append(task)
    return Splits(train=tuple(train), test=tuple(test))


def reward(task: CountdownTask, submitted: str | None) -> float:
    """1.0 when ``submitted`` is a valid expression equal to the target, else 0.0."""
    if submitted is None:
        return 0.0
    return float(evaluate_expression(submitted, task.numbers) == task.target)


@dataclass(slots=True)
class CountdownEpisode:
    """The mutable state of one episode: what the agent has checked and submitted.

    ``feedback`` sets what ``calc`` answers: ``"value"`` the bare value; ``"target"`` the value
    and whether it is the target (``14 (target 17: no)``, ``17 (target reached)``), and
    ``error: already checked`` for an expression already checked.
    """

    task: CountdownTask
    feedback: CalcFeedback = "target"
    checked: list[str] = field(default_factory=list)
    submitted: str | None = None

    @property
    def done(self) -> bool:
        """Whether the agent has submitted."""
        return self.submitted is not None

    @property
    def reward(self) -> float:
        """The episode's reward (0.0 until a correct submission)."""
        return reward(self.task, self.submitted)


def _episode(ctx: ToolContext) -> CountdownEpisode:
    if not isinstance(ctx.deps, CountdownEpisode):
        raise ConfigError(
            "the countdown tools need the episode as deps: run the agent with "
            "deps=CountdownEpisode(task)"
        )
    return ctx.deps


# The tools are built once (building a tool derives its schema) and find the episode they act
# on in their context's deps; async, so a call costs no thread hop.
@tool
async def calc(expression: str, ctx: ToolContext) -> str:
    """Compute an expression of the numbers."""
    episode = _episode(ctx)
    value = evaluate_expression(expression, episode.task.numbers)
    key = expression.replace(" ", "")
    seen = {e.replace(" ", "") for e in episode.checked}
    episode.checked.append(expression)
    if isinstance(value, str) or episode.feedback == "value":
        return str(value)
    if key in seen:
        return "error: already checked"
    target = episode.task.target
    return f"{value} (target reached)" if value == target else f"{value} (target {target}: no)"


@tool
async def submit(expression: str, ctx: ToolContext) -> str:
    """Submit the answer."""
    _episode(ctx).submitted = expression
    return "submitted"


#: The agent's tools; pass the episode's :class:`CountdownEpisode` as ``deps``.
TOOLS: tuple[Tool, Tool] = (calc, submit)


@dataclass(frozen=True, slots=True)
class TeacherAction:
    """One teacher turn: a tool name and the expression it sends."""

    tool: Literal["calc", "submit"]
    expression: str


def draw_budget(rng: random.Random, patience: tuple[int, ...]) -> int:
    """The teacher's patience for one episode: a uniform draw from ``patience``.

    Repeat a value to weight it, e.g. ``(1, 2, 2, 3)``.

    Raises:
        ConfigError: ``patience`` is empty or holds a budget below 1.
    """
    if not patience or min(patience) < 1:
        raise ConfigError(f"patience must be budgets >= 1, e.g. (1, 2, 3); got {patience!r}")
    return rng.choice(patience)


def candidates(
    task: CountdownTask, rng: random.Random, budget: int, *, order: CandidateOrder = "random"
) -> list[str]:
    """The teacher's guesses: ``budget`` distinct expressions of the operator family the
    target's size suggests (above the numbers' sum: with a ``*``; otherwise without), a
    random sample or the first ones in sorted order."""
    expressions = all_expressions(task.numbers)
    wants_product = task.target > sum(task.numbers)
    family = [e for e in expressions if ("*" in e) == wants_product] or list(expressions)
    if order == "sorted":
        return family[:budget]
    return rng.sample(family, min(budget, len(family)))


def teacher_actions(
    task: CountdownTask, rng: random.Random, *, budget: int = 2
) -> list[TeacherAction]:
    """The scripted teacher: a quick, sensible, imperfect solver.

    It does no arithmetic itself. From the target's size it guesses the operator family (a
    target above the numbers' sum needs a ``*``; otherwise none), checks up to ``budget`` random
    distinct expressions of that family with calc, submits the first one calc shows equal to the
    target, and otherwise submits the checked one closest to the target.
    """
    actions: list[TeacherAction] = []
    best: tuple[int, str] | None = None
    for expression in candidates(task, rng, budget):
        actions.append(TeacherAction("calc", expression))
        value = evaluate_expression(expression, task.numbers)
        if value == task.target:
            return [*actions, TeacherAction("submit", expression)]
        if isinstance(value, int) and (best is None or abs(value - task.target) < best[0]):
            best = (abs(value - task.target), expression)
    if best is None:  # unreachable: every expression of the family is valid
        raise ConfigError(f"the teacher found no valid expression for {task!r}")
    return [*actions, TeacherAction("submit", best[1])]


def user_prompt(task: CountdownTask) -> str:
    """The user message of a task (two short lines)."""
    return f"Numbers: {' '.join(map(str, task.numbers))}\nTarget: {task.target}"


def teacher_messages(
    task: CountdownTask, rng: random.Random, *, budget: int = 2
) -> list[AnyMessage]:
    """A full teacher conversation (system, user, tool calls and results) for SFT data."""
    messages: list[AnyMessage] = [
        SystemMessage(content=SYSTEM_PROMPT),
        UserMessage(content=user_prompt(task)),
    ]
    for i, action in enumerate(teacher_actions(task, rng, budget=budget)):
        call = ToolCall(
            id=f"call_{i}", name=action.tool, arguments={"expression": action.expression}
        )
        messages.append(AssistantMessage(tool_calls=(call,)))
        if action.tool == "calc":
            result = str(evaluate_expression(action.expression, task.numbers))
            messages.append(ToolMessage(content=result, tool_call_id=call.id))
    return messages
