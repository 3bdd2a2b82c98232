"""Between chat requests and token-loop rows, for :class:`~hone.models.TransformersModel`.

The request side: messages shaped as chat templates expect them (:func:`template_message`),
the prompt text the tokenizer's chat template renders, and the :class:`RowSpec` of a request
(its room in the context window, sampling options, whether the prompt leaves the model
inside ``<think>``, and the constraint its ``response_format`` / ``tool_choice`` imply).

The reply side: the :class:`~hone.models.Completion` of a row's result (stop strings cut,
the reply parsed and checked against the request, OpenAI-shaped logprob entries).

Also the token ids both sides need: padding, end of turn and the reasoning and tool-call tags
(:func:`special_ids`). The model itself (loading, the lock, generation, KV reuse, policy
versions, streaming) is ``_transformers``'s.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hone.errors import CapabilityError, ChatTemplateError, ContextOverflowError
from hone.messages import to_openai
from hone.models._grammar import (
    BannedTokens,
    EndAfterToken,
    GrammarEngine,
    Tags,
    TokenConstraint,
    reply_grammar,
)
from hone.models._protocol import ChatRequest, Completion, FinishReason, TokenLogprob, Usage
from hone.models._structured import output_format, reply_problems, tool_requirement
from hone.models._transformers_loop import RowResult, RowSpec, SpecialIds
from hone.parsing import Parser

__all__ = ["RowCodec", "special_ids", "template_message"]

_END_OF_TURN_TOKENS = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>")


class RowCodec:
    """Chat requests as token-loop rows, and rows' results as completions, for one tokenizer.

    It memoises the text of single tokens (every call with logprobs decodes every token).

    Args:
        tokenizer: The model's tokenizer (with a chat template).
        ids: Its special token ids (:func:`special_ids`).
        name: The model's name, in errors and on completions.
        parser: How reply text becomes a message.
    """

    def __init__(self, tokenizer: Any, ids: SpecialIds, *, name: str, parser: Parser) -> None:
        self.tokenizer = tokenizer
        self.ids = ids
        self.name = name
        self.parser = parser
        #: The ``<tool_call>`` and ``</tool_call>`` ids, each None unless a single token.
        self.call_tags = (
            _single_id(tokenizer, "<tool_call>"),
            _single_id(tokenizer, "</tool_call>"),
        )
        self._pieces: dict[int, str] = {}  # token id -> its text alone

    def render(self, request: ChatRequest) -> str:
        """The prompt text the chat template makes of a request, with the generation prompt
        (and without the tools under ``tool_choice="none"``).

        Raises:
            ChatTemplateError: the template cannot render these messages.
        """
        messages = [template_message(to_openai(m)) for m in request.messages]
        tools = () if request.tool_choice == "none" else request.tools
        extra: dict[str, Any] = {}
        if request.options.enable_thinking is not None:
            extra["enable_thinking"] = request.options.enable_thinking
        try:
            text = self.tokenizer.apply_chat_template(
                messages,
                tools=[dict(t) for t in tools] or None,
                add_generation_prompt=True,
                tokenize=False,
                **extra,
            )
        except Exception as exc:  # jinja raises its own tree; all mean "cannot render"
            raise ChatTemplateError(f"the chat template of {self.name!r} failed: {exc}") from exc
        return str(text)

    def spec(
        self,
        request: ChatRequest,
        prompt: Sequence[int],
        *,
        max_context: int,
        grammars: Callable[[], GrammarEngine],
    ) -> RowSpec:
        """The row of a request whose prompt ids are ``prompt``; ``grammars`` gives the
        grammar engine when the request needs one.

        Raises:
            ContextOverflowError: the prompt leaves no room in ``max_context``.
            CapabilityError: a thinking budget without a single ``</think>`` token.
        """
        room = max_context - len(prompt)
        if room <= 0:
            raise ContextOverflowError(
                f"the prompt is {len(prompt)} tokens but {self.name!r} has a context of "
                f"{max_context}; shorten the conversation (drop or summarise old turns)"
            )
        options = request.options
        if options.thinking_budget is not None and self.ids.think_close is None:
            raise CapabilityError(
                f"{self.name!r} has no single '</think>' token, so a thinking budget cannot be "
                "enforced; leave SamplingOptions.thinking_budget unset for this model"
            )
        in_think = _ends_inside_think(prompt, self.ids)
        return RowSpec(
            prompt_ids=tuple(prompt),
            max_new_tokens=min(options.max_tokens, room),
            temperature=options.temperature,
            top_p=options.top_p,
            top_k=options.top_k or 0,
            seed=options.seed,
            stop=options.stop,
            thinking_budget=options.thinking_budget,
            starts_in_think=in_think,
            top_logprobs=(options.top_logprobs or 0) if options.logprobs else 0,
            constraint=self._constraint(request, in_think, grammars),
        )

    def _constraint(
        self, request: ChatRequest, in_think: bool, grammars: Callable[[], GrammarEngine]
    ) -> TokenConstraint | None:
        """What the reply must follow: a grammar, a simple token rule, or nothing."""
        fmt = output_format(request.response_format)
        tools = tool_requirement(
            request.tool_choice, request.tools, parallel=request.parallel_tool_calls
        )
        call_open, call_close = self.call_tags
        may_think = request.options.enable_thinking is True and self.ids.think_open is not None
        tags = Tags(
            think_open=self.ids.think_open,
            think_close=self.ids.think_close,
            call_open=call_open,
            call_close=call_close,
            in_think=in_think,
            may_think=may_think and not in_think,
        )
        offered = () if tools.mode == "none" else request.tools
        grammar = reply_grammar(fmt, tools, offered, tags)
        if grammar is not None:
            return grammars().matcher(grammar)
        if tools.mode == "none" and call_open is not None:
            return BannedTokens([call_open])
        if request.tools and not tools.parallel and call_close is not None:
            return EndAfterToken(call_close, sorted(self.ids.end_of_turn))
        return None

    def completion(
        self,
        spec: RowSpec,
        result: RowResult,
        *,
        request: ChatRequest,
        version: int | str | None,
    ) -> Completion:
        """The completion of ``request`` made of what the loop sampled for its row."""
        body = [t for t in result.token_ids if t not in self.ids.end_of_turn and t != self.ids.pad]
        text = self.decode(body)
        finish: FinishReason = result.finish_reason
        for stop in request.options.stop:
            cut = text.find(stop)
            if cut >= 0:
                text, finish = text[:cut], "stop"
        # A prompt that opens the reasoning block leaves the opening tag out of the output.
        parsed = self.parser(
            f"<think>{text}" if spec.starts_in_think else text,
            tools=request.tools,
            truncated=finish == "length",
        )
        message = parsed.to_message()
        if message.tool_calls and finish == "stop":
            finish = "tool_calls"
        problems = reply_problems(
            message,
            fmt=output_format(request.response_format),
            tools=tool_requirement(
                request.tool_choice, request.tools, parallel=request.parallel_tool_calls
            ),
            truncated=finish == "length",
        )
        token_logprobs = None
        if request.options.logprobs:
            tops = result.top or [()] * len(result.token_ids)
            token_logprobs = tuple(
                self.token_logprob(t, lp, top)
                for t, lp, top in zip(result.token_ids, result.logprobs, tops, strict=True)
            )
        return Completion(
            message=message,
            text=text,
            finish_reason=finish,
            usage=Usage(
                prompt_tokens=len(spec.prompt_ids), completion_tokens=len(result.token_ids)
            ),
            model=self.name,
            parse_errors=parsed.errors + problems,
            prompt_token_ids=spec.prompt_ids,
            token_ids=tuple(result.token_ids),
            logprobs=tuple(result.logprobs),
            token_logprobs=token_logprobs,
            policy_version=version,
        )

    def decode(self, ids: list[int]) -> str:
        """The text of token ids, special tokens included."""
        return str(self.tokenizer.decode(ids, skip_special_tokens=False))

    def token_logprob(
        self, token: int, logprob: float, top: Sequence[tuple[int, float]]
    ) -> TokenLogprob:
        """A sampled token's OpenAI-shaped logprob entry, with its ``top`` alternatives."""
        alternatives = tuple(
            TokenLogprob(token=self._piece(t), logprob=lp, token_id=t) for t, lp in top
        )
        return TokenLogprob(self._piece(token), logprob, token_id=token, top=alternatives)

    def _piece(self, token: int) -> str:
        """One token's text, memoised (every call with logprobs decodes every token)."""
        piece = self._pieces.get(token)
        if piece is None:
            piece = self._pieces[token] = self.decode([token])
        return piece


