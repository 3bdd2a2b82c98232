"""What hone's OpenTelemetry hooks cost: with no tracer provider (the default) and with one
that records every span.

hone depends only on ``opentelemetry-api``; with no provider configured every hook looks the
provider up and returns before it builds anything (docs/observability.md). Measured in one
process, best of many short runs (the settings take turns, so a busy machine slows them alike
and the best run is the one nothing interrupted):

* **graph** — µs per super-step of the ``graph_overhead`` shapes with no saver: a two-node
  loop (agent → tools → agent …, plain functions) and a 10-way fan-out, on the sync and async
  shells; tracing off, then on.
* **model call** — ``ScriptedModel.complete``: the backend's own method without the hook
  (``__wrapped__``), the hooked method with tracing off, and with tracing on.
* **tool call** — ``aexecute_tool_call``, likewise.
* **floor** — ns per call of the two checks an untraced run makes: the provider lookup (once
  per run, model call or tool call) and a graph task's no-op span (once per step).

"On" is the SDK's ``TracerProvider`` with a ``SimpleSpanProcessor`` into an exporter that
counts the spans and drops them (needs ``hone[otel]``), content capture off: the cost of making
the spans, not of sending them.
"""

from __future__ import annotations

import asyncio
import gc
import operator
import time
import timeit
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, TypedDict

from bench._common import Options, bench_main, console, print_table, ratio
from hone.graph import END, START, StateGraph
from hone.messages import ToolCall
from hone.models import ScriptedModel, make_request
from hone.observability import configure_tracing
from hone.observability._config import active_tracer
from hone.observability._graph import task_span
from hone.tools import tool
from hone.tools._execute import aexecute_tool_call

NAME = "tracing_overhead"
DESCRIPTION = "what the OpenTelemetry hooks cost: no tracer provider vs every span recorded"
WORKERS = 10

# ------------------------------------------------------------------ the workloads


class Loop(TypedDict):
    step: int
    limit: int


def _next(state: Loop) -> dict[str, int]:
    return {"step": state["step"] + 1}


def _route(state: Loop) -> str:
    return "tools" if state["step"] < state["limit"] else END


class Fan(TypedDict):
    round: int
    rounds: int
    total: Annotated[int, operator.add]


def _fan(state: Fan) -> dict[str, int]:
    return {"round": state["round"] + 1}


def _work(state: Fan) -> dict[str, int]:
    return {"total": 1}


def _again(state: Fan) -> str:
    return "fan" if state["round"] < state["rounds"] else END


def _graphs() -> tuple[Any, Any]:
    loop = StateGraph(Loop)
    loop.add_node("agent", _next)
    loop.add_node("tools", _next)
    loop.add_edge(START, "agent")
    loop.add_conditional_edges("agent", _route, ["tools", END])
    loop.add_edge("tools", "agent")
    fan = StateGraph(Fan)
    fan.add_node("fan", _fan)
    fan.add_node("join", lambda state: {})
    workers = [f"w{i}" for i in range(WORKERS)]
    for worker in workers:
        fan.add_node(worker, _work)
        fan.add_edge("fan", worker)
    fan.add_edge(workers, "join")
    fan.add_edge(START, "fan")
    fan.add_conditional_edges("join", _again, ["fan", END])
    return loop.compile(name="loop"), fan.compile(name="fanout")


