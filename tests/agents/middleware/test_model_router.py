"""ModelRouterMiddleware: one Choice question about the latest user message before the run,
its answer kept as ``model_route``, and every model call sent to the chosen model (hone
backends and LangChain chat models); failures and bad configuration are errors."""

from __future__ import annotations

import inspect
import runpy
import warnings
from typing import Any

import pytest
from langchain_core._api import LangChainBetaWarning
from langchain_core.decisions import (
    BaseDecisionModel,
    Choice,
    ChoiceAnswer,
    ClassifierResponse,
    Question,
    State,
)
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from pydantic import Field, ValidationError

from hone.agents import create_agent
from hone.agents.middleware import ModelChoice, ModelRouterMiddleware
from hone.messages import AssistantMessage, UserMessage
from hone.models import ScriptedModel
from hone.models._openai import OpenAICompatibleModel

pytestmark = pytest.mark.filterwarnings("ignore::langchain_core._api.LangChainBetaWarning")


def _answer(route: str) -> ChoiceAnswer:
    return ChoiceAnswer(type="choice", choice=route, probabilities={route: 1.0}, confidence=1.0)


class _Classifier(BaseDecisionModel):
    model: str = "fake"
    route: str = "fast"
    error: str | None = None
    requests: list[Any] = Field(default_factory=list)

    @property
    def _provider(self) -> str:
        return "fake"

    def _classify(self, state: State, questions: dict[str, Question]) -> ClassifierResponse:
        self.requests.append((state, questions))
        if self.error is not None:
            raise RuntimeError(self.error)
        return ClassifierResponse(model=self.model, answers={"model_route": _answer(self.route)})


def _router(classifier: _Classifier, fast: Any, powerful: Any) -> ModelRouterMiddleware:
    return ModelRouterMiddleware(
        choices={
            "fast": ModelChoice(model=fast, criteria="Simple tasks."),
            "powerful": ModelChoice(model=powerful, criteria="Complex tasks."),
        },
        instructions="Choose the cheapest model that can do the task.",
        classifier=classifier,
    )


def test_hone_models_are_routed_on_the_latest_user_message() -> None:
    classifier = _Classifier(route="powerful")
    fast, powerful = ScriptedModel(["fast"]), ScriptedModel(["powerful"])
    agent = create_agent(ScriptedModel(["agent"]), middleware=[_router(classifier, fast, powerful)])
    latest = UserMessage(content="Update the README")
    out = agent.invoke(
        {"messages": [UserMessage(content="old"), AssistantMessage(content="ok"), latest]}
    )
    assert out["messages"][-1].content == "powerful"
    assert out["model_route"] == _answer("powerful")
    assert fast.calls == 0
    [(state, questions)] = classifier.requests
    assert isinstance(state, UserMessage)
    assert state.content == latest.content
    assert questions == {
        "model_route": Choice(
            instructions="Choose the cheapest model that can do the task.",
            criteria={"fast": "Simple tasks.", "powerful": "Complex tasks."},
        )
    }


async def test_langchain_models_are_routed_async() -> None:
    classifier = _Classifier(route="fast")
    fast = GenericFakeChatModel(messages=iter([AIMessage("fast")]))
    powerful = GenericFakeChatModel(messages=iter([AIMessage("powerful")]))
    agent = create_agent(powerful, middleware=[_router(classifier, fast, powerful)])
    out = await agent.ainvoke({"messages": [HumanMessage("Do it")]})
    assert out["messages"][-1].text == "fast"
    assert out["model_route"].choice == "fast"


def test_classifier_failure_ends_the_run() -> None:
    router = _router(_Classifier(error="unavailable"), ScriptedModel(["a"]), ScriptedModel(["b"]))
    agent = create_agent(ScriptedModel(["agent"]), middleware=[router])
    with pytest.raises(RuntimeError, match="unavailable"):
        agent.invoke({"messages": [UserMessage(content="q")]})


def test_no_user_message_is_an_error_before_classifying() -> None:
    classifier = _Classifier()
    router = _router(classifier, ScriptedModel(["a"]), ScriptedModel(["b"]))
    agent = create_agent(ScriptedModel(["agent"]), middleware=[router])
    with pytest.raises(ValueError, match="requires a HumanMessage"):
        agent.invoke({"messages": [AssistantMessage(content="ready")]})
    assert classifier.requests == []


def test_unknown_route_is_an_error() -> None:
    router = _router(_Classifier(route="huge"), ScriptedModel(["a"]), ScriptedModel(["b"]))
    agent = create_agent(ScriptedModel(["agent"]), middleware=[router])
    with pytest.raises(ValueError, match=r"route 'huge'.*fast, powerful"):
        agent.invoke({"messages": [UserMessage(content="q")]})


def test_configuration_is_checked_and_spec_strings_resolved() -> None:
    with pytest.raises(ValidationError):
        ModelRouterMiddleware(choices={}, instructions="x", classifier=_Classifier())
    router = ModelRouterMiddleware(
        choices={
            "tiny": ModelChoice(
                model="openai-compatible:http://localhost:1/v1#m", criteria="All tasks."
            )
        },
        instructions="x",
        classifier=_Classifier(),
    )
    assert isinstance(router.models["tiny"], OpenAICompatibleModel)


def test_beta_warning_is_given_once() -> None:
    namespace = runpy.run_path(inspect.getfile(ModelRouterMiddleware))
    router_class, choice_class = namespace["ModelRouterMiddleware"], namespace["ModelChoice"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            router_class(
                choices={"fast": choice_class(model=ScriptedModel(["a"]), criteria="Any.")},
                instructions="Choose.",
                classifier=_Classifier(),
            )
    beta = [w for w in caught if w.category is LangChainBetaWarning]
    assert len(beta) == 1
    assert "`ModelRouterMiddleware` is in beta" in str(beta[0].message)
