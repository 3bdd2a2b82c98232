"""``FilesystemFileSearchMiddleware``: ``glob_search`` and ``grep_search`` tools over one
folder of the file system (LangChain's middleware of that name).

The model sees paths as if the root folder were ``/``. Nothing outside the root is ever
listed or read: paths with ``..`` or ``~`` are refused, glob patterns that are absolute or
climb with ``..`` find nothing, and every match is resolved (symlinks followed) and dropped
unless it lies inside the root. ``grep_search`` runs ripgrep when asked and installed, and
searches in Python otherwise.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
from contextlib import suppress
from pathlib import Path
from typing import Any, Literal

from hone.agents.middleware._base import AgentMiddleware
from hone.tools import Tool

__all__ = ["FilesystemFileSearchMiddleware", "GrepOutputMode"]

#: How ``grep_search`` reports: the matching files, the matching lines
#: (``path:line:text``), or a count per file (``path:count``).
GrepOutputMode = Literal["files_with_matches", "content", "count"]

#: Matches per file: virtual path -> [(line number, line text)].
_Matches = dict[str, list[tuple[int, str]]]

_NO_FILES = "No files found"
_NO_MATCHES = "No matches found"


def _is_within_root(candidate: Path, root: Path) -> bool:
    """Whether ``candidate``, symlinks and ``..`` resolved, lies inside ``root`` (False when
    it cannot be resolved)."""
    try:
        return candidate.resolve().is_relative_to(root.resolve())
    except (OSError, ValueError):
        return False


def _expand_include_patterns(pattern: str) -> list[str] | None:
    """The globs a brace pattern stands for (``*.{py,pyi}`` -> ``["*.py", "*.pyi"]``); None
    for unbalanced or empty braces."""
    if "}" in pattern and "{" not in pattern:
        return None
    start = pattern.find("{")
    if start == -1:
        return [pattern]
    end = pattern.find("}", start)
    if end == -1 or end == start + 1:
        return None
    expanded: list[str] = []
    for option in pattern[start + 1 : end].split(","):
        rest = _expand_include_patterns(pattern[:start] + option + pattern[end + 1 :])
        if rest is None:
            return None
        expanded.extend(rest)
    return expanded


def _is_valid_include_pattern(pattern: str) -> bool:
    """Whether ``pattern`` is a usable include filter: not empty, one line, balanced braces,
    and each expanded glob compiles."""
    if not pattern or any(char in pattern for char in "\x00\n\r"):
        return False
    expanded = _expand_include_patterns(pattern)
    if expanded is None:
        return False
    try:
        for glob in expanded:
            re.compile(fnmatch.translate(glob))
    except re.error:
        return False
    return True


def _match_include_pattern(basename: str, pattern: str) -> bool:
    """Whether a file name matches the include filter (braces expanded)."""
    expanded = _expand_include_patterns(pattern)
    return bool(expanded) and any(fnmatch.fnmatch(basename, glob) for glob in expanded or ())


def _format_grep_results(results: _Matches, output_mode: str) -> str:
    files = sorted(results)
    if output_mode == "content":
        return "\n".join(f"{path}:{num}:{text}" for path in files for num, text in results[path])
    if output_mode == "count":
        return "\n".join(f"{path}:{len(results[path])}" for path in files)
    return "\n".join(files)


class FilesystemFileSearchMiddleware(AgentMiddleware[Any, Any, Any]):
    """Give the agent ``glob_search`` (files by name pattern, newest first) and
    ``grep_search`` (files by regex over their lines) over the folder ``root_path``.

    Args:
        root_path: the folder the tools see as ``/``.
        use_ripgrep: search with ``rg`` when it is installed (else, and on its failure, in
            Python).
        max_file_size_mb: the Python search skips files larger than this.
    """

    def __init__(
        self, *, root_path: str, use_ripgrep: bool = True, max_file_size_mb: int = 10
    ) -> None:
        super().__init__()
        self.root_path = Path(root_path).resolve()
        self.use_ripgrep = use_ripgrep
        self.max_file_size_bytes = max_file_size_mb * 1024 * 1024
        self.glob_search: Tool = Tool.from_function(self._glob, name="glob_search")
        self.grep_search: Tool = Tool.from_function(self._grep, name="grep_search")
        self.tools = [self.glob_search, self.grep_search]

    def _glob(self, pattern: str, path: str = "/") -> str:
        """Fast file pattern matching tool that works with any codebase size.

        Supports glob patterns like `**/*.js` or `src/**/*.ts`. Returns matching file paths
        sorted by modification time (most recently modified first), or 'No files found'. Use
        this tool when you need to find files by name patterns.

        Args:
            pattern: The glob pattern to match files against.
            path: The directory to search in. If not specified, searches from root.
        """
        try:
            base = self._validate_and_resolve_path(path)
        except ValueError:
            return _NO_FILES
        # Path.glob would follow a leading "/" or a ".." part out of the base folder.
        if not base.is_dir() or pattern.startswith("/") or ".." in pattern.split("/"):
            return _NO_FILES
        found: list[tuple[float, str]] = []
        for match in base.glob(pattern):
            if match.is_file() and _is_within_root(match, self.root_path):
                found.append((match.stat().st_mtime, self._virtual(match)))
        if not found:
            return _NO_FILES
        found.sort(key=lambda item: item[0], reverse=True)
        return "\n".join(path for _, path in found)

    def _grep(
        self,
        pattern: str,
        path: str = "/",
        include: str | None = None,
        output_mode: GrepOutputMode = "files_with_matches",
    ) -> str:
        """Fast content search tool that works with any codebase size.

        Searches file contents using regular expressions. Supports full regex syntax and
        filters files by pattern with the include parameter. Returns 'No matches found' when
        nothing matches.

        Args:
            pattern: The regular expression pattern to search for in file contents.
            path: The directory to search in. If not specified, searches from root.
            include: File pattern to filter (e.g., '*.js', '*.{ts,tsx}').
            output_mode: 'files_with_matches' (only file paths), 'content' (matching lines
                as file:line:content) or 'count' (matches per file as file:count).
        """
        try:
            re.compile(pattern)
        except re.error as exc:
            return f"Invalid regex pattern: {exc}"
        if include and not _is_valid_include_pattern(include):
            return "Invalid include pattern"
        results: _Matches | None = None
        if self.use_ripgrep:
            with suppress(FileNotFoundError, subprocess.SubprocessError):
                results = self._ripgrep_search(pattern, path, include)
        if results is None:
            results = self._python_search(pattern, path, include)
        if not results:
            return _NO_MATCHES
        return _format_grep_results(results, output_mode)

    def _validate_and_resolve_path(self, path: str) -> Path:
        """The real folder for a path as the model sees it.

        Raises:
            ValueError: the path has ``..`` or ``~``, or resolves outside the root.
        """
        virtual = path if path.startswith("/") else f"/{path}"
        if ".." in virtual or "~" in virtual:
            raise ValueError(f"Path traversal not allowed: {path}")
        full = (self.root_path / virtual.lstrip("/")).resolve()
        if not full.is_relative_to(self.root_path):
            raise ValueError(f"Path outside root directory: {path}")
        return full

    def _virtual(self, path: Path) -> str:
        return "/" + str(path.relative_to(self.root_path))

    def _ripgrep_search(self, pattern: str, base_path: str, include: str | None) -> _Matches:
        """Search with ``rg --json`` (the pattern after ``--``, so it is never read as an
        option); falls back to Python when ``rg`` is missing or times out."""
        try:
            base = self._validate_and_resolve_path(base_path)
        except ValueError:
            return {}
        if not base.exists():
            return {}
        command = ["rg", "--json"]
        if include:
            command += ["--glob", include]
        command += ["--", pattern, str(base)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
        except (subprocess.TimeoutExpired, FileNotFoundError):
            return self._python_search(pattern, base_path, include)
        results: _Matches = {}
        for line in done.stdout.splitlines():
            try:
                event = json.loads(line)
                if event["type"] != "match":
                    continue
                data = event["data"]
                found = Path(data["path"]["text"])
                if not _is_within_root(found, self.root_path):
                    continue
                text = data["lines"]["text"].rstrip("\n")
                results.setdefault(self._virtual(found), []).append((data["line_number"], text))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                continue
        return results

    def _python_search(self, pattern: str, base_path: str, include: str | None) -> _Matches:
        """Search line by line with ``re``; symlinked folders are not entered, and files that
        resolve outside the root, are too large, or are not UTF-8 text are skipped."""
        try:
            base = self._validate_and_resolve_path(base_path)
        except ValueError:
            return {}
        if not base.exists():
            return {}
        regex = re.compile(pattern)
        results: _Matches = {}
        for folder, _dirs, names in os.walk(base, followlinks=False):
            for name in names:
                file = Path(folder) / name
                if not _is_within_root(file, self.root_path) or not file.is_file():
                    continue
                if include and not _match_include_pattern(name, include):
                    continue
                if file.stat().st_size > self.max_file_size_bytes:
                    continue
                try:
                    text = file.read_text(encoding="utf-8")
                except (UnicodeDecodeError, PermissionError):
                    continue
                hits = [
                    (n, line) for n, line in enumerate(text.splitlines(), 1) if regex.search(line)
                ]
                if hits:
                    results[self._virtual(file)] = hits
        return results
