"""hone tools the tests serve with ``hone mcp serve`` (``hone_tools.py:tools``)."""

from __future__ import annotations

import asyncio
import os

from hone.messages import ImagePart, ImageUrl, TextPart
from hone.tools import tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


@tool
def profile(name: str) -> dict[str, object]:
    """Describe a name.

    Args:
        name: The name to describe.
    """
    return {"name": name, "length": len(name)}


@tool
def explode(message: str) -> str:
    """Raise an error with a message.

    Args:
        message: What the error says.
    """
    raise RuntimeError(message)


@tool
async def nap(seconds: float) -> str:
    """Sleep, then answer.

    Args:
        seconds: How long to sleep.
    """
    await asyncio.sleep(seconds)
    return "rested"


@tool
def picture() -> list[TextPart | ImagePart]:
    """A caption and a tiny picture."""
    return [
        TextPart(text="a red dot"),
        ImagePart(image_url=ImageUrl(url="data:image/png;base64,iVBORw0KGgo=")),
    ]


@tool
def crash() -> str:
    """Exit the server process at once."""
    os._exit(5)


tools = [add, profile, explode, nap, picture, crash]
