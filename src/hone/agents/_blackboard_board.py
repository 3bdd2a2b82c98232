"""The blackboard's shared context as data, what each role sees of it, and who speaks next.

* :class:`Post` — one role's turn on the board (its text, and what it did: tools, artifacts,
  tokens); the posts are the board's messages and the per-role log at once.
* :class:`Board` — a read-only snapshot (request, plan, artifacts, posts) that views and
  turn-taking policies read.
* :class:`View` — what one role sees of the board (whose posts, how many, which artifacts).
* Turn-taking: :class:`RoundRobin`, :class:`Mentions` (``@role`` in the last post), and
  :class:`Coordinator` (a model picks the next role or ``DONE``, with a structured reply that
  is checked and retried; its calls carry the role ``coordinator``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from hone.agent._scope import get_model
from hone.agent._structured import StructuredStep
from hone.errors import ConfigError
from hone.graph._model_stream import astream_model
from hone.interop import resolve_model
from hone.messages import AnyMessage, UserMessage
from hone.models._protocol import ModelBackend

if TYPE_CHECKING:
    from hone.interop._model import ModelLike

__all__ = [
    "COORDINATOR_PROMPT",
    "DONE",
    "Board",
    "Coordinator",
    "Mentions",
    "Post",
    "RoundRobin",
    "TurnPolicy",
    "View",
    "mentions_in",
    "render_board",
]

#: The word that ends the work: in a post (on a line of its own or as its last word), or as
#: the coordinator's choice.
DONE = "DONE"

#: The coordinator's default system prompt; ``{roles}`` lists the roles.
COORDINATOR_PROMPT = (
    "You coordinate a team working on a shared board. The roles are: {roles}. Read the "
    "board and choose who should act next, or DONE when the request is fully answered. "
    'Reply with only JSON: {{"next": "<role or DONE>"}}.'
)

_MENTION = re.compile(r"@([A-Za-z0-9_-]+)")


@dataclass(frozen=True, slots=True)
class Post:
    """One role's turn on the board.

    Attributes:
        role: who posted.
        round: the round it was posted in (1-based).
        content: the role's reply.
        mentions: roles it mentioned with ``@role``.
        done: whether it declared the work done.
        tool_calls: tool calls it ran.
        tool_errors: those that failed.
        tokens: tokens its model calls used.
        seconds: how long the turn took.
        artifacts: artifacts it wrote.
        plan_updated: whether it replaced the plan.
    """

    role: str
    round: int
    content: str
    mentions: tuple[str, ...] = ()
    done: bool = False
    tool_calls: int = 0
    tool_errors: int = 0
    tokens: int = 0
    seconds: float = 0.0
    artifacts: tuple[str, ...] = ()
    plan_updated: bool = False


@dataclass(frozen=True, slots=True)
class Board:
    """A snapshot of the shared context.

    Attributes:
        request: what the team works on.
        plan: the current plan's steps.
        artifacts: named artifacts (name -> content).
        posts: every post so far, in order.
        roles: the roles, in turn order.
    """

    request: str
    plan: tuple[str, ...] = ()
    artifacts: Mapping[str, str] = field(default_factory=dict)
    posts: tuple[Post, ...] = ()
    roles: tuple[str, ...] = ()


def mentions_in(text: str, roles: Sequence[str]) -> tuple[str, ...]:
    """The roles ``@mentioned`` in ``text``, in order of first mention (unknown names are
    not mentions)."""
    known = set(roles)
    return tuple(dict.fromkeys(m for m in _MENTION.findall(text) if m in known))


@dataclass(frozen=True, slots=True)
class View:
    """What a role sees of the board.

    Attributes:
        posts_from: the roles whose posts it sees (None: every role's).
        last_posts: how many of the newest posts it sees (None: all).
        artifacts: the artifacts it sees (None: all).
        plan: whether it sees the plan.

    Raises:
        ConfigError: ``last_posts`` below 0.
    """

    posts_from: tuple[str, ...] | None = None
    last_posts: int | None = 8
    artifacts: tuple[str, ...] | None = None
    plan: bool = True

    def __post_init__(self) -> None:
        if self.last_posts is not None and self.last_posts < 0:
            raise ConfigError(f"View.last_posts must be >= 0 or None, got {self.last_posts}")

    def posts(self, board: Board) -> list[Post]:
        """The posts this view shows."""
        shown = [p for p in board.posts if self.posts_from is None or p.role in self.posts_from]
        if self.last_posts is not None:
            shown = shown[len(shown) - self.last_posts :] if self.last_posts else []
        return shown


def render_board(board: Board, view: View | None = None) -> str:
    """The board as text, as ``view`` shows it (everything when None)."""
    shown = view or View(last_posts=None)
    parts = [f"Request:\n{board.request}"]
    if shown.plan:
        steps = [f"{i}. {s}" for i, s in enumerate(board.plan, 1)]
        parts.append("Plan:\n" + ("\n".join(steps) if steps else "(none yet)"))
    names = [n for n in board.artifacts if shown.artifacts is None or n in shown.artifacts]
    if names:
        parts.append("Artifacts:\n" + "\n".join(f"## {n}\n{board.artifacts[n]}" for n in names))
    else:
        parts.append("Artifacts:\n(none yet)")
    posts = shown.posts(board)
    lines = [f"[{p.role}, round {p.round}] {p.content}" for p in posts]
    parts.append("Posts:\n" + ("\n".join(lines) if lines else "(none yet)"))
    return "\n\n".join(parts)


@runtime_checkable
class TurnPolicy(Protocol):
    """Who acts next on the board."""

    async def choose(self, board: Board) -> str:
        """The next role, or :data:`DONE` to end the work."""
        ...


@dataclass(frozen=True, slots=True)
class RoundRobin:
    """Every role in turn, in the order given."""

    async def choose(self, board: Board) -> str:
        """The role after the last poster (the first role to begin)."""
        return _after(board, board.posts[-1].role if board.posts else None)


def _after(board: Board, role: str | None) -> str:
    if role is None or role not in board.roles:
        return board.roles[0]
    return board.roles[(board.roles.index(role) + 1) % len(board.roles)]


@dataclass(frozen=True, slots=True)
class Mentions:
    """The first role ``@mentioned`` in the last post (not its poster) acts next; without a
    mention, the next role in turn order."""

    async def choose(self, board: Board) -> str:
        """The mentioned role, else the round-robin choice."""
        if not board.posts:
            return board.roles[0]
        last = board.posts[-1]
        for role in last.mentions:
            if role != last.role:
                return role
        return _after(board, last.role)


@dataclass(frozen=True)
class Coordinator:
    """A model picks who acts next (or :data:`DONE`), with a structured reply: a reply that
    is not JSON, or names no role, is shown its problem and retried (``max_attempts``);
    when no attempt fits, the next role in turn order acts. Its calls carry the role
    ``name``.

    Attributes:
        model: its model: a backend, spec string or LangChain chat model (None: the
            blackboard's model).
        name: its role name.
        prompt: its system prompt (``{roles}`` lists the roles).
        max_attempts: model calls per choice at most.
    """

    model: ModelLike | None = None
    name: str = "coordinator"
    prompt: str = COORDINATOR_PROMPT
    max_attempts: int = 3
    _backend: ModelBackend | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError(f"Coordinator.max_attempts must be >= 1, got {self.max_attempts}")
        backend = None if self.model is None else resolve_model(self.model)
        object.__setattr__(self, "_backend", backend)

    async def choose(self, board: Board) -> str:
        """Ask the model; fall back to turn order when no reply fits."""
        options = [*board.roles, DONE]
        schema = {
            "title": "next_role",
            "type": "object",
            "properties": {"next": {"type": "string", "enum": options}},
            "required": ["next"],
            "additionalProperties": False,
        }

        def check(value: Any) -> str | None:
            chosen = value.get("next") if isinstance(value, Mapping) else None
            if chosen in options:
                return None
            return f"{chosen!r} is not a role; choose one of: {', '.join(options)}."

        step = StructuredStep(
            schema,
            system=self.prompt.format(roles=", ".join(board.roles)),
            max_attempts=self.max_attempts,
            check=check,
        )
        turn = await step.arun(
            get_model(self.name, default=self._backend),
            self.messages(board),
            complete=astream_model,
        )
        if turn.ok and isinstance(turn.value, Mapping):
            return str(turn.value["next"])
        return _after(board, board.posts[-1].role if board.posts else None)

    def messages(self, board: Board) -> list[AnyMessage]:
        """What the coordinator reads: the whole board."""
        ask = "Who should act next? Reply with JSON naming a role, or DONE."
        return [UserMessage(content=f"{render_board(board)}\n\n{ask}")]
