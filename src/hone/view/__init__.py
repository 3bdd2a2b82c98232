"""The web viewer: threads and runs, episodes token by token, groups side by side, and a
training run's curves, in one self-contained HTML page (docs/observability.md, "Viewer").

::

    from hone.view import load_view, write_page, viewer_app

    write_page(load_view(["runs/grpo"]), "grpo.html")        # a file to open or share
    app = viewer_app(lambda: load_view(["runs/grpo"]))       # an ASGI app, fresh per request

The page needs no network: its CSS, JavaScript, drawings and data are all inside it. The data
is plain dataclasses (:class:`ViewerData`) built from objects (:func:`build_view`) or files
(:func:`load_view`); the pieces are pure functions (:func:`token_sequences`,
:func:`graph_svg`, :func:`training_run_view`, ...).
"""

from hone.view._app import ViewerSource, viewer_app
from hone.view._curves import Curve, TrainingRunView, read_metrics, training_run_view
from hone.view._episodes import (
    CallView,
    EpisodeView,
    GroupView,
    MessageView,
    ToolCallView,
    episode_view,
    episode_views,
    group_views,
)
from hone.view._graph_svg import graph_svg
from hone.view._page import render_page, write_page
from hone.view._sources import ViewerData, build_view, find_tokenizer, load_view
from hone.view._threads import CheckpointView, RunView, ThreadView, thread_views
from hone.view._tokens import Decoder, TokenSequence, TokenSpan, load_decoder, token_sequences
from hone.view._training import Advantage, episode_advantages

__all__ = [
    "Advantage",
    "CallView",
    "CheckpointView",
    "Curve",
    "Decoder",
    "EpisodeView",
    "GroupView",
    "MessageView",
    "RunView",
    "ThreadView",
    "TokenSequence",
    "TokenSpan",
    "ToolCallView",
    "TrainingRunView",
    "ViewerData",
    "ViewerSource",
    "build_view",
    "episode_advantages",
    "episode_view",
    "episode_views",
    "find_tokenizer",
    "graph_svg",
    "group_views",
    "load_decoder",
    "load_view",
    "read_metrics",
    "render_page",
    "thread_views",
    "token_sequences",
    "training_run_view",
    "viewer_app",
    "write_page",
]
