"""Every ```python block of every ``docs/*.md`` guide runs, offline.

The blocks of one guide run in order in one shared namespace (a fresh module per guide), so a
later block may use what an earlier one defined, as a reader following the guide would. Each
guide runs in its own temporary working directory with ``HONE_HOME`` pointing there too, so
files a block writes (databases, tiny models) never leak. A block that needs something a test
cannot have (a real OpenAI key, a server running in another terminal) is skipped by putting
``<!-- skip-test -->`` on the last non-blank line before its opening fence.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
SKIP_MARKER = "<!-- skip-test -->"
_FENCE = re.compile(r"^```(\S*)\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a markdown file."""

    language: str
    code: str
    #: 1-based line of the first code line (the line after the opening fence).
    line: int
    skipped: bool


def extract_blocks(text: str) -> list[Block]:
    """The fenced code blocks of a markdown text, in order.

    Raises:
        ValueError: a fence is never closed, or a skip marker is not followed by a python block.
    """
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            if lines[i].strip() == SKIP_MARKER and not _next_is_python(lines, i + 1):
                raise ValueError(f"line {i + 1}: {SKIP_MARKER} is not followed by a python block")
            i += 1
            continue
        start = i + 1
        end = start
        while end < len(lines) and lines[end].rstrip() != "```":
            end += 1
        if end == len(lines):
            raise ValueError(f"line {i + 1}: code fence is never closed")
        previous = next((ln.strip() for ln in reversed(lines[:i]) if ln.strip()), "")
        blocks.append(
            Block(
                language=match.group(1),
                code="\n".join(lines[start:end]) + "\n",
                line=start + 1,
                skipped=previous == SKIP_MARKER,
            )
        )
        i = end + 1
    return blocks


def _next_is_python(lines: list[str], start: int) -> bool:
    for line in lines[start:]:
        if line.strip():
            return line.strip() == "```python"
    return False


def runnable(blocks: list[Block]) -> list[Block]:
    """The python blocks that are not marked as skipped."""
    return [b for b in blocks if b.language == "python" and not b.skipped]


def _guides() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def test_extraction_reads_fences_lines_and_markers() -> None:
    text = (
        "# Title\n\n```python\nx = 1\n```\n\n"
        f"{SKIP_MARKER}\n\n```python\nimport nowhere\n```\n\n```bash\nls\n```\n"
    )
    blocks = extract_blocks(text)
    assert [(b.language, b.line, b.skipped) for b in blocks] == [
        ("python", 4, False),
        ("python", 10, True),
        ("bash", 14, False),
    ]
    assert [b.code for b in runnable(blocks)] == ["x = 1\n"]
    with pytest.raises(ValueError, match="never closed"):
        extract_blocks("```python\nx = 1\n")
    with pytest.raises(ValueError, match="not followed"):
        extract_blocks(f"{SKIP_MARKER}\n```bash\nls\n```\n")


def test_docs_folder_has_guides() -> None:
    names = {p.name for p in _guides()}
    assert {"index.md", "agents.md", "graph.md", "checkpoints.md"} <= names


@pytest.mark.parametrize("guide", _guides(), ids=lambda p: p.name)
def test_guide_blocks_run(guide: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = runnable(extract_blocks(guide.read_text(encoding="utf-8")))
    if not blocks:
        pytest.skip(f"{guide.name} has no runnable python blocks")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HONE_HOME", str(tmp_path / "hone-home"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    # A real module, so classes defined in the guide resolve like those of a user's script.
    name = f"docs_{guide.stem.replace('-', '_')}"
    module = types.ModuleType(name)
    module.__file__ = str(guide)
    monkeypatch.setitem(sys.modules, name, module)
    out = io.StringIO()
    for block in blocks:
        # Pad so tracebacks point at the guide's own line numbers.
        source = "\n" * (block.line - 1) + block.code
        code = compile(source, str(guide), "exec")
        try:
            with contextlib.redirect_stdout(out):
                exec(code, module.__dict__)
        except Exception as exc:
            raise AssertionError(
                f"{guide.name}, block at line {block.line} failed: {exc!r}\n"
                f"output so far:\n{out.getvalue()}"
            ) from exc