@tool
def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: The first.
        b: The second.
    """
    return a + b


# ------------------------------------------------------------------ timing

#: A workload: one batch to time, and how many steps or calls it makes.
Workload = tuple[Callable[[], Any], int]
#: A setting: how to turn it on, and what to time under it.
Setting = tuple[Callable[[], None], dict[str, Workload]]


def _graph_workloads(steps: int, rounds: int) -> dict[str, Workload]:
    loop, fan = _graphs()
    config = {"recursion_limit": 10 * steps + 10 * rounds + 10}
    start, fan_start = {"step": 0, "limit": steps}, {"round": 0, "rounds": rounds, "total": 0}
    fan_steps = 3 * rounds  # fan, workers, join
    return {
        "loop sync": (lambda: loop.invoke(start, config), steps),
        "loop async": (lambda: asyncio.run(loop.ainvoke(start, config)), steps),
        "fanout sync": (lambda: fan.invoke(fan_start, config), fan_steps),
        "fanout async": (lambda: asyncio.run(fan.ainvoke(fan_start, config)), fan_steps),
    }


def _awaited(
    make: Callable[[], Awaitable[Any]], calls: int, loop: asyncio.AbstractEventLoop
) -> Workload:
    """``calls`` awaited calls on one event loop kept for the whole benchmark (starting a loop
    per batch would add its own cost to every call)."""

    async def batch() -> None:
        for _ in range(calls):
            await make()

    return (lambda: loop.run_until_complete(batch()), calls)


def _call_workloads(
    calls: int, loop: asyncio.AbstractEventLoop, *, hooked: bool
) -> dict[str, Workload]:
    """A model call and a tool call, through the hooked methods or the methods they wrap
    (``__wrapped__``: no hook at all)."""
    model = ScriptedModel(["ok"], when_exhausted="cycle")
    request = make_request("hi")
    call = ToolCall(id="c", name="add", arguments={"a": 1, "b": 2})
    complete: Any = type(model).complete
    execute: Any = aexecute_tool_call
    if not hooked:
        complete, execute = complete.__wrapped__, execute.__wrapped__
    return {
        "model call": _awaited(lambda: complete(model, request), calls, loop),
        "tool call": _awaited(lambda: execute(call, [add]), calls, loop),
    }


def _measure(settings: dict[str, Setting], repeats: int) -> dict[str, dict[str, float]]:
    """The best µs per step or call of each setting's workloads; the settings take turns in
    each repeat, so a loaded machine slows them alike."""
    best: dict[str, dict[str, float]] = {name: {} for name in settings}
    for _ in range(repeats):
        for name, (setup, workloads) in settings.items():
            setup()
            for label, (fn, units) in workloads.items():
                gc.collect()
                start = time.perf_counter()
                fn()
                per_unit = (time.perf_counter() - start) / units * 1e6
                best[name][label] = min(best[name].get(label, per_unit), per_unit)
    configure_tracing()
    return best


def _floor(number: int, repeats: int) -> dict[str, float]:
    def ns(fn: Callable[[], Any]) -> float:
        return min(timeit.repeat(fn, number=number, repeat=repeats)) / number * 1e9

    def noop_task() -> None:
        with task_span(None, None):
            pass

    return {"provider lookup (ns)": ns(active_tracer), "no-op task span (ns)": ns(noop_task)}


def _tracing_on() -> tuple[Any, Callable[[], int]] | None:
    """A provider that records every span (counted, then dropped) and the count, or None
    without the SDK."""
    try:
        from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
        from opentelemetry.sdk.trace.export import (
            SimpleSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )
    except ImportError:
        console.print("[yellow]opentelemetry-sdk is missing (pip install 'hone[otel]'): off only")
        return None

    class Count(SpanExporter):
        """Counts the spans it is given (an exporter that sends nothing anywhere)."""

        def __init__(self) -> None:
            self.spans = 0

        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            self.spans += len(spans)
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    exporter = Count()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, lambda: exporter.spans


def _off() -> None:
    configure_tracing()


def _report(best: dict[str, dict[str, float]], floor: dict[str, float]) -> None:
    unhooked, off, on = best["no hook"], best["off"], best.get("on", {})
    rows = [
        [
            name,
            unhooked.get(name),
            off[name],
            on.get(name),
            ratio(off[name], unhooked[name]) if name in unhooked else None,
            ratio(on[name], off[name]) if name in on else None,
        ]
        for name in off
    ]
    print_table(
        "µs per super-step / per call (best of the repeats)",
        ["workload", "no hook", "tracing off", "tracing on", "off / no hook", "on / off"],
        rows,
    )
    print_table("the hooks' floor, tracing off", ["check", "ns"], list(floor.items()))


def run(options: Options) -> dict[str, Any]:
    """Measure with no hook, tracing off and tracing on, taking turns."""
    steps, rounds, calls, repeats = (40, 4, 20, 1) if options.quick else (500, 30, 200, 40)
    configure_tracing()
    if active_tracer() is not None:
        raise RuntimeError("a global tracer provider is set: the 'off' figures would be wrong")
    loop = asyncio.new_event_loop()
    hooked = _call_workloads(calls, loop, hooked=True)
    workloads = {**_graph_workloads(steps, rounds), **hooked}
    settings: dict[str, Setting] = {
        "no hook": (_off, _call_workloads(calls, loop, hooked=False)),
        "off": (_off, workloads),
    }
    enabled = _tracing_on()
    if enabled is not None:
        provider, count = enabled

        def traced() -> None:
            configure_tracing(tracer_provider=provider)

        settings["on"] = (traced, workloads)
    try:
        best = _measure(settings, repeats)
    finally:
        configure_tracing()
        loop.close()
        if enabled is not None:
            provider.shutdown()
    floor = _floor(1_000, 1) if options.quick else _floor(20_000, 50)
    _report(best, floor)
    return {
        "sizes": {"steps": steps, "fanout_rounds": rounds, "calls": calls, "repeats": repeats},
        "no_hook_us": best["no hook"],
        "off_us": best["off"],
        "on_us": best.get("on", {}),
        "floor_ns": floor,
        "spans_recorded": count() if enabled is not None else 0,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``python -m bench tracing_overhead [--quick]``."""
    return bench_main(NAME, DESCRIPTION, run, argv)
