"""Solver–judge: three solvers answer concurrently, a judge picks one; then the same graph
as a rollout, with one episode per role (what per-role training needs).

Offline (the default), the models are scripted: two solvers check their arithmetic with the
``calc`` tool, one guesses wrong; the judge first answers an index that does not exist, is
told so, and picks again. Give a model spec to use a real one for every role::

    python examples/patterns/solver_judge.py --model openai:gpt-4.1
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json

from hone.agents import create_solver_judge, roles_of
from hone.models import ChatRequest, ModelBackend, SamplingOptions, ScriptedModel, load_model
from hone.tools import tool
from hone.trajectory import graph_program, rollout

PROBLEM = "What is 17 * 23 + 4?"


def _arithmetic(node: ast.AST) -> int:
    if isinstance(node, ast.Expression):
        return _arithmetic(node.body)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
        left, right = _arithmetic(node.left), _arithmetic(node.right)
        if isinstance(node.op, ast.Add):
            return left + right
        return left - right if isinstance(node.op, ast.Sub) else left * right
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    raise ValueError("only integers, + - * and parentheses are allowed")


@tool
def calc(expression: str) -> str:
    """Evaluate an arithmetic expression with + - * and parentheses.

    Args:
        expression: the expression, e.g. "17 * 23".
    """
    return str(_arithmetic(ast.parse(expression, mode="eval")))


def _call(expression: str) -> str:
    payload = {"name": "calc", "arguments": {"expression": expression}}
    return f"<tool_call>{json.dumps(payload)}</tool_call>"


def scripted() -> tuple[list[ModelBackend], ModelBackend]:
    """Three scripted solvers (one wrong) and a judge that first picks out of range."""
    solvers: list[ModelBackend] = [
        ScriptedModel([_call("17 * 23 + 4"), "395"], name="solver-a"),
        ScriptedModel(["17 * 23 is about 387, so 391."], name="solver-b"),
        ScriptedModel([_call("17 * 23"), _call("391 + 4"), "395"], name="solver-c"),
    ]
    judge = ScriptedModel(
        [
            '{"index": 3, "reason": "the last one"}',
            '{"index": 0, "reason": "checked with the calculator: 17 * 23 + 4 = 395"}',
        ],
        name="judge",
    )
    return solvers, judge


def policy() -> ScriptedModel:
    """One scripted policy for every role of a rollout: it answers a judge's request (it
    asks for JSON) with a pick, and a solver's with a tool call, then the answer."""

    def reply(request: ChatRequest) -> str:
        if request.response_format is not None:
            return '{"index": 0, "reason": "all agree"}'
        if request.messages[-1].role == "tool":
            return request.messages[-1].text
        return _call("17 * 23 + 4")

    return ScriptedModel([reply], when_exhausted="cycle", name="policy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a model spec for every role (default: scripted)")
    args = parser.parse_args()
    real = load_model(args.model) if args.model else None
    if real is not None:
        solvers, judge = [real, real, real], real
    else:
        solvers, judge = scripted()
    # Short answers: three of them and the judge's retries must fit a small model's context.
    graph = create_solver_judge(solvers, judge, [calc], options=SamplingOptions(max_tokens=200))
    out = graph.invoke({"input": PROBLEM})
    for answer in sorted(out["candidates"], key=lambda a: a["solver"]):
        print(f"solver {answer['solver']}: {answer['answer']!r}")
    print(f"judge picks solver {out['choice']}: {out['response']!r} ({out['reason']})")

    # The same graph as a rollout program: one episode per role.
    program = graph_program(graph, make_input=lambda task: {"input": task})
    model = real or policy()
    episodes = asyncio.run(rollout(program, PROBLEM, model, roles=roles_of(graph)))
    for episode in episodes:
        print(f"episode of {episode.role}: {len(episode.calls)} model calls")


if __name__ == "__main__":
    main()
