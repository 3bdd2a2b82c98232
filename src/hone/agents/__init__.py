"""Agent patterns, each a compiled hone graph (checkpointed, streamable, interruptible,
drawable) with a documented state schema, whose every model call carries its role.

Single-agent patterns:

* :func:`create_react_agent` — the tool-using loop, with an optional structured final
  answer (``response_format`` → ``structured_response``);
* :func:`create_plan_and_execute` — planner → executor (a ReAct agent per step) →
  replanner → synthesis, with optional human approval of the plan;
* :func:`create_reflection_agent` — draft → critique → revise, and Reflexion when the
  critique sees a tool's feedback (test results);
* :func:`create_tree_of_thoughts` — propose k thoughts per state (``Send`` fan-out), score
  them with a hone ``Reward`` or a judge model, keep a beam;
* :func:`create_solver_judge` — N solvers answer concurrently, a judge picks one;
* :func:`create_codeact_agent` — actions as Python code run in a sandbox session
  (:mod:`hone.sandbox`), tools callable from the code, printed output as observations.

Multi-agent patterns, built from :func:`create_handoff_agent` members that pass control with handoff
tools (:func:`create_handoff_tool`) under defined semantics and a :class:`Budget`:

* :func:`create_supervisor` — a tool-calling supervisor hands tasks to workers (or whole
  teams) and answers, with an explicit :class:`ContextPolicy`;
* :func:`create_swarm` — agents hand off to each other; the active agent is remembered;
* :func:`create_blackboard` — roles take turns on a shared board (:class:`RoundRobin`,
  :class:`Mentions`, :class:`Coordinator`), then a synthesis.

Models are hone backends, spec strings or LangChain chat models; one for every role or one
per role. Each node asks the run for its role's model first, so a rollout with
``roles=roles_of(graph)`` records one episode per role (see :func:`roles_of`). The patterns
are described, with pictures, in ``docs/patterns.md``.
"""

from hone.agent._structured import StructuredStep
from hone.agents._blackboard import (
    BlackboardState,
    Role,
    RoleStats,
    create_blackboard,
    role_stats,
)
from hone.agents._blackboard_board import (
    Board,
    Coordinator,
    Mentions,
    Post,
    RoundRobin,
    TurnPolicy,
    View,
)
from hone.agents._budget import Budget, BudgetStop, BudgetUsage
from hone.agents._codeact import CODEACT_PROMPT, CodeActState, create_codeact_agent
from hone.agents._create_agent import create_agent
from hone.agents._guard import (
    GuardrailContext,
    GuardrailEvent,
    GuardrailResult,
    InputGuardrail,
    OutputGuardrail,
    ToolInputGuardrail,
    ToolOutputGuardrail,
)
from hone.agents._guard_eval import DetectionReport, evaluate_injection_detector
from hone.agents._guard_injection import (
    DEFAULT_INJECTION_RULES,
    HeuristicInjectionDetector,
    InjectionDetector,
    InjectionFinding,
    InjectionGuardrail,
    InjectionRule,
)
from hone.agents._guard_injection_set import INJECTION_EXAMPLES, LabelledText
from hone.agents._guardrails import AgentGuardrails, Guardrails
from hone.agents._handoff import (
    Handoff,
    HandoffTool,
    InputFilter,
    create_handoff_tool,
    keep_last,
    remove_tool_messages,
)
from hone.agents._handoff_agent import AgentRun, HandoffAgentState, create_handoff_agent
from hone.agents._plan_execute import (
    Plan,
    PlanExecuteState,
    Replan,
    StepResult,
    create_plan_and_execute,
)
from hone.agents._reflection import (
    Critique,
    ReflectionState,
    ToolFeedback,
    create_reflection_agent,
)
from hone.agents._roles import roles_of
from hone.agents._solver_judge import (
    JudgePick,
    SolverAnswer,
    SolverJudgeState,
    create_solver_judge,
    solver_role,
)
from hone.agents._supervisor import ContextPolicy, SupervisorState, create_supervisor
from hone.agents._swarm import SwarmState, create_swarm
from hone.agents._tot import Thought, ThoughtScore, TreeState, create_tree_of_thoughts
from hone.agents.middleware._types import AgentState
from hone.graph.prebuilt import create_react_agent

__all__ = [
    "CODEACT_PROMPT",
    "DEFAULT_INJECTION_RULES",
    "INJECTION_EXAMPLES",
    "AgentGuardrails",
    "AgentRun",
    "AgentState",
    "BlackboardState",
    "Board",
    "Budget",
    "BudgetStop",
    "BudgetUsage",
    "CodeActState",
    "ContextPolicy",
    "Coordinator",
    "Critique",
    "DetectionReport",
    "GuardrailContext",
    "GuardrailEvent",
    "GuardrailResult",
    "Guardrails",
    "Handoff",
    "HandoffAgentState",
    "HandoffTool",
    "HeuristicInjectionDetector",
    "InjectionDetector",
    "InjectionFinding",
    "InjectionGuardrail",
    "InjectionRule",
    "InputFilter",
    "InputGuardrail",
    "JudgePick",
    "LabelledText",
    "Mentions",
    "OutputGuardrail",
    "Plan",
    "PlanExecuteState",
    "Post",
    "ReflectionState",
    "Replan",
    "Role",
    "RoleStats",
    "RoundRobin",
    "SolverAnswer",
    "SolverJudgeState",
    "StepResult",
    "StructuredStep",
    "SupervisorState",
    "SwarmState",
    "Thought",
    "ThoughtScore",
    "ToolFeedback",
    "ToolInputGuardrail",
    "ToolOutputGuardrail",
    "TreeState",
    "TurnPolicy",
    "View",
    "create_agent",
    "create_blackboard",
    "create_codeact_agent",
    "create_handoff_agent",
    "create_handoff_tool",
    "create_plan_and_execute",
    "create_react_agent",
    "create_reflection_agent",
    "create_solver_judge",
    "create_supervisor",
    "create_swarm",
    "create_tree_of_thoughts",
    "evaluate_injection_detector",
    "keep_last",
    "remove_tool_messages",
    "role_stats",
    "roles_of",
    "solver_role",
]
