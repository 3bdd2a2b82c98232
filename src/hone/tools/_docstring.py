"""Read a tool's description and parameter descriptions from its docstring.

Google style is the main form (``Args:`` with ``name (type): text`` entries, continuation lines
indented deeper); Sphinx ``:param name: text`` fields are read too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Docstring", "parse_docstring"]

_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Returns?|Yields?|"
    r"Raises|Examples?|Notes?|See Also|Warnings?|Attributes|Todo|References)\s*:\s*$",
    re.IGNORECASE,
)
_ARG_SECTIONS = {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments"}
_ARG_ENTRY = re.compile(r"^\*{0,2}(?P<name>\w+)\s*(\([^)]*\))?\s*:\s*(?P<text>.*)$")
_SPHINX_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?(?P<name>\w+)\s*:\s*(?P<text>.*)$")


@dataclass(frozen=True, slots=True)
class Docstring:
    """The parts of a docstring a tool schema uses."""

    #: The text before the first section, paragraphs kept, lines within a paragraph joined.
    description: str
    #: Parameter name to description, from ``Args:`` (or ``:param:``) entries.
    params: dict[str, str] = field(default_factory=dict)


def _join_paragraphs(lines: list[str]) -> str:
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            paragraphs[-1].append(line.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return "\n\n".join(" ".join(p) for p in paragraphs if p)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _parse_args_section(lines: list[str]) -> dict[str, str]:
    params: dict[str, list[str]] = {}
    entry_indent: int | None = None
    current: str | None = None
    for line in lines:
        if not line.strip():
            continue
        indent = _indent(line)
        match = _ARG_ENTRY.match(line.strip())
        if match and (entry_indent is None or indent <= entry_indent):
            entry_indent = indent
            current = match.group("name")
            params[current] = [match.group("text")]
        elif current is not None:
            params[current].append(line.strip())
    return {name: " ".join(t for t in texts if t) for name, texts in params.items()}


def parse_docstring(doc: str | None) -> Docstring:
    """Split a cleaned docstring (``inspect.getdoc``) into description and parameter texts."""
    if not doc:
        return Docstring(description="")
    summary: list[str] = []
    params: dict[str, str] = {}
    section: str | None = None
    section_lines: list[str] = []

    def close_section() -> None:
        if section is not None and section.lower() in _ARG_SECTIONS:
            params.update(_parse_args_section(section_lines))

    current_param = ""
    for line in doc.expandtabs().splitlines():
        stripped = line.strip()
        header = _SECTION.match(stripped) if _indent(line) == 0 else None
        in_fields = section is None or section.startswith(":")
        if header:
            close_section()
            section, section_lines = header.group(1), []
        elif in_fields and (sphinx := _SPHINX_PARAM.match(stripped)):
            section, current_param = ":param", sphinx.group("name")
            params[current_param] = sphinx.group("text").strip()
        elif in_fields and stripped.startswith(":"):
            section = ":field"  # other Sphinx fields (:returns:, :raises:) are not used
        elif section is None:
            summary.append(line)
        elif section == ":param" and stripped:
            params[current_param] = f"{params[current_param]} {stripped}".strip()
        elif not section.startswith(":"):
            section_lines.append(line)
    close_section()
    return Docstring(description=_join_paragraphs(summary), params=params)
