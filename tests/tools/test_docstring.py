"""Docstring parsing: summaries and per-parameter descriptions."""

from __future__ import annotations

import inspect

from hone.tools._docstring import parse_docstring


def _doc(fn: object) -> str | None:
    return inspect.getdoc(fn)


def test_google_style_summary_and_args() -> None:
    def fn() -> None:
        """Search the web.

        Returns the top hits,
        ranked by relevance.

        Args:
            query (str): What to
                search for.
            limit: How many hits.

        Returns:
            The hits.
        """

    doc = parse_docstring(_doc(fn))
    assert doc.description == "Search the web.\n\nReturns the top hits, ranked by relevance."
    assert doc.params == {"query": "What to search for.", "limit": "How many hits."}


def test_sections_after_args_are_not_parameters() -> None:
    def fn() -> None:
        """Do it.

        Args:
            a: First.

        Raises:
            ValueError: never.
        """

    assert parse_docstring(_doc(fn)).params == {"a": "First."}


def test_sphinx_params() -> None:
    def fn() -> None:
        """Do it.

        :param a: first
            continued
        :param int b: second
        :returns: nothing
        """

    doc = parse_docstring(_doc(fn))
    assert doc.description == "Do it."
    assert doc.params == {"a": "first continued", "b": "second"}


def test_empty_docstring() -> None:
    assert parse_docstring(None).description == ""
    assert parse_docstring("").params == {}
