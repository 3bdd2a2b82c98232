"""The text core both runtimes drive: writing, tool results, pruning, cutting back."""

from __future__ import annotations

import json

from hone.threads import (
    PruneRule,
    ThreadEpisode,
    ThreadSchema,
    ThreadTool,
    notice_text,
    result_tail,
)

SCHEMA = ThreadSchema(tools=(ThreadTool("lookup", "", {"type": "object"}),), max_depth=3)
CALL = (
    '{"reasoning": {"thought": "t", "tooluse": {"tool_name": "lookup", "parameters": {"key": "a"}'
)


def test_a_call_waits_for_its_result_and_the_model_may_have_begun_the_tail() -> None:
    episode = ThreadEpisode(SCHEMA, None)
    written = episode.write(CALL[:-2])
    assert written.call is None and written.consumed == len(CALL) - 2
    written = episode.write('"},')  # one token: closes the parameters, then the tail's comma
    assert written.call is not None and written.call.parameters == {"key": "a"}
    assert written.consumed == 2 and episode.call is written.call
    forced = episode.deliver('say "hi"\n')
    assert forced == result_tail('say "hi"\n')[1:]  # the comma was the model's
    assert json.loads(forced[forced.index(":") + 1 : -1]) == 'say "hi"\n'
    written = episode.write(', "conclusion": "c"}, "answer": "a"}')
    assert written.closed and episode.done and episode.thread is not None
    assert episode.thread.reasoning.tooluse is not None
    assert episode.thread.reasoning.tooluse.tool_result == 'say "hi"\n'


def test_per_call_replies_drop_what_follows_the_parameters() -> None:
    episode = ThreadEpisode(SCHEMA, None)
    written = episode.write(CALL + ', "tool_result": "invented"}', exact_tail=False)
    assert written.call is not None and written.error is None and episode.text == CALL


def test_an_error_keeps_the_text_up_to_it_and_retract_cuts_there() -> None:
    episode = ThreadEpisode(SCHEMA, None)
    episode.write('{"reasoning": {"thought": "t", "to')
    written = episode.write('ol": 1}')  # an unknown key, found at its closing quote
    assert written.error is not None and "no key 'tool'" in written.error.message
    offset = written.error.offset
    assert episode.text[offset:] == '"tool":'[: len(episode.text) - offset]
    assert episode.retract(offset) is None
    assert episode.text.endswith('"t", ') and episode.errors == [written.error]
    assert "problem at character" in notice_text(written.error)
    assert episode.write('"conclusion": "c"}, "answer": "a"}').closed


def test_retract_to_the_end_of_parameters_asks_for_the_tool_again() -> None:
    episode = ThreadEpisode(SCHEMA, None)
    written = episode.write(CALL + "}")  # '}' after the parameters: not the runtime's tail
    assert written.error is not None and written.error.offset == len(CALL)
    pending = episode.retract(written.error.offset)
    assert pending is not None and pending.tool_name == "lookup" and episode.call is pending
    episode.deliver("1")
    assert episode.write(', "conclusion": "c"}, "answer": "a"}').closed


def test_earlier_results_survive_a_retraction() -> None:
    episode = ThreadEpisode(SCHEMA, PruneRule(0))
    episode.write(CALL)
    episode.deliver("1")
    episode.write(', "subtasks": [{"thought": "u", "conclusion": "v"}]')
    assert episode.pruned  # the list closed and a stack of zero prunes it at once
    written = episode.write(", 5")
    assert written.error is not None
    assert episode.retract(written.error.offset) is None and episode.call is None
    assert episode.tool_calls == 1 and episode.visible_text.endswith('[{"conclusion": "v"}], ')
    assert episode.write('"conclusion": "c"}, "answer": "a"}').closed
