"""Hierarchical teams: a research team and a writing team, each a supervisor over its
workers, under a top-level supervisor.

* The research team (``research_lead``) has a ``searcher`` (search over a small local corpus)
  and a ``scraper`` (reads a page of it).
* The writing team (``writing_lead``) has a ``note_taker``, a ``chart_maker`` (an SVG bar
  chart) and a ``doc_writer``; they write files into a folder (a temporary one by default).
* The top supervisor gives each team only its task (``ContextPolicy(worker_input="task")``)
  and reads each team's answer as the result of its transfer call.

Offline (the default), every agent is scripted. Give a model spec to run them all on a real
model::

    python examples/patterns/supervisor_teams.py --model openai:gpt-4.1 --out ./report
"""

from __future__ import annotations

import argparse
import html
import json
import re
import tempfile
from pathlib import Path
from typing import Any

from hone.agents import (
    Budget,
    ContextPolicy,
    create_handoff_agent,
    create_supervisor,
    roles_of,
)
from hone.checkpoint import InMemorySaver
from hone.models import ScriptedModel
from hone.tools import Tool, tool

REQUEST = (
    "Write a short report on the populations of Stockholm, Oslo and Copenhagen, with a bar "
    "chart, saved as report.md."
)

#: The "web": a few pages, as HTML.
CORPUS = {
    "https://example.org/stockholm": "<h1>Stockholm</h1><p>Population (2023): 984748.</p>",
    "https://example.org/oslo": "<h1>Oslo</h1><p>Population (2023): 709037.</p>",
    "https://example.org/copenhagen": "<h1>Copenhagen</h1><p>Population (2023): 660842.</p>",
    "https://example.org/fjords": "<h1>Fjords</h1><p>Norway has over 1000 fjords.</p>",
}


@tool
def search(query: str) -> list[dict[str, str]]:
    """Search the web; returns the matching pages' URLs and first lines.

    Args:
        query: Words to look for.
    """
    words = [w for w in re.findall(r"\w+", query.lower()) if len(w) > 2]
    hits = [url for url, page in CORPUS.items() if any(w in page.lower() for w in words)]
    return [{"url": url, "title": _text(CORPUS[url]).split(".")[0]} for url in hits]


@tool
def scrape(url: str) -> str:
    """Read a web page as plain text.

    Args:
        url: The page's URL.
    """
    return _text(CORPUS[url])  # an unknown URL raises: the model reads the error


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page)).strip()


def writing_tools(folder: Path) -> list[Tool]:
    """The writing team's tools, writing into ``folder``."""

    @tool
    def take_notes(title: str, points: list[str]) -> str:
        """Save notes as a markdown file.

        Args:
            title: The notes' title (also the file name).
            points: The points, one per item.
        """
        path = folder / f"{_slug(title)}.md"
        path.write_text(f"# {title}\n\n" + "".join(f"- {p}\n" for p in points), encoding="utf-8")
        return f"Notes saved to {path.name}."

    @tool
    def make_chart(title: str, labels: list[str], values: list[float]) -> str:
        """Draw a bar chart as an SVG file.

        Args:
            title: The chart's title (also the file name).
            labels: One label per bar.
            values: One value per bar.
        """
        if len(labels) != len(values) or not values:
            raise ValueError("give one value per label, and at least one bar")
        path = folder / f"{_slug(title)}.svg"
        path.write_text(_svg(title, labels, values), encoding="utf-8")
        return f"Chart saved to {path.name}."

    @tool
    def write_document(file_name: str, content: str) -> str:
        """Write a document (markdown) into the output folder.

        Args:
            file_name: The file's name, such as report.md.
            content: The whole document.
        """
        path = folder / Path(file_name).name
        path.write_text(content, encoding="utf-8")
        return f"Document saved to {path.name} ({len(content)} characters)."

    return [take_notes, make_chart, write_document]


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_") or "untitled"


def _svg(title: str, labels: list[str], values: list[float]) -> str:
    top = max(values)
    bars = "".join(
        f'<rect x="{20 + i * 60}" y="{220 - 200 * v / top:.0f}" width="40" '
        f'height="{200 * v / top:.0f}"/><text x="{20 + i * 60}" y="240">{html.escape(label)}</text>'
        for i, (label, v) in enumerate(zip(labels, values, strict=True))
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{40 + 60 * len(values)}" height="260">'
        f"<title>{html.escape(title)}</title>{bars}</svg>\n"
    )


def _call(name: str, **arguments: Any) -> str:
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


