"""``hone run``: run a tool-using agent on one prompt and show the conversation."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated

import typer
from rich.panel import Panel
from rich.text import Text

from hone.cli._app import app, console
from hone.cli._resolve import load_cli_model, load_tools
from hone.messages import AnyMessage, AssistantMessage, ToolMessage, text_of

__all__ = ["print_conversation", "run"]


@app.command()
def run(
    prompt: Annotated[str, typer.Argument(help="What to ask the agent.")],
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="A model spec (tiny:, hf:DIR, openai:NAME, ...), or 'module:name' / "
            "'file.py:name' naming a model backend or a function returning one.",
        ),
    ],
    tools: Annotated[
        list[str] | None,
        typer.Option(
            "--tools",
            "-t",
            help="A module name or .py file whose tools the agent may call, or "
            "'module:name' / 'file.py:name' naming a registry, a tool or a list (repeatable).",
        ),
    ] = None,
    max_steps: Annotated[int, typer.Option("--max-steps", min=1, help="Model calls allowed.")] = 10,
    system: Annotated[str | None, typer.Option("--system", help="A system prompt.")] = None,
) -> None:
    """Run an agent on PROMPT and print its tool calls, their results and the final answer."""
    from hone.agent import run_agent

    backend = load_cli_model(model)
    registry = load_tools(tools or [])
    history = run_agent(backend, registry, [prompt], max_steps=max_steps, system=system)
    print_conversation(history)


def print_conversation(messages: Sequence[AnyMessage]) -> None:
    """Print an agent's turns: reasoning, tool calls, tool results, then the final answer."""
    last_answer = _final_answer(messages)
    for message in messages:
        if isinstance(message, AssistantMessage):
            if message.reasoning:
                console.print(Text(f"thinking: {message.reasoning.strip()}", style="dim italic"))
            if message is last_answer:
                continue
            if message.text.strip():
                console.print(Text(message.text.strip()))
            for call in message.tool_calls:
                args = json.dumps(call.arguments, ensure_ascii=False)
                console.print(Text(f"→ {call.name}({args})", style="cyan"))
        elif isinstance(message, ToolMessage):
            style = "red" if message.is_error else "green"
            console.print(Text(f"← {text_of(message.content)}", style=style))
    if last_answer is not None:
        console.print(Panel(Text(last_answer.text.strip()), title="answer", border_style="bold"))


def _final_answer(messages: Sequence[AnyMessage]) -> AssistantMessage | None:
    last = messages[-1] if messages else None
    if isinstance(last, AssistantMessage) and not last.tool_calls:
        return last
    return None
