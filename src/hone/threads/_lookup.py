"""A long-horizon benchmark task: many lookups, arithmetic over their results, one checkable
answer; with scripted teachers that solve it as a task tree and as a flat agent.

A :class:`LookupSuite` holds a ledger of keys and records and a list of
:class:`LookupTask`\\ s: "add up the values stored under these N keys" (N drawn from
``lookups``, 10-40 by default). The tools are ``lookup(key)``, which returns the key's record
as a database would (a JSON object: the value and four other fields the task does not need),
and ``add(numbers)``. The intended solution looks the keys up in groups of ``group_size``,
adds each group, then adds the group sums: N + ⌈N / group_size⌉ + 1 tool calls.

* :meth:`LookupSuite.tree_teacher` writes that solution as a thread: the reasoning task has
  one subtask per group and a final "add the group sums" subtask; each group task has one
  subtask per lookup and an "add" subtask. With pruning, finished groups shrink to their
  conclusions.
* :meth:`LookupSuite.flat_teacher` writes the same calls, in the same order, as a flat ReAct
  agent (one tool call per turn), then answers.
* :meth:`LookupSuite.check` says whether an answer is right (the number in it is the total).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hone.errors import ConfigError
from hone.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage, text_of
from hone.models._protocol import ChatRequest
from hone.models._scripted import ScriptedModel
from hone.threads._events import ToolCallReady
from hone.threads._parser import parse_thread
from hone.threads._schema import ThreadSchema, ThreadTool
from hone.threads._tree import Task, Thread, ToolUse
from hone.tools import Tool, ToolRegistry, tool

__all__ = ["LookupSuite", "LookupTask"]

_NUMBER = re.compile(r"-?\d+")


@dataclass(frozen=True, slots=True)
class LookupTask:
    """Add up the values of ``keys``."""

    keys: tuple[str, ...]
    values: tuple[int, ...]
    group_size: int
    #: What ``lookup`` returns for each key.
    records: tuple[str, ...]
    #: Whether the question and the solution's thoughts and conclusions write keys in double
    #: quotes, as JSON does (a word key then reads, and tokenizes, the same everywhere).
    quoted: bool = False

    @property
    def question(self) -> str:
        """The task as the model reads it."""
        return (
            f"Look up the values stored under these {len(self.keys)} keys and add them up: "
            f"{', '.join(self.named(i) for i in range(len(self.keys)))}. What is the total?"
        )

    def named(self, index: int) -> str:
        """Key ``index`` as the question and the solution's thoughts write it."""
        key = self.keys[index]
        return json.dumps(key) if self.quoted else key

    @property
    def total(self) -> int:
        """The right answer."""
        return sum(self.values)

    @property
    def groups(self) -> list[tuple[tuple[str, ...], tuple[int, ...]]]:
        """(keys, values) of each group of ``group_size`` lookups."""
        size = self.group_size
        return [
            (self.keys[i : i + size], self.values[i : i + size])
            for i in range(0, len(self.keys), size)
        ]

    @property
    def tool_calls(self) -> int:
        """Calls of the intended solution."""
        return len(self.keys) + len(self.groups) + 1

    def thread(self) -> Thread:
        """The intended solution as a task tree (tool results filled in)."""
        group_tasks = []
        sums = []
        records = dict(zip(self.keys, self.records, strict=True))
        for g, (keys, values) in enumerate(self.groups, start=1):
            first = (g - 1) * self.group_size
            named = [self.named(first + i) for i in range(len(keys))]
            lookups = [
                Task(
                    thought=f"Look up {name}.",
                    tooluse=ToolUse("lookup", {"key": key}, records[key]),
                    conclusion=f"{name} = {value}.",
                )
                for key, name, value in zip(keys, named, values, strict=True)
            ]
            total = sum(values)
            lookups.append(_add_task(list(values), f"Group {g} adds up to {total}."))
            group_tasks.append(
                Task(
                    thought=f"Group {g}: {', '.join(named)}.",
                    subtasks=tuple(lookups),
                    conclusion=f"Group {g} ({', '.join(keys)}) adds up to {total}.",
                )
            )
            sums.append(total)
        group_tasks.append(_add_task(sums, f"The total is {self.total}."))
        return Thread(
            reasoning=Task(
                thought=(
                    f"Look up the {len(self.keys)} keys in groups of {self.group_size}, add "
                    "each group, then add the group sums."
                ),
                subtasks=tuple(group_tasks),
                conclusion=f"The total is {self.total}.",
            ),
            answer=str(self.total),
        )

    def flat_calls(self) -> list[ToolCall]:
        """The intended solution's calls, in order (ids ``call_0``, ``call_1``, ...)."""
        calls: list[tuple[str, dict[str, object]]] = []
        sums = []
        for keys, values in self.groups:
            calls.extend(("lookup", {"key": key}) for key in keys)
            calls.append(("add", {"numbers": list(values)}))
            sums.append(sum(values))
        calls.append(("add", {"numbers": sums}))
        return [ToolCall(id=f"call_{i}", name=n, arguments=a) for i, (n, a) in enumerate(calls)]

    def check(self, answer: str | None) -> bool:
        """Whether ``answer`` states the total (its last number)."""
        numbers = _NUMBER.findall(answer or "")
        return bool(numbers) and int(numbers[-1]) == self.total


