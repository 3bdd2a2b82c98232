"""The streamed-content filter that keeps tool-call markup out of ``content`` deltas."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import openai
from hypothesis import given
from hypothesis import strategies as st

from hone.models._protocol import ChatRequest, StreamEvent
from hone.models._scripted import ScriptedModel
from hone.serve import create_app, running_server
from hone.serve._stream import VisibleText

TAG = "<tool_call>"


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


@given(
    before=st.text(alphabet="ab<>_tolc \n", max_size=30),
    after=st.text(alphabet="ab<>_tolc{}", max_size=20),
    with_tag=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=8),
)
def test_shown_text_is_everything_before_the_first_tag(
    before: str, after: str, with_tag: bool, cuts: list[int]
) -> None:
    text = before + (TAG + after if with_tag else "")
    visible = VisibleText()
    shown = "".join(visible.push(piece) for piece in _split(text, cuts))
    expected = text[: text.find(TAG)] if TAG in text else text
    if TAG in text:  # everything before the tag is shown as soon as the tag is seen
        assert shown == expected
    # Without a tag, a trailing partial tag is held back until the end of the stream.
    assert expected.startswith(shown)
    assert shown + visible.rest(expected) == expected


class _RawStreaming(ScriptedModel):
    """Streams the raw reply text, markup included, as a local backend does."""

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        completion = await self.complete(request)
        for i in range(0, len(completion.text), 3):
            yield StreamEvent(kind="text", delta=completion.text[i : i + 3])
        yield StreamEvent(kind="done", completion=completion)


def test_raw_tool_call_markup_is_not_streamed_as_content() -> None:
    reply = 'Let me add <b>.<tool_call>{"name": "add", "arguments": {"a": 1}}</tool_call>'
    app = create_app(_RawStreaming([reply]), model_name="m")
    with running_server(app) as url:
        client = openai.OpenAI(base_url=url, api_key="none", max_retries=0)
        chunks = list(
            client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}], stream=True
            )
        )
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == "Let me add <b>."
    calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or ()]
    assert [tc.function.name for tc in calls if tc.function] == ["add"]
