import pytest

from hone.graph import REMOVE_ALL_MESSAGES, RemoveMessage, add_messages
from hone.messages import AssistantMessage, UserMessage


def test_appends_and_assigns_ids() -> None:
    out = add_messages([UserMessage(content="hi")], [("assistant", "hello"), "more"])
    assert [m.role for m in out] == ["user", "assistant", "user"]
    assert all(m.id for m in out)
    assert out[1].text == "hello"


def test_replaces_by_id_and_removes() -> None:
    left = [UserMessage(content="a", id="1"), AssistantMessage(content="b", id="2")]
    out = add_messages(left, [AssistantMessage(content="B", id="2")])
    assert [m.text for m in out] == ["a", "B"]
    out = add_messages(out, [RemoveMessage(id="1")])
    assert [m.id for m in out] == ["2"]
    with pytest.raises(ValueError, match="not in the list"):
        add_messages(out, [RemoveMessage(id="nope")])


def test_remove_all() -> None:
    left = [UserMessage(content="a", id="1")]
    out = add_messages(
        left, [RemoveMessage(id=REMOVE_ALL_MESSAGES), {"role": "user", "content": "x"}]
    )
    assert [m.text for m in out] == ["x"]