_REGIONS = ("north", "south", "east", "west")


def _record(key: str, value: int, rng: random.Random) -> str:
    """A ledger record: the value and fields a task does not need, as a database returns."""
    return json.dumps(
        {
            "key": key,
            "value": value,
            "unit": "points",
            "updated": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "owner": f"team {rng.randint(1, 9)}",
            "region": rng.choice(_REGIONS),
        }
    )


def _add_task(numbers: list[int], conclusion: str) -> Task:
    return Task(
        thought=f"Add {', '.join(str(n) for n in numbers)}.",
        tooluse=ToolUse("add", {"numbers": numbers}, str(sum(numbers))),
        conclusion=conclusion,
    )


class LookupSuite:
    """A ledger and tasks over it (see the module docstring).

    Args:
        count: how many tasks.
        lookups: fewest and most keys per task (inclusive).
        group_size: lookups per group in the intended solution.
        seed: makes the ledger and the tasks.
        keys: the ledger's keys (at least twice the most lookups, no repeats); default
            ``k0000``, ``k0001``, ... (1,000 of them, or twice the most lookups).
        max_value: values are drawn from 1 to this.
        quoted: the question and the intended solution's thoughts write keys in double
            quotes, as JSON does, so a key reads the same in prose as in a call.

    Raises:
        ConfigError: a count, range, group size, key list or value bound out of bounds.
    """

    def __init__(
        self,
        count: int = 8,
        *,
        lookups: tuple[int, int] = (10, 40),
        group_size: int = 4,
        seed: int = 0,
        keys: Sequence[str] | None = None,
        max_value: int = 999,
        quoted: bool = False,
    ) -> None:
        low, high = lookups
        if count < 1 or low < 1 or high < low or group_size < 1:
            raise ConfigError(
                f"need count >= 1, 1 <= lookups[0] <= lookups[1] and group_size >= 1; got "
                f"count={count}, lookups={lookups}, group_size={group_size}"
            )
        if keys is None:
            keys = [f"k{i:04d}" for i in range(max(1000, 2 * high))]
        if len(set(keys)) != len(keys) or len(keys) < 2 * high or not all(keys):
            raise ConfigError(
                f"the ledger needs at least {2 * high} distinct, non-empty keys (twice the most "
                f"lookups); got {len(keys)} keys, {len(set(keys))} distinct"
            )
        if max_value < 1:
            raise ConfigError(f"max_value must be at least 1, got {max_value}")
        keys = list(keys)
        rng = random.Random(seed)
        #: The value under each key, and the record ``lookup`` returns for it.
        self.ledger: Mapping[str, int] = {k: rng.randint(1, max_value) for k in keys}
        self.records: Mapping[str, str] = {k: _record(k, v, rng) for k, v in self.ledger.items()}
        tasks = []
        for _ in range(count):
            chosen = tuple(rng.sample(keys, rng.randint(low, high)))
            tasks.append(
                LookupTask(
                    keys=chosen,
                    values=tuple(self.ledger[k] for k in chosen),
                    group_size=group_size,
                    records=tuple(self.records[k] for k in chosen),
                    quoted=quoted,
                )
            )
        self.tasks: tuple[LookupTask, ...] = tuple(tasks)

    @property
    def questions(self) -> list[str]:
        """Every task's question, in order."""
        return [t.question for t in self.tasks]

    def tools(self) -> ToolRegistry:
        """``lookup(key)`` over the ledger and ``add(numbers)``."""
        records = self.records

        @tool
        def lookup(key: str) -> str:
            """Look up the record stored under a key; its "value" is the number to use.

            Args:
                key: The key, like "k0042".
            """
            if key not in records:
                raise KeyError(f"no key {key!r} in the ledger")
            return records[key]

        @tool
        def add(numbers: list[int]) -> int:
            """Add up a list of integers.

            Args:
                numbers: The integers to add.
            """
            return sum(numbers)

        tools: list[Tool] = [lookup, add]
        return ToolRegistry(tools)

    def check(self, answers: Sequence[str | None]) -> list[bool]:
        """Whether each answer (in task order) is right."""
        return [t.check(a) for t, a in zip(self.tasks, answers, strict=True)]

    def tree_teacher(self) -> LookupTreeTeacher:
        """A teacher that writes each task's intended thread."""
        return LookupTreeTeacher(self.tasks)

    def flat_teacher(self) -> ScriptedModel:
        """A scripted backend that plays each task's intended calls as a flat agent (it finds
        the task by the first user message, and the step by the tool results so far)."""
        by_question = {t.question: t for t in self.tasks}

        def reply(request: ChatRequest) -> str | AssistantMessage:
            question = next(
                (text_of(m.content) for m in request.messages if isinstance(m, UserMessage)), ""
            )
            task = by_question.get(question)
            if task is None:
                return "I do not know this task."
            done = sum(1 for m in request.messages if isinstance(m, ToolMessage))
            calls = task.flat_calls()
            if done >= len(calls):
                return f"The total is {task.total}."
            call = calls[done]
            looked_up = sum(1 for c in calls[:done] if c.name == "lookup")
            what = f"Look up {task.named(looked_up)}." if call.name == "lookup" else "Add them."
            return AssistantMessage(content=what, tool_calls=(call,))

        return ScriptedModel([reply], name="lookup-flat-teacher", when_exhausted="cycle")