def scripted() -> dict[str, ScriptedModel]:
    """A scripted model per agent."""
    cities = ["Stockholm", "Oslo", "Copenhagen"]
    people = [984748, 709037, 660842]
    found = "; ".join(f"{c}: {p}" for c, p in zip(cities, people, strict=True))
    report = (
        "# Nordic capitals\n\n"
        + "".join(f"- {c}: {p:,} people\n" for c, p in zip(cities, people, strict=True))
        + "\n![Populations](populations.svg)\n"
    )
    return {
        "supervisor": ScriptedModel(
            [
                _call(
                    "transfer_to_research_team",
                    task="Find the 2023 populations of Stockholm, Oslo and Copenhagen.",
                ),
                _call(
                    "transfer_to_writing_team",
                    task=f"Write report.md with a bar chart from: {found}.",
                ),
                "The report is in report.md, with notes and a bar chart of the three populations.",
            ]
        ),
        "research_lead": ScriptedModel(
            [
                _call(
                    "transfer_to_searcher",
                    task="Find pages on the populations of Stockholm, Oslo and Copenhagen.",
                ),
                _call(
                    "transfer_to_scraper",
                    task="Read the Stockholm, Oslo and Copenhagen pages and give each population.",
                ),
                f"Populations (2023): {found}.",
            ]
        ),
        "searcher": ScriptedModel(
            [
                _call("search", query="Stockholm Oslo Copenhagen population"),
                "Pages: https://example.org/stockholm, https://example.org/oslo, https://example.org/copenhagen",
            ]
        ),
        "scraper": ScriptedModel(
            [
                "".join(_call("scrape", url=f"https://example.org/{c.lower()}") for c in cities),
                f"{found}.",
            ]
        ),
        "writing_lead": ScriptedModel(
            [
                _call("transfer_to_note_taker", task=f"Take notes on: {found}."),
                _call(
                    "transfer_to_chart_maker",
                    task=f"Make a bar chart titled Populations of: {found}.",
                ),
                _call(
                    "transfer_to_doc_writer",
                    task=f"Write report.md on {found}, linking populations.svg.",
                ),
                "report.md is written, with notes in nordic_capitals.md and the chart in populations.svg.",
            ]
        ),
        "note_taker": ScriptedModel(
            [_call("take_notes", title="Nordic capitals", points=found.split("; ")), "Notes saved."]
        ),
        "chart_maker": ScriptedModel(
            [_call("make_chart", title="Populations", labels=cities, values=people), "Chart saved."]
        ),
        "doc_writer": ScriptedModel(
            [_call("write_document", file_name="report.md", content=report), "report.md saved."]
        ),
    }


def build(models: dict[str, Any], folder: Path) -> Any:
    """The three supervisors and their workers."""
    take_notes, make_chart, write_document = writing_tools(folder)
    searcher = create_handoff_agent(
        models["searcher"],
        [search],
        name="searcher",
        prompt="You search the web and list the useful pages.",
    )
    scraper = create_handoff_agent(
        models["scraper"],
        [scrape],
        name="scraper",
        prompt="You read web pages and report the facts asked for.",
    )
    research = create_supervisor(
        [searcher, scraper],
        model=models["research_lead"],
        supervisor_name="research_lead",
        name="research_team",
    )
    note_taker = create_handoff_agent(
        models["note_taker"], [take_notes], name="note_taker", prompt="You take concise notes."
    )
    chart_maker = create_handoff_agent(
        models["chart_maker"], [make_chart], name="chart_maker", prompt="You draw bar charts."
    )
    doc_writer = create_handoff_agent(
        models["doc_writer"],
        [write_document],
        name="doc_writer",
        prompt="You write documents in markdown.",
    )
    writing = create_supervisor(
        [note_taker, chart_maker, doc_writer],
        model=models["writing_lead"],
        supervisor_name="writing_lead",
        name="writing_team",
    )
    return create_supervisor(
        [research, writing],
        model=models["supervisor"],
        context=ContextPolicy(worker_input="task"),
        budget=Budget(max_turns=12),
        checkpointer=InMemorySaver(),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a model spec for every agent (default: scripted)")
    parser.add_argument(
        "--out", help="the folder the writing team writes to (default: a temporary one)"
    )
    args = parser.parse_args()
    folder = Path(args.out or tempfile.mkdtemp(prefix="hone-report-"))
    folder.mkdir(parents=True, exist_ok=True)
    models: dict[str, Any] = (
        scripted() if args.model is None else dict.fromkeys(scripted(), args.model)
    )
    graph = build(models, folder)
    print("roles:", ", ".join(roles_of(graph)))
    state = graph.invoke(
        {"messages": [("user", REQUEST)]}, {"configurable": {"thread_id": "report"}}
    )
    for message in state["messages"]:
        if message.role == "tool":
            print(f"  {message.name} -> {message.text}")
    print("answer:", state["messages"][-1].text)
    print("files:", ", ".join(sorted(p.name for p in folder.iterdir())))
    usage = state["usage"]
    print(f"usage: {usage.turns} turns, {usage.handoffs} handoffs, {usage.tokens} tokens")


if __name__ == "__main__":
    main()
