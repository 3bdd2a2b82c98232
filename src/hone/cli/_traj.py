"""``hone traj show`` (print episodes turn by turn) and ``hone traj export`` (convert them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from hone.cli._app import HoneTyper, app, console
from hone.errors import ConfigError

if TYPE_CHECKING:
    from hone.trajectory import Episode, ModelCall

__all__ = ["export", "show", "traj"]

traj = HoneTyper(
    name="traj", help="Look at and convert recorded trajectories.", no_args_is_help=True
)
app.add_typer(traj, name="traj")


def _content(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


_STYLES = {"system": "magenta", "user": "cyan", "tool": "green", "assistant": "bold"}


def _message_line(message: dict[str, Any]) -> Text:
    role = str(message.get("role", "?"))
    text = Text(f"{role}: ", style=_STYLES.get(role, ""))
    if message.get("reasoning_content"):
        text.append(f"(thinking: {message['reasoning_content'].strip()}) ", style="dim italic")
    text.append(_content(message))
    for call in message.get("tool_calls") or []:
        function = call.get("function", {})
        text.append(f"\n  → {function.get('name')}({function.get('arguments')})", style="yellow")
    return text


def _call_panel(call: ModelCall, shown: int) -> Panel:
    """One model call: the messages it had not seen before, its output, its counts."""
    body = Text()
    for message in call.messages[shown:]:
        body.append_text(_message_line(message))
        body.append("\n")
    body.append_text(_message_line(call.output))
    for error in call.parse_errors:
        body.append(f"\n  parse error: {error}", style="red")
    prompt = len(call.prompt_token_ids) if call.prompt_token_ids is not None else "-"
    sampled = len(call.token_ids) if call.token_ids is not None else "-"
    reward = "" if call.reward is None else f"  turn reward {call.reward:g}"
    title = f"call {call.index} ({call.model})"
    subtitle = f"prompt {prompt} tokens, sampled {sampled}, {call.finish_reason}{reward}"
    return Panel(body, title=title, subtitle=subtitle, title_align="left")


def print_episode(episode: Episode) -> None:
    """Print one episode: a header, each model call, and the reward."""
    console.rule(f"episode {episode.id}")
    console.print(
        f"task {episode.task_id}  role {episode.role}  group {episode.group_id}  "
        f"status {episode.status}  calls {len(episode.calls)}"
    )
    shown = 0
    for call in episode.calls:
        console.print(_call_panel(call, shown))
        shown = len(call.messages) + 1
    if not episode.calls:
        for message in episode.messages:
            console.print(_message_line(message))
    if episode.error:
        console.print(Text(f"error: {episode.error}", style="red"))
    reward = "none" if episode.reward is None else f"{episode.reward:g}"
    line = Text(f"reward {reward}", style="bold")
    if episode.reward_components:
        line.append(f"  {json.dumps(episode.reward_components)}")
    if episode.reward_error:
        line.append(f"  ({episode.reward_error})", style="red")
    console.print(line)
    if episode.reward_explanation:
        console.print(Text(episode.reward_explanation, style="dim"))


def _listing(episodes: list[Episode]) -> Table:
    table = Table(show_header=True)
    for column in ("id", "task", "role", "status", "calls", "reward"):
        table.add_column(column)
    for e in episodes:
        reward = "-" if e.reward is None else f"{e.reward:g}"
        table.add_row(e.id, e.task_id, e.role, e.status, str(len(e.calls)), reward)
    return table


@traj.command()
def show(
    path: Annotated[Path, typer.Argument(help="A trajectory store (.db), .jsonl or .parquet.")],
    episode_id: Annotated[str | None, typer.Option("--id", help="Show only this episode.")] = None,
    run: Annotated[str | None, typer.Option("--run", help="Only episodes of this run.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most episodes to show.")] = 5,
) -> None:
    """Print episodes turn by turn: messages, tool calls, token counts, reward."""
    from hone.trajectory import read_episodes

    episodes = read_episodes(path, episode_id=episode_id, run=run, limit=limit)
    if not episodes:
        console.print("no episodes")
        return
    for episode in episodes:
        print_episode(episode)
    if len(episodes) > 1:
        console.print(_listing(episodes))


ExportFormat = Literal["jsonl", "parquet", "openai", "hf"]


@traj.command()
def export(
    path: Annotated[Path, typer.Argument(help="A trajectory store (.db), .jsonl or .parquet.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The file (or folder, for hf).")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="jsonl | parquet | openai | hf")
    ] = "jsonl",
    run: Annotated[str | None, typer.Option("--run", help="Only episodes of this run.")] = None,
    min_reward: Annotated[
        float | None, typer.Option("--min-reward", help="openai: keep episodes this good.")
    ] = None,
) -> None:
    """Convert episodes: lossless JSONL, Parquet, OpenAI fine-tuning JSONL, or a HF dataset."""
    from hone.trajectory import (
        read_episodes,
        to_dataset,
        write_jsonl,
        write_openai_jsonl,
        write_parquet,
    )

    if fmt not in ("jsonl", "parquet", "openai", "hf"):
        raise ConfigError(f"unknown --format {fmt!r}; use jsonl, parquet, openai or hf")
    episodes = read_episodes(path, run=run)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        count = write_jsonl(episodes, out)
    elif fmt == "parquet":
        count = write_parquet(episodes, out)
    elif fmt == "openai":
        count = write_openai_jsonl(episodes, out, min_reward=min_reward)
    else:
        to_dataset(episodes).save_to_disk(str(out))
        count = len(episodes)
    console.print(f"wrote {count} episodes to {out} ({fmt})")
