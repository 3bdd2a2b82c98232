"""Countdown with four numbers for the solver–judge benchmark, built on the demo's task.

The demo (:mod:`hone.demo.countdown`) plays three numbers; its checker, reward, tools, agent and
scripted teacher all read any count of numbers except two helpers that enumerate the
expressions of exactly three. This module supplies those two for four numbers: every
expression of four ordered numbers with ``+ - *`` and any bracketing (redundant brackets
dropped), the task generator over them, disjoint splits, and the demo teacher planning its
checks from them (same patience, same operator-family guess, same sorted order).
"""

from __future__ import annotations

import functools
import itertools
import random
from dataclasses import dataclass

from hone.demo import CountdownTeacher
from hone.demo.countdown import CountdownTask, draw_budget, evaluate_expression
from hone.trajectory import derive_seed

_OPS = "+-*"


def _shapes(a: int, b: int, c: int, d: int, o: tuple[str, str, str]) -> list[str]:
    """The five bracketings of ``a o1 b o2 c o3 d``."""
    x, y, z = o
    return [
        f"(({a}{x}{b}){y}{c}){z}{d}",
        f"({a}{x}({b}{y}{c})){z}{d}",
        f"({a}{x}{b}){y}({c}{z}{d})",
        f"{a}{x}(({b}{y}{c}){z}{d})",
        f"{a}{x}({b}{y}({c}{z}{d}))",
    ]


@functools.lru_cache(maxsize=4096)
def expressions4(numbers: tuple[int, ...]) -> tuple[str, ...]:
    """Every expression of four ordered numbers with ``+ - *``; a bracketing whose value equals
    the unbracketed expression's is written without brackets."""
    if len(numbers) != 4:
        raise ValueError(f"expressions4 takes 4 numbers, got {numbers!r}")
    a, b, c, d = numbers
    out: set[str] = set()
    for ops in itertools.product(_OPS, repeat=3):
        plain = f"{a}{ops[0]}{b}{ops[1]}{c}{ops[2]}{d}"
        plain_value = evaluate_expression(plain, numbers)
        for shaped in _shapes(a, b, c, d, ops):
            same = evaluate_expression(shaped, numbers) == plain_value
            out.add(plain if same else shaped)
    return tuple(sorted(out))


def make_task4(rng: random.Random) -> CountdownTask:
    """Four numbers 1-9 and, as target, the value (1 to 99) of a random expression of them."""
    while True:
        numbers = tuple(rng.randint(1, 9) for _ in range(4))
        value = evaluate_expression(rng.choice(expressions4(numbers)), numbers)
        if isinstance(value, int) and 1 <= value <= 99:
            return CountdownTask(numbers, value)


@dataclass(frozen=True, slots=True)
class Splits4:
    """Disjoint training and held-out tasks."""

    train: tuple[CountdownTask, ...]
    test: tuple[CountdownTask, ...]


def splits4(seed: int, *, n_train: int, n_test: int) -> Splits4:
    """``n_test`` distinct held-out tasks, then ``n_train`` training tasks outside them."""
    rng = random.Random(seed)
    test: dict[CountdownTask, None] = {}
    while len(test) < n_test:
        test[make_task4(rng)] = None
    train: list[CountdownTask] = []
    while len(train) < n_train:
        task = make_task4(rng)
        if task not in test:
            train.append(task)
    return Splits4(tuple(train), tuple(test))


class Teacher4(CountdownTeacher):
    """The demo's scripted teacher, planning its checks among four-number expressions: the
    operator family the target's size suggests (above the numbers' sum: with a ``*``),
    in sorted order, as many as its patience allows."""

    def plan(self, task: CountdownTask) -> list[str]:
        """The candidates this teacher checks on ``task``."""
        rng = random.Random(derive_seed(self.seed, task.numbers, task.target))
        budget = draw_budget(rng, self.patience)
        wants_product = task.target > sum(task.numbers)
        expressions = expressions4(task.numbers)
        family = [e for e in expressions if ("*" in e) == wants_product] or list(expressions)
        if self.order == "sorted":
            return family[:budget]
        return rng.sample(family, min(budget, len(family)))
