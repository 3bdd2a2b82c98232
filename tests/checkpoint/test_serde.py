"""The checkpoint serializer: exact round trips, safe refusals, corruption."""

from __future__ import annotations

import datetime as dt
import enum
import gc
import json
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hone.checkpoint import Serializer
from hone.checkpoint.conformance import sample_values
from hone.checkpoint.conformance._kit import Point
from hone.errors import CheckpointCorruptError, CheckpointError
from hone.messages import AssistantMessage, ToolCall, UserMessage

_RESERVED = "__hone__"
_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
# JSON whose dicts may use the reserved tag key, with or without a tag-like value.
_json_with_reserved = st.recursive(
    _scalars | st.just("dict") | st.just("tuple"),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text() | st.just(_RESERVED) | st.just("v"), inner, max_size=4)
    ),
    max_leaves=20,
)
_hashable = st.one_of(st.integers(), st.text(), st.tuples(st.integers(), st.text()))
_typed = st.recursive(
    _json | st.binary() | st.datetimes() | st.sets(_hashable, max_size=3),
    lambda inner: (
        st.tuples(inner, inner)
        | st.lists(inner, max_size=3)
        | st.dictionaries(_hashable, inner, max_size=3)
    ),
    max_leaves=15,
)


def _same(a: Any, b: Any) -> bool:
    """Equal with the same types all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def _has_reserved_key(value: Any) -> bool:
    if isinstance(value, list):
        return any(_has_reserved_key(v) for v in value)
    if isinstance(value, dict):
        return _RESERVED in value or any(_has_reserved_key(v) for v in value.values())
    return False


@given(_json_with_reserved)
def test_plain_json_takes_the_fast_path_unless_a_dict_uses_the_reserved_key(value: Any) -> None:
    data = Serializer().dumps(value)
    assert data[:1] == (b"T" if _has_reserved_key(value) else b"J")
    assert _same(Serializer().loads(data), value)


@given(_json)
def test_json_without_the_reserved_key_is_plain_json(value: Any) -> None:
    data = Serializer().dumps(value)
    assert data[:1] == b"J"
    assert json.loads(data[1:]) == value


@pytest.mark.parametrize(
    "value",
    [
        {_RESERVED: None},
        {_RESERVED: "dict", "v": [["a", 1]]},
        {_RESERVED: "tuple", "v": [1, 2]},
        [{"x": {_RESERVED: "bytes", "v": "AA=="}}],
        {"outer": (1, {_RESERVED: "set", "v": []})},
    ],
)
def test_user_dicts_that_look_like_tags_are_escaped(value: Any) -> None:
    data = Serializer().dumps(value)
    assert data[:1] == b"T"
    assert _same(Serializer().loads(data), value)


def test_subclasses_of_json_types_are_not_plain() -> None:
    class Name(str):
        pass

    flag = enum.IntEnum("Flag", ["ON"]).ON
    assert Serializer().dumps([flag])[:1] == b"T"
    with pytest.raises(CheckpointError, match="Name"):
        Serializer().dumps({"who": Name("x")})
    assert _same(Serializer().loads(Serializer().dumps({1: (2,)})), {1: (2,)})


def test_a_value_that_contains_itself_is_refused() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(CheckpointError, match="contains itself"):
        Serializer().dumps({"x": loop})


@given(_typed)
def test_typed_values_round_trip_exactly(value: Any) -> None:
    assert _same(Serializer().loads(Serializer().dumps(value)), value)


def test_sample_values_round_trip_with_types() -> None:
    serde = Serializer()
    for name, value in sample_values().items():
        loaded = serde.loads(serde.dumps(value))
        assert loaded == value and type(loaded) is type(value), name


def test_messages_round_trip() -> None:
    msgs = [
        UserMessage(content="hi"),
        AssistantMessage(content="", tool_calls=(ToolCall(name="f", raw_arguments="{bad"),)),
    ]
    assert Serializer().loads(Serializer().dumps(msgs)) == msgs


def test_unknown_type_is_refused_with_its_name() -> None:
    class Opaque:
        pass

    with pytest.raises(CheckpointError, match=r"Opaque.*allow_pickle=True"):
        Serializer().dumps({"x": [Opaque()]})


def test_pickle_is_opt_in_on_both_sides() -> None:
    value = {"when": dt.timezone(dt.timedelta(hours=2))}
    data = Serializer(allow_pickle=True).dumps(value)
    assert Serializer(allow_pickle=True).loads(data) == value
    with pytest.raises(CheckpointError, match="allow_pickle"):
        Serializer().loads(data)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"X{}",
        b"J{not json",
        b"T\xff\xfe",
        b'T{"__hone__":"nope","v":1}',
        b'T{"__hone__":"tuple"}',
    ],
)
def test_corrupt_bytes_raise_corrupt_error(data: bytes) -> None:
    with pytest.raises(CheckpointCorruptError):
        Serializer().loads(data)


def test_what_the_fast_json_parser_refuses_is_decoded_as_json_reads_it() -> None:
    # Escaped lone surrogates are JSON that Python's json accepts and the Rust parser refuses.
    assert Serializer().loads(b'J["\\ud800", 1e400, NaN, 123456789012345678901234567890]') == [
        "\ud800",
        float("inf"),
        pytest.approx(float("nan"), nan_ok=True),
        123456789012345678901234567890,
    ]
    with pytest.raises(CheckpointCorruptError, match="not valid JSON: Expecting"):
        Serializer().loads(b"J[1, 2")


def test_decoding_never_imports_a_module() -> None:
    data = (
        Serializer()
        .dumps(Point(x=1))
        .replace(b"hone.checkpoint.conformance", b"some_module_not_imported")
    )
    with pytest.raises(CheckpointError, match="not imported"):
        Serializer().loads(data)
    assert "some_module_not_imported" not in sys.modules


def test_a_non_model_class_name_is_corrupt() -> None:
    data = Serializer().dumps(Point(x=1)).replace(b"_kit:Point", b"_kit:Saver")
    with pytest.raises(CheckpointCorruptError):
        Serializer().loads(data)


def test_message_histories_round_trip_in_one_validation_and_item_by_item() -> None:
    serde = Serializer()
    call = ToolCall(id="c1", name="search", arguments={"q": "x"})
    plain = [UserMessage(content="hi"), AssistantMessage(content="", tool_calls=(call,))]
    assert serde.loads(serde.dumps(plain)) == plain  # the batched path
    with_extra = [*plain, UserMessage(content="x", extra={"k": (1, 2)})]
    back = serde.loads(serde.dumps(with_extra))  # an item with extras: item by item
    assert back == with_extra and back[2].extra == {"k": (1, 2)}
    mixed = [UserMessage(content="a"), {"__not": "a message"}, UserMessage(content="b")]
    assert serde.loads(serde.dumps(mixed)) == mixed


def test_long_histories_round_trip_across_validation_batches() -> None:
    serde = Serializer()
    history: list[Any] = [UserMessage(content=f"m{i}") for i in range(600)]
    history[300] = UserMessage(content="x", extra={"k": 1})  # splits a run of plain ones
    assert serde.loads(serde.dumps(history)) == history


def _live_tuple_trees() -> int:
    """Parse trees of stored tuples alive now (dicts holding a list are tracked by gc)."""
    return sum(1 for o in gc.get_objects() if type(o) is dict and o.get(_RESERVED) == "tuple")


def test_each_item_of_a_stored_list_frees_its_parse_tree_when_decoded() -> None:
    # Decoding a parsed list into a new one kept every item's parse tree alive until the
    # end: a long history held its trees and its decoded items at once, enough objects
    # reached the collector's oldest generation for a load to pay for a full collection of
    # the heap, and get_state grew faster than the history. When item k is decoded, the
    # trees of items 0..k-1 must be gone.
    value = [(i, "item") for i in range(12)]
    data = Serializer().dumps(value)
    live: list[int] = []

    class Probe(Serializer):
        def _decode(self, tree: Any) -> Any:
            if type(tree) is dict and tree.get(_RESERVED) == "tuple":
                live.append(_live_tuple_trees())
            return super()._decode(tree)

    before = _live_tuple_trees()
    assert Probe().loads(data) == value
    assert live == [before + len(value) - k for k in range(len(value))]


_LOAD_IN_A_FRESH_PROCESS = """
import sys
from hone.checkpoint import Serializer
value = Serializer().loads(sys.stdin.buffer.read())
assert "langchain_core.messages.human" in sys.modules
print(type(value[0]).__name__, value[0].content)
"""


def test_a_langchain_message_loads_in_a_process_that_never_imported_langchain() -> None:
    """langchain-core imports its message modules lazily: loading must import the class's
    own module, not only the package (a process with just hone and its saver)."""
    from langchain_core.messages import HumanMessage

    stored = Serializer().dumps([HumanMessage(content="hi", id="m1")])
    done = subprocess.run(
        [sys.executable, "-c", _LOAD_IN_A_FRESH_PROCESS],
        input=stored,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.split() == [b"HumanMessage", b"hi"]


def test_a_langchain_path_outside_its_modules_is_refused_clearly() -> None:
    data = Serializer().dumps([_lc_human()])
    renamed = data.replace(b"langchain_core.messages.human:", b"langchain_core.messages.nope:")
    with pytest.raises(CheckpointError, match=r"has no module 'langchain_core\.messages\.nope'"):
        Serializer().loads(renamed)


def _lc_human() -> Any:
    from langchain_core.messages import HumanMessage

    return HumanMessage(content="hi", id="m1")
