"""One ``put``: which rows a checkpoint needs, decided before and inside its transaction.

Before the transaction (no lock held), :class:`PutPlan` encodes the checkpoint body and the
values that changed, and decides per list channel whether the new value extends its
parent's (store the new items only) or not (store it whole). Inside the transaction,
:meth:`PutPlan.execute` checks that what it builds on still exists, appends to the parent's
chain — or forks a new chain when a sibling appended first — merges tail segments to keep
loads bounded (see :mod:`._rows`), and writes the checkpoint row, its values and the parent's
pending writes.
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hone.checkpoint._rows import (
    BlobRow,
    CheckpointRow,
    Ref,
    SegmentInfo,
    SegmentRow,
    WriteRow,
    WriteTx,
)
from hone.checkpoint._serde import Serializer
from hone.errors import CheckpointError

__all__ = ["Append", "PutPlan", "new_value_id", "segment_covers"]

logger = logging.getLogger(__name__)


class _ValueIds:
    """Blob and chain id suffixes: a random salt per process and a counter (cheaper than
    drawing random bytes for every put). A forked child draws a salt of its own."""

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self._salt = secrets.token_hex(4)
        self._counter = itertools.count()

    def next(self, checkpoint_id: str) -> str:
        return f"{checkpoint_id}.{self._salt}{next(self._counter):x}"


_ids = _ValueIds()


def new_value_id(checkpoint_id: str) -> str:
    """A new blob or chain id for a value a checkpoint writes."""
    return _ids.next(checkpoint_id)


def segment_covers(infos: Sequence[SegmentInfo], n: int) -> bool:
    """Whether a chain's segments (by start) tile its own items up to at least ``n``."""
    if n <= 0:
        return True
    if not infos:
        return False
    first = infos[0]
    pos = first.base_len if first.base_id is not None else 0
    if first.start != pos:
        return False
    for info in infos:
        if info.start != pos:
            return False
        pos = info.end
        if pos >= n:
            return True
    return pos >= n


@dataclass
class Append:
    """New items for a list channel, to go after the first ``base_len`` items of a chain."""

    chain_id: str
    base_len: int
    data: bytes
    count: int


@dataclass
class Outcome:
    """Where a list channel's value ended up: (chain id, length) and whether the chain is a
    new one holding the whole value."""

    chain_id: str
    length: int
    whole: bool


