"""What the root model reads and writes: blocks cut out of replies, the context described
without its text, and printed output cut with a note."""

from __future__ import annotations

from hone.rlm import CODE_STOP, describe_context
from hone.rlm._prompt import cut_output, find_block, task_message
from hone.sandbox import ExecError, ExecResult


def test_the_stop_sequence_matches_a_closing_fence_not_an_opening_one() -> None:
    reply = "Let me look.\n```python\nprint(1)\n```\nand more"
    assert CODE_STOP not in reply[: reply.index("print")]
    assert reply.index(CODE_STOP) == reply.index("print(1)") + len("print(1)")


def test_the_first_block_is_taken_and_what_follows_it_dropped() -> None:
    block = find_block(
        "Plan first.\n```python\nx = 1\n```\nOutput: 1\n```python\ny = 2\n```", stopped=False
    )
    assert block.code == "x = 1"
    assert block.closed
    assert block.shown == "Plan first.\n```python\nx = 1\n```"


def test_fence_kinds() -> None:
    for fence in ("```python", "```py", "```repl", "```", "```python3"):
        block = find_block(f"{fence}\nprint(2)\n```", stopped=False)
        assert block.code == "print(2)", fence


def test_a_block_cut_by_the_stop_sequence_is_complete_and_shown_closed() -> None:
    block = find_block("```python\nprint(3)", stopped=True)
    assert block.code == "print(3)" and block.closed
    assert block.shown == "```python\nprint(3)\n```"


def test_an_unclosed_block_without_a_stop_is_not_complete() -> None:
    block = find_block("```python\nprint('cut", stopped=False)
    assert block.code == "print('cut" and not block.closed


def test_no_block_and_empty_block() -> None:
    assert find_block("The answer is 4.", stopped=True).code is None
    assert find_block("```python\n```", stopped=False).code is None


def test_context_is_described_not_shown() -> None:
    text = "alpha\nbeta\n" * 1000
    described = describe_context(text)
    assert described == "a str of 11,000 characters in 2,000 lines"
    assert "alpha" not in task_message("How many?", text)
    assert describe_context(["ab", "cde"]) == (
        "a list of 2 items (all str, 5 characters in all, longest 3)"
    )
    assert describe_context({"a": 1, "b": [2]}) == "a dict with 2 keys ('a', 'b')"
    assert describe_context(3.5) == "a float"


def test_output_past_the_limit_is_cut_with_a_note() -> None:
    result = ExecResult("ok", "a" * 500 + "b" * 500, output_chars=1000)
    shown = cut_output(result, 100)
    assert shown.startswith("a" * 50 + "\n...\n" + "b" * 50)
    assert "[output truncated: 1,000 characters printed, about 100 shown" in shown
    assert cut_output(ExecResult("ok", "short\n", output_chars=6), 100) == "short"


def test_output_the_sandbox_already_cut_is_noted() -> None:
    kept = "head\n... [9000 characters of output omitted] ...\ntail"
    shown = cut_output(ExecResult("ok", kept, output_chars=9010), 4000)
    assert "9,010 characters printed" in shown


def test_errors_are_part_of_the_observation() -> None:
    error = ExecError("ZeroDivisionError", "division by zero", "Traceback ...\nZeroDivisionError")
    shown = cut_output(ExecResult("error", "before\n", error, output_chars=7), 100)
    assert shown.splitlines()[0] == "before" and "ZeroDivisionError" in shown
