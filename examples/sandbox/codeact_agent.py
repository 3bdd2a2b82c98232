"""A CodeAct agent, offline: a scripted coder writes Python that calls a tool in a sandbox.

Run it with ``python examples/sandbox/codeact_agent.py``. The scripted replies stand in for a
real model (give ``create_codeact_agent`` a spec string such as ``"openai:gpt-4.1"`` instead):
the first block calls the ``population`` tool from the code and keeps the numbers in a
variable, the second (same session) computes from that variable and ends the run with
``final_answer``.
"""

from __future__ import annotations

from hone.agents import create_codeact_agent
from hone.models import ScriptedModel
from hone.tools import tool

POPULATIONS = {"Lyon": 522_000, "Lille": 236_000, "Nantes": 320_000}


@tool
def population(city: str) -> int:
    """The number of people living in a French city.

    Args:
        city: The city's name.
    """
    if city not in POPULATIONS:
        raise ValueError(f"unknown city {city!r}; known: {', '.join(POPULATIONS)}")
    return POPULATIONS[city]


CODER = ScriptedModel(
    [
        "I will look the cities up.\n```python\n"
        "cities = ['Lyon', 'Lille', 'Nantes']\n"
        "sizes = {city: population(city) for city in cities}\n"
        "print(sizes)\n```",
        "```python\nbiggest = max(sizes, key=sizes.get)\n"
        "print(biggest, sizes[biggest] - min(sizes.values()))\n"
        "final_answer(f'{biggest}, by {sizes[biggest] - min(sizes.values()):,} people')\n```",
    ]
)


def main() -> None:
    agent = create_codeact_agent(CODER, [population])
    result = agent.invoke({"messages": [("user", "Which is biggest: Lyon, Lille or Nantes?")]})
    for message in result["messages"][1:]:
        who = "sandbox" if message.name == "sandbox" else message.role
        print(f"--- {who}\n{message.text}")
    print(f"=== answer: {result['answer']}")


if __name__ == "__main__":
    main()
