"""Test-time search: spend more inference compute to get better answers.

Flat strategies, over any sampler (a model through :func:`model_sampler`, or a function):

* :func:`best_of_n` — repeated sampling, keep the best answer by a Reward or a verifier;
* :func:`self_consistency` — majority vote over normalised answers;
* :func:`refine` — generate, score (and critique), revise.

Tree searches with TreeQuest's stateless surface (``init_tree``, ``step``, ``ask``,
``ask_batch``, ``tell``, :func:`top_k`) and generator contract
(``generate(parent_state | None) -> (state, score in [0, 1])``):

* :class:`ABMCTSA` — AB-MCTS-A with Beta or Gaussian Thompson sampling, O(1) updates;
* :class:`ABMCTSM` — AB-MCTS-M with TreeQuest's hierarchical model, integrated by quadrature
  instead of MCMC;
* :class:`MCTS` — UCT.

:func:`search` runs one to a budget with concurrency, timeouts and a progress view; states save
to JSON (:meth:`SearchState.to_json`) and draw as Mermaid (:func:`to_mermaid`) or a PNG
(:func:`plot_tree`). Guide: docs/search.md.
"""

from hone.errors import SearchError, SearchStateError, UnknownTrialError
from hone.search._ab_mcts_a import ABMCTSA, ModelSelection
from hone.search._ab_mcts_m import ABMCTSM
from hone.search._algorithm import TreeSearch
from hone.search._answers import extract_answer, majority_vote, normalize_answer
from hone.search._budget import Budget, Cost, StopReason
from hone.search._candidates import Candidate, Sampled, Sampler, Scorer
from hone.search._conjugate import BetaPrior, GaussianPrior
from hone.search._draw import plot_tree, to_mermaid
from hone.search._episodes import EpisodeRef, EpisodeSearch, ExpansionInfo, default_critique
from hone.search._expert import (
    ExpertIterationResult,
    ExpertRound,
    TaskSearch,
    aexpert_iteration,
    best_episodes,
    episode_search,
)
from hone.search._flat import (
    SampleResult,
    VoteResult,
    abest_of_n,
    aself_consistency,
    best_of_n,
    self_consistency,
)
from hone.search._generate import GenerateFn
from hone.search._hierarchical import HierarchicalPriors
from hone.search._mcts import MCTS
from hone.search._model import model_generator, model_reviser, model_sampler, revision_request
from hone.search._progress import ProgressView
from hone.search._refine import Feedback, RefineResult, Reviser, arefine, refine
from hone.search._run import asearch, search
from hone.search._state import Node, SearchState, StateScore, Trial, TrialResult, top_k

__all__ = [
    "ABMCTSA",
    "ABMCTSM",
    "MCTS",
    "BetaPrior",
    "Budget",
    "Candidate",
    "Cost",
    "EpisodeRef",
    "EpisodeSearch",
    "ExpansionInfo",
    "ExpertIterationResult",
    "ExpertRound",
    "Feedback",
    "GaussianPrior",
    "GenerateFn",
    "HierarchicalPriors",
    "ModelSelection",
    "Node",
    "ProgressView",
    "RefineResult",
    "Reviser",
    "SampleResult",
    "Sampled",
    "Sampler",
    "Scorer",
    "SearchError",
    "SearchState",
    "SearchStateError",
    "StateScore",
    "StopReason",
    "TaskSearch",
    "TreeSearch",
    "Trial",
    "TrialResult",
    "UnknownTrialError",
    "VoteResult",
    "abest_of_n",
    "aexpert_iteration",
    "arefine",
    "asearch",
    "aself_consistency",
    "best_episodes",
    "best_of_n",
    "default_critique",
    "episode_search",
    "extract_answer",
    "majority_vote",
    "model_generator",
    "model_reviser",
    "model_sampler",
    "normalize_answer",
    "plot_tree",
    "refine",
    "revision_request",
    "search",
    "self_consistency",
    "to_mermaid",
    "top_k",
]
