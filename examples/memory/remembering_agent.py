"""An agent with both kinds of memory, offline.

Long-term: a SQLite store (semantic search with the default hashing embedder) holds what the
agent learned about the user; a `remember` tool writes to it and a `recall` tool searches it,
so facts survive across conversations (threads). Short-term: a `pre_model_hook` trims what
the model sees each turn to a token budget, in whole turns, while the thread keeps its whole
history. A scripted model plays the agent, so the run is deterministic.

    python examples/memory/remembering_agent.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hone.checkpoint import InMemorySaver
from hone.graph import get_store
from hone.graph.prebuilt import create_react_agent
from hone.memory import trim_messages
from hone.models import ScriptedModel
from hone.store import SqliteStore
from hone.tools import tool

USER = ("users", "ada", "memories")


@tool
def remember(key: str, fact: str) -> str:
    """Store a fact about the user for later conversations."""
    get_store().put(USER, key, {"fact": fact})
    return f"remembered {key}"


@tool
def recall(question: str) -> str:
    """Search what is known about the user."""
    hits = get_store().search(USER, query=question, limit=2)
    return "; ".join(f"{h.value['fact']} (score {h.score:.2f})" for h in hits) or "nothing"


def call(name: str, **arguments: str) -> str:
    args = ", ".join(f'"{k}": "{v}"' for k, v in arguments.items())
    return f'<tool_call>{{"name": "{name}", "arguments": {{{args}}}}}</tool_call>'


def trim_hook(state: dict) -> dict:
    """What the model sees: the newest whole turns within 300 tokens."""
    return {"llm_input_messages": trim_messages(state["messages"], max_tokens=300)}


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="hone-memory-"))
    store = SqliteStore(folder / "memory.db", index={"dims": 256, "fields": ["fact"]})
    model = ScriptedModel(
        [
            call("remember", key="drink", fact="Ada drinks green tea every morning"),
            call("remember", key="allergy", fact="Ada is allergic to peanuts"),
            "Noted: green tea, and no peanuts.",
            call("recall", question="what does Ada drink in the morning"),
            "You drink green tea in the morning.",
        ]
    )
    agent = create_react_agent(
        model,
        [remember, recall],
        pre_model_hook=trim_hook,
        checkpointer=InMemorySaver(),
        store=store,
    )
    first = agent.invoke(
        {"messages": [("user", "I drink green tea every morning and I'm allergic to peanuts.")]},
        {"configurable": {"thread_id": "monday"}},
    )
    print("monday:", first["messages"][-1].content)

    # A new thread: no shared history, but the store remembers.
    second = agent.invoke(
        {"messages": [("user", "What do I usually drink in the morning?")]},
        {"configurable": {"thread_id": "friday"}},
    )
    recall_result = next(m for m in second["messages"] if m.role == "tool")
    print("recall found:", recall_result.content)
    print("friday:", second["messages"][-1].content)
    print("stored facts:", [item.key for item in store.search(USER)])
    store.close()


if __name__ == "__main__":
    main()
