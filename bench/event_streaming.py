"""Event streaming overhead: an agent read through ``stream_events(version="v3")``, hone vs
LangChain + LangGraph on the same program.

The program is ``agent_overhead``'s plain agent (a LangChain chat model that answers
instantly with one tool call per turn until the last turn, and an ``add`` tool), built with
each framework's ``create_agent``. A run is read as a UI reads it: every model reply's tokens
from ``run.messages`` (``message.text``) and every tool call from ``run.tool_calls``,
interleaved, then ``run.output``. The figure is milliseconds per turn, best of three runs,
and the ratio hone / LangChain; the ``invoke`` column is the same agent without streaming,
so the last column is what event streaming adds per turn in each framework.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import Any

from bench._common import Options, bench_main, print_table, ratio
from bench.agent_overhead import _agent

NAME = "event_streaming"
DESCRIPTION = "stream_events(version='v3') of an agent, hone vs LangChain + LangGraph"


def _read(run: Any) -> int:
    """Read the run as a UI does; the number of tokens and tool calls seen."""
    seen = 0
    for name, item in run.interleave("messages", "tool_calls"):
        seen += sum(1 for _ in item.text) if name == "messages" else 1
    if run.output["messages"][-1].text != "done":
        raise RuntimeError("the agent did not finish its turns")
    return seen


def time_streamed(framework: str, turns: int, repeats: int) -> tuple[float, float]:
    """(seconds per turn streamed, seconds per turn invoked): best of ``repeats``."""
    from langchain_core.messages import HumanMessage

    warnings.filterwarnings("ignore", message=".*v3 streaming protocol.*")
    config = {"recursion_limit": 20 * turns + 10}
    warm = _agent(framework, "plain", 3)
    _read(warm.stream_events({"messages": [HumanMessage("w")]}, version="v3"))
    streamed = invoked = float("inf")
    for _ in range(repeats):
        agent = _agent(framework, "plain", turns)
        started = time.perf_counter()
        _read(agent.stream_events({"messages": [HumanMessage("add")]}, config, version="v3"))
        streamed = min(streamed, time.perf_counter() - started)
        agent = _agent(framework, "plain", turns)
        started = time.perf_counter()
        agent.invoke({"messages": [HumanMessage("add")]}, config)
        invoked = min(invoked, time.perf_counter() - started)
    return streamed / turns, invoked / turns


def run(options: Options) -> dict[str, Any]:
    """Time both frameworks."""
    turns, repeats = (5, 1) if options.quick else (200, 3)
    hone, hone_invoke = time_streamed("hone", turns, repeats)
    lc, lc_invoke = time_streamed("langchain", turns, repeats)
    rows: list[Sequence[Any]] = [
        ("hone", hone * 1000, hone_invoke * 1000, (hone - hone_invoke) * 1000),
        ("LangChain + LangGraph", lc * 1000, lc_invoke * 1000, (lc - lc_invoke) * 1000),
    ]
    print_table(
        f"create_agent read with stream_events(version='v3'), ms per turn ({turns} turns, "
        f"best of {repeats})",
        ("framework", "v3 stream", "invoke", "added by streaming"),
        rows,
    )
    print(f"hone / LangChain (v3 stream): {ratio(hone, lc)}")
    return {
        "turns": turns,
        "repeats": repeats,
        "hone_ms_per_turn": round(hone * 1000, 3),
        "hone_invoke_ms_per_turn": round(hone_invoke * 1000, 3),
        "langchain_ms_per_turn": round(lc * 1000, 3),
        "langchain_invoke_ms_per_turn": round(lc_invoke * 1000, 3),
        "ratio_hone_to_langchain": ratio(hone, lc),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command-line entry point."""
    return bench_main(NAME, DESCRIPTION, run, argv)


if __name__ == "__main__":
    main()
