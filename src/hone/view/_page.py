"""The page: one self-contained HTML file (inline CSS and JavaScript, the data as embedded
JSON, a Content-Security-Policy that forbids any network access)."""

from __future__ import annotations

import dataclasses
import json
import re
from functools import cache
from html import escape
from importlib.resources import files
from pathlib import Path

from hone.trajectory import to_jsonable
from hone.view._sources import ViewerData

__all__ = ["page_json", "render_page", "write_page"]

_MARKERS = re.compile(r"__(?:CSS|JS|TITLE|NOTES|DATA)__")


@cache
def _asset(name: str) -> str:
    return files("hone.view").joinpath("_static", name).read_text(encoding="utf-8")


def page_json(data: ViewerData) -> str:
    """``data`` as the JSON the page embeds; safe inside a ``<script>`` element (every ``<``,
    ``>`` and ``&`` is escaped, so no value can close the element)."""
    text = json.dumps(to_jsonable(dataclasses.asdict(data)), ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def render_page(data: ViewerData) -> str:
    """The whole page for ``data`` as HTML text."""
    notes = "".join(f'<div class="notes">{escape(note)}</div>' for note in data.notes)
    replacements = {
        "__CSS__": _asset("viewer.css"),
        "__JS__": _asset("viewer.js"),
        "__TITLE__": escape(data.title),
        "__NOTES__": notes,
        "__DATA__": page_json(data),
    }
    # One pass over the template, so no inserted text (a title, the data) is itself rewritten.
    return _MARKERS.sub(lambda m: replacements[m.group(0)], _asset("page.html"))


def write_page(data: ViewerData, path: str | Path) -> Path:
    """Write :func:`render_page` to ``path`` (its folder is created); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_page(data), encoding="utf-8")
    return target