def template_message(message: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI dict as chat templates expect it: text content, arguments as a dict."""
    out = dict(message)
    content = out.get("content")
    if isinstance(content, list):
        out["content"] = "".join(p.get("text", "") for p in content if p.get("type") == "text")
    elif content is None:
        out["content"] = ""
    if "tool_calls" in out:
        out["tool_calls"] = [_template_call(c) for c in out["tool_calls"]]
    return out


def _template_call(call: Mapping[str, Any]) -> dict[str, Any]:
    function = dict(call["function"])
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        try:
            decoded = json.loads(arguments) if arguments else {}
        except json.JSONDecodeError:
            decoded = None  # the template shows the string as the model wrote it
        if isinstance(decoded, dict):
            function["arguments"] = decoded
    return {**call, "function": function}


def special_ids(model: Any, tokenizer: Any) -> SpecialIds:
    """The padding, end-of-turn and reasoning-tag ids of a model's tokenizer (end of turn:
    its EOS, the generation config's and the usual chat templates' end-of-turn tokens)."""
    ends: set[int] = set()
    if tokenizer.eos_token_id is not None:
        ends.add(int(tokenizer.eos_token_id))
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if isinstance(configured, int):
        ends.add(configured)
    elif isinstance(configured, list):
        ends.update(int(i) for i in configured)
    ends.update(i for i in (_single_id(tokenizer, t) for t in _END_OF_TURN_TOKENS) if i is not None)
    pad = tokenizer.pad_token_id
    if pad is None:
        pad = min(ends) if ends else 0
    return SpecialIds(
        pad=int(pad),
        end_of_turn=frozenset(ends),
        think_open=_single_id(tokenizer, "<think>"),
        think_close=_single_id(tokenizer, "</think>"),
    )


def _single_id(tokenizer: Any, token: str) -> int | None:
    ids = tokenizer.encode(token, add_special_tokens=False)
    return int(ids[0]) if len(ids) == 1 else None


def _ends_inside_think(prompt: Sequence[int], ids: SpecialIds) -> bool:
    if ids.think_open is None:
        return False
    for token in reversed(prompt):
        if token == ids.think_close:
            return False
        if token == ids.think_open:
            return True
    return False