@dataclass
class PutPlan:
    """The rows of one put; see the module docstring."""

    serde: Serializer
    thread_id: str
    ns: str
    row: CheckpointRow
    values: Mapping[str, Any]
    #: channel -> reference, for every channel that has a value.
    refs: dict[str, Ref] = field(default_factory=dict)
    #: channel -> blob id of an inherited full value that must still exist.
    blobs_needed: dict[str, str] = field(default_factory=dict)
    #: channel -> chain reference that must still exist (inherited, or unchanged lists).
    chains_needed: dict[str, Ref] = field(default_factory=dict)
    new_blobs: list[BlobRow] = field(default_factory=list)
    #: channel -> a new root chain holding the whole list (encoded).
    new_chains: dict[str, bytes] = field(default_factory=dict)
    appends: dict[str, Append] = field(default_factory=dict)
    #: channel -> the items of the parent's list a new value extends (for the value cache).
    bases: dict[str, Sequence[Any]] = field(default_factory=dict)
    #: (checkpoint id, pending writes) stored in the same transaction.
    writes: list[tuple[str, list[WriteRow]]] = field(default_factory=list)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    #: id(value) -> (value, encoding): a value that is both a channel's new value and a
    #: pending write of the same put (a last-value key) is encoded once.
    _encoded: dict[int, tuple[Any, bytes]] = field(default_factory=dict)

    # -- before the transaction ---------------------------------------------------------

    def dumps(self, value: Any) -> bytes:
        """``value`` encoded, reusing the encoding of the same object earlier in this put
        (the plan holds the object, so its id cannot be reused meanwhile)."""
        hit = self._encoded.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        data = self.serde.dumps(value)
        self._encoded[id(value)] = (value, data)
        return data

    def full_value(self, channel: str, version: Any, value: Any) -> None:
        """Store a value whole: a blob, or a new chain for a list."""
        blob_id = new_value_id(self.row.checkpoint_id)
        data = self.dumps(value)
        if type(value) is list:
            self.new_chains[channel] = data
            self.refs[channel] = Ref(version, blob_id, len(value))
        else:
            self.new_blobs.append(BlobRow(channel, blob_id, None, data))
            self.refs[channel] = Ref(version, blob_id)

    def append(self, channel: str, version: Any, base: Ref, new_items: list[Any]) -> None:
        """Store only ``new_items``, after the value ``base`` refers to."""
        assert base.length is not None
        if not new_items:
            self.chains_needed[channel] = self.refs[channel] = Ref(version, base.key, base.length)
            return
        self.appends[channel] = Append(
            base.key, base.length, self.serde.dumps(new_items), len(new_items)
        )
        self.refs[channel] = Ref(version, base.key, base.length + len(new_items))

    # -- inside the transaction ---------------------------------------------------------

    def execute(self, tx: WriteTx) -> None:
        """Check, append or fork, merge, and write every row (see the module docstring)."""
        t, ns = self.thread_id, self.ns
        segments: list[SegmentRow] = []
        if self.blobs_needed:
            found = tx.existing_blobs(t, ns, self.blobs_needed)
            for channel in sorted(set(self.blobs_needed) - found):
                self._heal(channel)
        wanted = {c: r.key for c, r in self.chains_needed.items()}
        wanted.update({c: a.chain_id for c, a in self.appends.items()})
        infos = tx.chain_segments(t, ns, wanted) if wanted else {}
        for channel, ref in list(self.chains_needed.items()):
            assert ref.length is not None
            if ref.length and not segment_covers(infos.get(channel, []), ref.length):
                self._heal(channel)
            else:
                self.outcomes[channel] = Outcome(ref.key, ref.length, False)
        for channel, add in list(self.appends.items()):
            segment = self._append(tx, channel, add, infos.get(channel, []))
            if segment is not None:
                segments.append(segment)
        for channel, data in self.new_chains.items():
            ref = self.refs[channel]
            assert ref.length is not None
            self.outcomes[channel] = Outcome(ref.key, ref.length, True)
            if ref.length:
                segments.append(SegmentRow(channel, ref.key, 0, ref.length, None, 0, data))
        tx.put_rows(self._final_row(), self.new_blobs, segments)
        for checkpoint_id, rows in self.writes:
            tx.put_writes(t, ns, checkpoint_id, rows)

    def _final_row(self) -> CheckpointRow:
        """The checkpoint row with its references: the plan's row itself when the plan
        fills the row's own (empty at first) references, else a copy with them."""
        r = self.row
        if r.refs is self.refs:
            return r
        return CheckpointRow(
            r.thread_id,
            r.ns,
            r.checkpoint_id,
            r.parent_id,
            r.step,
            r.source,
            r.created_at,
            r.format_version,
            r.schema_version,
            dict(self.refs),
            r.body,
        )

    def _heal(self, channel: str) -> None:
        """The stored value this put builds on was deleted meanwhile (a ``prune`` or
        ``delete_thread`` in another process): store the full value instead of pointing at
        nothing."""
        if channel not in self.values:
            raise CheckpointError(
                f"the stored value of channel {channel!r} that checkpoint "
                f"{self.row.checkpoint_id!r} refers to was deleted while it was saved, and "
                "the checkpoint does not carry the value; save it again"
            )
        logger.debug(
            "value of %r under %r is gone; storing it in full", channel, self.row.checkpoint_id
        )
        version = self.refs[channel].version
        self.chains_needed.pop(channel, None)
        self.appends.pop(channel, None)
        self.full_value(channel, version, self.values[channel])

    def _append(
        self, tx: WriteTx, channel: str, add: Append, infos: list[SegmentInfo]
    ) -> SegmentRow | None:
        """The segment that stores ``add``: appended to its chain (merging the tail), or a
        fork when another checkpoint appended to the chain first."""
        t, ns = self.thread_id, self.ns
        tail = infos[-1].end if infos else 0
        end = add.base_len + add.count
        if not segment_covers(infos, add.base_len) or (not infos and add.base_len):
            self._heal(channel)
            return None  # the healed value is a new chain, written with the others
        if infos and tail != add.base_len:
            fork = new_value_id(self.row.checkpoint_id)
            self.refs[channel] = Ref(self.refs[channel].version, fork, end)
            self.outcomes[channel] = Outcome(fork, end, False)
            return SegmentRow(
                channel, fork, add.base_len, end, add.chain_id, add.base_len, add.data
            )
        base_id = infos[0].base_id if infos else None
        base_len = infos[0].base_len if infos else 0
        self.outcomes[channel] = Outcome(add.chain_id, end, False)
        # The new segment absorbs tail segments smaller than twice itself, so every segment
        # is at least twice the next: a chain of N items has at most log2(N) + 1 segments.
        # An absorbed item lands in a segment over 1.5x its old one: it moves at most
        # log1.5(N) times (amortized O(log N) bytes copied per appended item).
        size, merge_from = add.count, None
        for info in reversed(infos):
            if info.end - info.start >= 2 * size:
                break
            size += info.end - info.start
            merge_from = info.start
        if merge_from is None:
            return SegmentRow(channel, add.chain_id, add.base_len, end, base_id, base_len, add.data)
        absorbed = tx.segments(t, ns, channel, add.chain_id, start=merge_from, end=add.base_len)
        data = self.serde.concat([s.data for s in absorbed] + [add.data])
        tx.delete_segments(t, ns, channel, add.chain_id, merge_from)
        return SegmentRow(channel, add.chain_id, merge_from, end, base_id, base_len, data)
