"""Per-turn overhead of ``create_agent``: hone vs LangChain on the same chat model and tools.

One agent program, built with each framework's ``create_agent`` (the imports are the only
difference): a LangChain fake chat model that answers instantly with one tool call per turn
(the tool adds two numbers) until the last turn answers in text. Two variants:

* **plain** — the model and the tool, no middleware;
* **middleware** — five middleware around them: a ``@before_model`` hook, an
  ``@after_model`` hook, a ``@wrap_model_call`` wrapper, a ``@wrap_tool_call`` wrapper and a
  ``@dynamic_prompt``, each doing nothing but pass the call on.

No saver. Each run is one ``invoke`` of N turns (a turn: the model node, the hooks, the tool
node); the figure is seconds per turn, best of three runs, and the ratio hone / LangChain.
The model costs the same on both (the same object type, no I/O), so the difference is the
frameworks' own work per turn.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from bench._common import Options, bench_main, print_table, ratio

NAME = "agent_overhead"
DESCRIPTION = "per-turn overhead of create_agent with and without middleware, hone vs LangChain"
VARIANTS = ("plain", "middleware")


def _chat_model(turns: int) -> Any:
    """A LangChain chat model calling ``add`` on every turn but the last."""
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, ChatResult

    class InstantModel(BaseChatModel):
        calls: int = 0
        limit: int = turns

        @property
        def _llm_type(self) -> str:
            return "instant"

        def _generate(
            self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any
        ) -> ChatResult:
            self.calls += 1
            if self.calls >= self.limit:
                message = AIMessage(content="done")
            else:
                call = {"name": "add", "args": {"a": self.calls, "b": 1}, "id": f"c{self.calls}"}
                message = AIMessage(content="", tool_calls=[call])
            return ChatResult(generations=[ChatGeneration(message=message)])

        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

    return InstantModel()


def _tools() -> list[Any]:
    from langchain_core.tools import tool

    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    return [add]


def _middleware(framework: str) -> list[Any]:
    """Five pass-through middleware from ``framework``'s decorators."""
    if framework == "hone":
        from hone.agents import middleware as mw
    else:
        from langchain.agents import middleware as mw  # type: ignore[no-redef]

    @mw.before_model
    def noted(state: Any, runtime: Any) -> None:
        return None

    @mw.after_model
    def checked(state: Any, runtime: Any) -> None:
        return None

    @mw.wrap_model_call
    def around_model(request: Any, handler: Callable[[Any], Any]) -> Any:
        return handler(request)

    @mw.wrap_tool_call
    def around_tool(request: Any, handler: Callable[[Any], Any]) -> Any:
        return handler(request)

    @mw.dynamic_prompt
    def prompt(request: Any) -> str:
        return "Add numbers."

    return [noted, checked, around_model, around_tool, prompt]


def _agent(framework: str, variant: str, turns: int) -> Any:
    if framework == "hone":
        from hone.agents import create_agent
    else:
        from langchain.agents import create_agent  # type: ignore[no-redef]
    middleware = _middleware(framework) if variant == "middleware" else []
    return create_agent(_chat_model(turns), _tools(), middleware=middleware)


def time_agent(framework: str, variant: str, turns: int, repeats: int) -> float:
    """Seconds per turn: best of ``repeats`` runs of ``turns`` turns (after a warm-up)."""
    from langchain_core.messages import HumanMessage

    _agent(framework, variant, 3).invoke({"messages": [HumanMessage("warm up")]})
    best = float("inf")
    for _ in range(repeats):
        agent = _agent(framework, variant, turns)
        started = time.perf_counter()
        out = agent.invoke(
            {"messages": [HumanMessage("add")]}, {"recursion_limit": 20 * turns + 10}
        )
        best = min(best, time.perf_counter() - started)
        if out["messages"][-1].content != "done":
            raise RuntimeError(f"{framework} {variant}: the agent did not finish its turns")
    return best / turns


def run(options: Options) -> dict[str, Any]:
    """Time both frameworks on both variants."""
    turns, repeats = (5, 1) if options.quick else (200, 3)
    rows: list[Sequence[Any]] = []
    results: dict[str, Any] = {"turns": turns, "repeats": repeats, "variants": {}}
    for variant in VARIANTS:
        hone = time_agent("hone", variant, turns, repeats)
        langchain = time_agent("langchain", variant, turns, repeats)
        results["variants"][variant] = {
            "hone_ms_per_turn": round(hone * 1000, 3),
            "langchain_ms_per_turn": round(langchain * 1000, 3),
            "ratio_hone_to_langchain": ratio(hone, langchain),
        }
        rows.append((variant, hone * 1000, langchain * 1000, ratio(hone, langchain)))
    print_table(
        f"create_agent, ms per turn ({turns} turns, best of {repeats})",
        ("variant", "hone", "LangChain", "hone / LangChain"),
        rows,
    )
    return results


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command-line entry point."""
    return bench_main(NAME, DESCRIPTION, run, argv)


if __name__ == "__main__":
    main()
