"""``ModelRouterMiddleware``: pick the agent's model for a run with a decision model's
``Choice`` answer (LangChain's ``ModelRouterMiddleware``, in beta there and here).

Before the run the classifier (a LangChain ``BaseDecisionModel``, or anything with its
``invoke`` / ``ainvoke``) is asked one ``Choice`` question, ``"model_route"``, about the
latest user message; its whole answer is kept in the state under ``model_route`` (so the
probabilities and confidence stay visible), and every model call of the run goes to the
chosen route's model. A classifier failure ends the run: no other model is picked quietly.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, NotRequired

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from hone.agents.middleware._base import AgentMiddleware
from hone.agents.middleware._side_model import kind_of
from hone.agents.middleware._types import AgentState, ModelRequest, ModelResponse
from hone.graph._types import TracePolicy, omit_payload
from hone.interop import resolve_model

__all__ = ["ModelChoice", "ModelRouterMiddleware", "ModelRouterState"]

#: The id of the routing question, and the state key its answer is kept under.
_QUESTION_ID = "model_route"
_BETA_TEXT = (
    "The middleware `ModelRouterMiddleware` is in beta. "
    "It is actively being worked on, so the API may change."
)


@dataclass(frozen=True)
class ModelChoice:
    """One model the router may pick, and when to pick it.

    Args:
        model: a LangChain chat model, a hone backend, or a model spec string
            (``"openai:gpt-4.1"``) resolved by :func:`~hone.interop.resolve_model`.
        criteria: what tasks suit the model (JSON: text, or structured criteria), shown to
            the classifier.
    """

    model: Any
    criteria: JsonValue


class _ModelRouterConfig(BaseModel):
    """The router's checked configuration: at least one choice, and the instructions."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    choices: dict[str, ModelChoice] = Field(min_length=1)
    instructions: Any


class ModelRouterState(AgentState[Any]):
    """The agent's state with the classifier's whole routing answer (a ``ChoiceAnswer``)."""

    model_route: NotRequired[Any]


def _routing_questions(config: _ModelRouterConfig) -> dict[str, Any]:
    """The classifier's one question: a LangChain ``Choice`` among the routes."""
    from langchain_core.decisions import Choice

    criteria = {route: choice.criteria for route, choice in config.choices.items()}
    return {_QUESTION_ID: Choice(instructions=config.instructions, criteria=criteria)}


def _beta_category() -> type[Warning]:
    """LangChain's beta warning when LangChain is loaded (it is, with a LangChain
    classifier), else ``FutureWarning``."""
    if "langchain_core" in sys.modules:
        from langchain_core._api import LangChainBetaWarning

        category: type[Warning] = LangChainBetaWarning
        return category
    return FutureWarning


class ModelRouterMiddleware(AgentMiddleware[ModelRouterState, Any, Any]):
    """Route each run's model calls to the model a decision model chooses.

    Before the run the latest user message is classified once; the classifier's
    ``ChoiceAnswer`` is stored as ``model_route`` and its ``choice`` picks the model of
    every model call in the run. The first router made in a process warns that the API is
    in beta.

    Args:
        choices: the routes: a name for each :class:`ModelChoice`.
        instructions: how the classifier should choose (text or content).
        classifier: a LangChain decision model (``BaseDecisionModel``), or an object with
            the same ``invoke`` / ``ainvoke`` taking ``{"state", "questions"}`` and answering
            with ``choices[question_id].choice``.

    Raises:
        pydantic.ValidationError: no choices, or a choice that is not a :class:`ModelChoice`.
        ModelSpecError: a model spec string that names no model.
    """

    #: Hook runs record no input (the conversation, tool arguments), as LangChain's.
    trace_policy = TracePolicy(process_inputs=omit_payload)

    state_schema = ModelRouterState
    _beta_warned = False

    def __init__(
        self,
        *,
        choices: Mapping[str, ModelChoice],
        instructions: Any,
        classifier: Any,
    ) -> None:
        if not ModelRouterMiddleware._beta_warned:
            ModelRouterMiddleware._beta_warned = True
            warnings.warn(_BETA_TEXT, _beta_category(), stacklevel=2)
        self.config = _ModelRouterConfig.model_validate(
            {"choices": dict(choices), "instructions": instructions}
        )
        self.models: dict[str, Any] = {
            route: resolve_model(choice.model) if isinstance(choice.model, str) else choice.model
            for route, choice in self.config.choices.items()
        }
        self.classifier = classifier

    @staticmethod
    def _latest_user_message(state: Mapping[str, Any]) -> Any:
        """The state's latest user message (either family).

        Raises:
            ValueError: the state has no user message.
        """
        for message in reversed(state["messages"]):
            if kind_of(message) == "user":
                return message
        raise ValueError(
            "ModelRouterMiddleware requires a HumanMessage in the agent state to route on "
            "(the conversation has no user message)."
        )

    def _classifier_input(self, state: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "state": self._latest_user_message(state),
            "questions": _routing_questions(self.config),
        }

    def before_agent(self, state: Any, runtime: Any) -> dict[str, Any]:
        """Classify the latest user message and keep the whole answer as ``model_route``.

        Raises:
            ValueError: the state has no user message.
            Exception: the classifier's failure, as it is.
        """
        response = self.classifier.invoke(self._classifier_input(state))
        return {_QUESTION_ID: response.choices[_QUESTION_ID]}

    async def abefore_agent(self, state: Any, runtime: Any) -> dict[str, Any]:
        """Async :meth:`before_agent`."""
        response = await self.classifier.ainvoke(self._classifier_input(state))
        return {_QUESTION_ID: response.choices[_QUESTION_ID]}

    def _routed(self, request: ModelRequest[Any]) -> ModelRequest[Any]:
        """``request`` sent to the chosen route's model.

        Raises:
            ValueError: no routing answer in the state, or a route that is not configured.
        """
        state = request.state
        answer = state.get(_QUESTION_ID) if isinstance(state, Mapping) else None
        if answer is None:
            raise ValueError(
                "ModelRouterMiddleware found no 'model_route' answer in the agent state; "
                "its before_agent hook must run before the model is called"
            )
        route = answer.choice
        if route not in self.models:
            raise ValueError(
                f"ModelRouterMiddleware's classifier chose route {route!r}, which is not one of "
                f"the configured routes: {', '.join(sorted(self.models))}"
            )
        return request.override(model=self.models[route])

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> Any:
        """The model call, sent to the chosen model.

        Raises:
            ValueError: no routing answer, or an unknown route (see :meth:`_routed`).
        """
        return handler(self._routed(request))

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> Any:
        """Async :meth:`wrap_model_call`."""
        return await handler(self._routed(request))
