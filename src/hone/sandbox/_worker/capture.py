"""What a code block prints, captured at the file-descriptor level and kept bounded.

File descriptors 1 and 2 of the worker point at one pipe, so ``print``, C extensions and
child processes all land in the same stream. A reader thread drains the pipe continuously
(a writer never blocks on a full pipe) into a :class:`Capture` that keeps the first and the
last characters up to its limit and counts the rest. A code block ends by writing a marker
into the pipe; once the reader has seen it, everything the block printed before is in.
"""

from __future__ import annotations

import codecs
import collections
import os
import threading

__all__ = ["Capture", "OutputPipe"]


class Capture:
    """The printed output of one code block: the first ``limit // 2`` characters, the last
    ``limit - limit // 2``, and how many were dropped in between."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._head: list[str] = []
        self._head_len = 0
        self._tail: collections.deque[str] = collections.deque()
        self._tail_len = 0
        self.total = 0

    def add(self, text: str) -> None:
        """Append printed text, dropping what falls between the head and the tail."""
        self.total += len(text)
        head_room = self.limit // 2 - self._head_len
        if head_room > 0:
            self._head.append(text[:head_room])
            self._head_len += min(head_room, len(text))
            text = text[head_room:]
        if not text:
            return
        tail_limit = self.limit - self.limit // 2
        text = text[-tail_limit:] if tail_limit else ""
        self._tail.append(text)
        self._tail_len += len(text)
        while self._tail and self._tail_len - len(self._tail[0]) >= tail_limit:
            self._tail_len -= len(self._tail.popleft())
        if self._tail_len > tail_limit and self._tail:
            cut = self._tail_len - tail_limit
            self._tail[0] = self._tail[0][cut:]
            self._tail_len -= cut

    def text(self) -> str:
        """The kept output, with a marker where characters were dropped."""
        head = "".join(self._head)
        tail = "".join(self._tail)
        dropped = self.total - len(head) - len(tail)
        if dropped <= 0:
            return head + tail
        return f"{head}\n... [{dropped} characters of output omitted] ...\n{tail}"


class OutputPipe:
    """The pipe behind file descriptors 1 and 2, and the thread that drains it."""

    def __init__(self, limit: int) -> None:
        read_fd, write_fd = os.pipe()
        os.set_inheritable(read_fd, False)
        os.dup2(write_fd, 1)
        os.dup2(write_fd, 2)
        os.close(write_fd)
        self._read_fd = read_fd
        self._lock = threading.Lock()
        self._capture = Capture(limit)
        self._marker = b""
        self._seen = threading.Event()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        threading.Thread(target=self._drain, name="hone-sandbox-output", daemon=True).start()

    def begin(self, limit: int) -> None:
        """Start capturing a new block's output."""
        with self._lock:
            self._capture = Capture(limit)

    def finish(self, timeout: float = 2.0) -> Capture:
        """Flush, wait until everything printed so far has been read, and return it."""
        marker = b"\x00hone-" + os.urandom(8).hex().encode() + b"\x00"
        with self._lock:
            self._marker = marker
            self._seen.clear()
        try:
            os.write(1, marker)
        except OSError:
            pass  # the block closed fd 1: what was read is all there is
        else:
            self._seen.wait(timeout)
        with self._lock:
            self._marker = b""
            return self._capture

    def _drain(self) -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(self._read_fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                data = pending + chunk
                pending = b""
                marker = self._marker
                if marker and marker in data:
                    before, _, after = data.partition(marker)
                    self._add(before)
                    self._seen.set()
                    data = after
                elif marker:
                    # Keep a possible start of the marker for the next chunk.
                    keep = len(marker) - 1
                    pending, data = data[-keep:], data[:-keep]
                self._add(data)

    def _add(self, data: bytes) -> None:
        if data:
            self._capture.add(self._decoder.decode(data))
