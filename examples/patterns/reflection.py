"""Reflection and Reflexion: an author drafts, a critic critiques, the author revises.

The Reflexion run gives the critic a tool's feedback on each draft: here the draft is a
Python function and the tool runs its tests. The first draft fails a test; the critic,
seeing the failure, asks for a fix; the second draft passes and is accepted. A draft the
tests fail is never accepted, whatever the critic says.

Offline (the default), the author and critic are scripted. Give a model spec to use a real
one for both::

    python examples/patterns/reflection.py --model openai:gpt-4.1
"""

from __future__ import annotations

import argparse
import json

from hone.agents import create_reflection_agent
from hone.models import ScriptedModel
from hone.tools import tool

TASK = "Write a Python function `median(xs)` returning the median of a non-empty list."
CASES = [([3, 1, 2], 2), ([4, 1, 3, 2], 2.5), ([7], 7)]


@tool
def run_tests(code: str) -> str:
    """Run the unit tests of `median` against the code.

    Args:
        code: Python source defining `median`.
    """
    code = code.strip().removeprefix("```python").removeprefix("```").removesuffix("```")
    namespace: dict[str, object] = {}
    # This runs the draft in this process: fine for a demo, use a sandbox for real models.
    exec(compile(code, "<draft>", "exec"), namespace)
    median = namespace["median"]
    failures = [
        f"median({xs}) returned {got!r}, expected {want!r}"
        for xs, want in CASES
        if (got := median(xs)) != want  # type: ignore[operator]
    ]
    if failures:
        raise AssertionError("; ".join(failures))
    return f"all {len(CASES)} tests passed"


FIRST = "def median(xs):\n    xs = sorted(xs)\n    return xs[len(xs) // 2]"
FIXED = (
    "def median(xs):\n    xs = sorted(xs)\n    mid = len(xs) // 2\n"
    "    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2"
)


def scripted() -> dict[str, ScriptedModel]:
    """The author writes a buggy draft, then the fix; the critic reads the test results."""
    return {
        "author": ScriptedModel([FIRST, FIXED]),
        "critic": ScriptedModel(
            [
                json.dumps(
                    {
                        "accept": False,
                        "feedback": "Even-length lists must average the two middle values.",
                    }
                ),
                json.dumps({"accept": True, "feedback": "Correct, and the tests pass."}),
            ]
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a model spec for both roles (default: scripted)")
    args = parser.parse_args()
    agent = create_reflection_agent(
        args.model or scripted(), feedback_tool=run_tests, max_revisions=3
    )
    out = agent.invoke({"input": TASK})
    for i, (feedback, critique) in enumerate(
        zip(out["tool_feedback"], out["critiques"], strict=True)
    ):
        verdict = "accepted" if critique["accept"] else "revise"
        print(f"draft {i}: tests {'pass' if feedback['ok'] else 'FAIL'}; critic: {verdict}")
        print(f"  tests: {feedback['output']}")
        print(f"  critic: {critique['feedback']}")
    print(f"accepted: {out['accepted']} after {out['revisions']} revision(s)")
    print(out["response"])


if __name__ == "__main__":
    main()
