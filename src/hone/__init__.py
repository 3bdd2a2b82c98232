"""hone: LLM agents that get better with practice."""

from hone._version import __version__

__all__ = ["__version__"]
