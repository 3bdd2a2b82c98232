"""``hone view``: the web viewer, written as one HTML file or served locally."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hone.cli._app import app, console

if TYPE_CHECKING:
    from hone.view import ViewerData

__all__ = ["view"]


@app.command("view")
def view(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Trajectory files (.jsonl, .parquet, a .db store), a checkpoint database, "
            "metrics.jsonl files or `hone train` output folders."
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the page here (default: hone-view.html)."),
    ] = None,
    serve: Annotated[
        bool, typer.Option("--serve", help="Serve the page locally instead; reload to refresh.")
    ] = False,
    graph: Annotated[
        str | None,
        typer.Option(
            "--graph",
            help="The graph that wrote the checkpoints ('module:attr' or 'file.py:attr'): "
            "drawn with the current node highlighted.",
        ),
    ] = None,
    tokenizer: Annotated[
        Path | None,
        typer.Option(
            "--tokenizer",
            help="A folder with tokenizer.json, for token text (default: the run's model).",
        ),
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="The page's title.")] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=1,
            help="Show only the last N episodes read (with the rest of their groups).",
        ),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port.")] = 8765,
) -> None:
    """Look at episodes, groups, threads and training curves in a web page.

    Episodes token by token (prompt or sampled, logprobs, loss mask, reward, advantage),
    groups side by side, threads with their checkpoint history and forks, and training
    curves, in one self-contained HTML page.
    """
    from hone.cli._graph import load_graph
    from hone.errors import ConfigError
    from hone.view import load_view, viewer_app, write_page

    if serve and out is not None:
        raise ConfigError("pass either --out (write a file) or --serve (serve the page), not both")
    loaded_graph = load_graph(graph) if graph is not None else None

    def build() -> ViewerData:
        return load_view(paths, graph=loaded_graph, tokenizer=tokenizer, title=title, limit=limit)

    data = build()  # read everything once up front, so bad input fails before serving
    if not serve:
        target = write_page(data, out or Path("hone-view.html"))
        console.print(
            f"wrote {target}: {_summary(data)}", markup=False, highlight=False, soft_wrap=True
        )
        return
    import uvicorn

    console.print(
        f"hone view on http://{host}:{port}/ ({_summary(data)}); Ctrl-C stops it",
        markup=False,
        highlight=False,
    )
    uvicorn.run(viewer_app(build), host=host, port=port, log_level="warning")


def _summary(data: ViewerData) -> str:
    parts = [
        (len(data.episodes), "episode"),
        (len(data.groups), "group"),
        (len(data.threads), "thread"),
        (len(data.runs), "training run"),
    ]
    return ", ".join(f"{n} {name}{'' if n == 1 else 's'}" for n, name in parts)
