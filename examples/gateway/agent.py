"""An agent written with the plain `openai` SDK (no hone), as it would serve users.

Users ask it to say a number, in one of several phrasings; it passes the request to its model
and returns the reply. It knows nothing about training: pointed at a hone gateway, each
conversation gets its own session base URL (``<gateway>/sessions/<id>/v1``), and the gateway
records every call::

    hone gateway hf:examples/gateway/runs/base/model --name policy \\
        --db examples/gateway/runs/gateway.db --port 8011 &
    python examples/gateway/agent.py --gateway http://127.0.0.1:8011 --samples 4

Without ``--gateway`` it only says how to run it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from openai import OpenAI

#: How users ask. The first six are the production traffic; the last two are held out.
PHRASINGS = (
    "Say the number {n}.",
    "Please say {n}.",
    "Reply with the number {n}.",
    "What number is {n}?",
    "Tell me {n}.",
    "Can you say {n}?",
    "Write the number {n}.",
    "Repeat this number: {n}",
)
TRAIN_PHRASINGS = tuple(range(6))
HELD_OUT_PHRASINGS = (6, 7)


def ask(client: OpenAI, model: str, request: str, *, temperature: float) -> str:
    """One conversation: the user's request, the model's reply."""
    reply = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": request}],
        temperature=temperature,
        max_tokens=8,
    )
    return (reply.choices[0].message.content or "").strip()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the agent on every number 0-9 in each chosen phrasing, ``--samples`` times, one
    session per conversation."""
    parser = argparse.ArgumentParser(description="a plain-openai agent behind a hone gateway")
    parser.add_argument("--gateway", help="the gateway's root URL, e.g. http://127.0.0.1:8011")
    parser.add_argument(
        "--phrasings", choices=("train", "held-out"), default="train", help="which requests"
    )
    parser.add_argument("--samples", type=int, default=1, help="conversations per request")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--prefix", default="s", help="session ids are <prefix>-p<P>-n<N>-<k>")
    parser.add_argument("--model", default="policy", help="the model id the gateway serves")
    parser.add_argument("--api-key", default="none")
    parser.add_argument("--workers", type=int, default=8, help="conversations at once")
    args = parser.parse_args(argv)
    if not args.gateway:
        print("agent.py talks to a running gateway: pass --gateway URL (see docs/gateway.md)")
        return 0
    phrasings = TRAIN_PHRASINGS if args.phrasings == "train" else HELD_OUT_PHRASINGS
    jobs = [(p, n, k) for p in phrasings for n in range(10) for k in range(args.samples)]

    def conversation(job: tuple[int, int, int]) -> str:
        p, n, k = job
        session = f"{args.prefix}-p{p}-n{n}-{k}"
        base_url = f"{args.gateway.rstrip('/')}/sessions/{session}/v1"
        client = OpenAI(base_url=base_url, api_key=args.api_key)
        request = PHRASINGS[p].format(n=n)
        return ask(client, args.model, request, temperature=args.temperature)

    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        answers = list(pool.map(conversation, jobs))
    digits = sum(answer.isdigit() for answer in answers)
    print(f"{len(answers)} conversations through the gateway; {digits} replies were a number")
    return 0


if __name__ == "__main__":
    sys.exit(main())
