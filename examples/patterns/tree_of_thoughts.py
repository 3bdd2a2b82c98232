"""Tree of thoughts on the game of 24: reach 24 from four numbers with + - * /, each once.

A state is the list of arithmetic steps taken so far, one per thought, written as
``10 - 4 = 6 (left: 6 9 13)``. Each round every kept state gets ``k`` proposals of its next
step; a hone reward scores the new states *exactly* (every step's arithmetic and the numbers
it uses are checked with fractions; a state whose numbers can still make 24 scores 0.5, a
solved one 1.0, anything else 0) and the beam keeps the best. The search stops at the first
state scoring 1.0.

Offline (the default), the proposer is a stand-in for a model: it proposes random legal
steps from the numbers left, seeded so the run repeats. Give a model spec to use a real one::

    python examples/patterns/tree_of_thoughts.py --model openai:gpt-4.1
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
from collections.abc import Callable, Sequence
from fractions import Fraction

from hone.agents import create_tree_of_thoughts
from hone.models import ChatRequest, SamplingOptions, ScriptedModel
from hone.rewards import reward_fn
from hone.trajectory import Episode

PROBLEM = "4 9 10 13"
PROMPT = (
    "We play the game of 24: combine the numbers with + - * / (each number once) to make "
    "24. Each step combines two of the numbers left into one. Write only the next step, as "
    "'a op b = c (left: the numbers left after this step)', for example "
    "'10 - 4 = 6 (left: 6 9 13)'."
)
_STEP = re.compile(r"^\s*(\S+)\s*([-+*/])\s*(\S+)\s*=\s*(\S+)\s*\(left:\s*([^)]*)\)\s*$")
_OPS: dict[str, Callable[[Fraction, Fraction], Fraction | None]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b if b else None,
}


def _number(text: str) -> Fraction:
    return Fraction(text)  # "6", "3/4": exact; anything else raises ValueError


def apply_steps(numbers: Sequence[Fraction], steps: Sequence[str]) -> list[Fraction] | None:
    """The numbers left after ``steps``, or None when a step is not exact and legal."""
    left = sorted(numbers)
    for step in steps:
        match = _STEP.match(step)
        if match is None:
            return None
        a_text, op, b_text, c_text, rest = match.groups()
        try:
            a, b, c = _number(a_text), _number(b_text), _number(c_text)
            claimed = sorted(_number(x) for x in rest.split())
        except (ValueError, ZeroDivisionError):
            return None
        pool = list(left)
        for used in (a, b):
            if used not in pool:
                return None
            pool.remove(used)
        if _OPS[op](a, b) != c:
            return None
        left = sorted([*pool, c])
        if left != claimed:
            return None
    return left


def can_make_24(numbers: Sequence[Fraction]) -> bool:
    """Whether ``numbers`` can still make 24 (exhaustive search)."""
    if len(numbers) == 1:
        return numbers[0] == 24
    for i, j in itertools.permutations(range(len(numbers)), 2):
        rest = [n for k, n in enumerate(numbers) if k not in (i, j)]
        for op in _OPS.values():
            value = op(numbers[i], numbers[j])
            if value is not None and can_make_24([*rest, value]):
                return True
    return False


@reward_fn
def score_24(episode: Episode) -> float:
    """1.0 for a solved state, 0.5 for one that can still make 24, 0.0 otherwise."""
    numbers = [Fraction(x) for x in str(episode.task).split()]
    left = apply_steps(numbers, episode.metadata["steps"])
    if left is None:
        return 0.0
    if left == [24]:
        return 1.0
    return 0.5 if can_make_24(left) else 0.0


def _fmt(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else str(value)


def random_proposer(seed: int = 0) -> ScriptedModel:
    """An offline stand-in for a proposing model: a random legal next step."""
    rng = random.Random(seed)

    def propose(request: ChatRequest) -> str:
        lines = request.messages[-1].text.splitlines()
        problem = lines[0].removeprefix("Problem: ")
        steps = [line.split(". ", 1)[1] for line in lines if line[:1].isdigit()]
        left = apply_steps([Fraction(x) for x in problem.split()], steps) or []
        if len(left) < 2:
            return "no step left"
        i, j = rng.sample(range(len(left)), 2)
        op = rng.choice("+-*/")
        value = _OPS[op](left[i], left[j])
        if value is None:
            op, value = "+", left[i] + left[j]
        rest = [n for k, n in enumerate(left) if k not in (i, j)]
        after = " ".join(_fmt(n) for n in sorted([*rest, value]))
        return f"{_fmt(left[i])} {op} {_fmt(left[j])} = {_fmt(value)} (left: {after})"

    return ScriptedModel([propose], when_exhausted="cycle", name="random-proposer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a model spec (default: the offline random proposer)")
    parser.add_argument("--problem", default=PROBLEM, help="four numbers, space-separated")
    args = parser.parse_args()
    model = args.model or random_proposer()
    search = create_tree_of_thoughts(
        model,
        reward=score_24,
        k=8,
        beam_width=4,
        max_depth=3,
        threshold=1.0,
        propose_prompt=PROMPT,
        options=SamplingOptions(temperature=0.9, max_tokens=64),
    )
    out = search.invoke({"input": args.problem})
    best = out["best"]
    print(f"problem: {args.problem}  solved: {out['solved']}  rounds: {out['depth']}")
    for step in best["steps"] if best else []:
        print(f"  {step}")
    print(f"score: {best['score'] if best else None}")


if __name__ == "__main__":
    main()