class LookupTreeTeacher:
    """Writes each task's intended thread piece by piece (a :class:`~hone.threads.Teacher`).

    The tool results the runtime writes are the teacher's own (the tools are exact), so the
    text so far is always a prefix of the intended thread.
    """

    def __init__(self, tasks: Sequence[LookupTask]) -> None:
        self._texts = [t.thread().to_text() for t in tasks]
        self._cuts: list[list[int]] = []
        for text in self._texts:
            parsed = parse_thread(text, _TEACHER_SCHEMA)
            self._cuts.append(
                [e.end for e in parsed.events if isinstance(e, ToolCallReady)] + [len(text)]
            )

    def continuation(self, index: int, text: str) -> str:
        """The intended text after ``text``, up to the next tool use's parameters.

        Raises:
            ConfigError: ``text`` is not a beginning of the intended thread.
        """
        full = self._texts[index]
        if not full.startswith(text):
            raise ConfigError(
                f"thread {index} left the intended solution at character "
                f"{_first_difference(full, text)}; this teacher only writes that solution"
            )
        end = next(cut for cut in self._cuts[index] if cut > len(text) or cut == len(full))
        return full[len(text) : end]


def _first_difference(a: str, b: str) -> int:
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


# What the teacher's threads may call (to find where its pieces end).
_TEACHER_SCHEMA = ThreadSchema(
    tools=(ThreadTool("lookup", "", {"type": "object"}), ThreadTool("add", "", {"type": "object"}))
)
