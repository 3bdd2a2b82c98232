"""Score the gateway's sessions later, as a separate job would (plain HTTP, no hone).

It reads each unscored session's conversation from the gateway, checks the answer against the
number the user asked for, and posts the reward; the gateway turns each scored session into a
training episode::

    python examples/gateway/score.py --gateway http://127.0.0.1:8011

Without ``--gateway`` it only says how to run it.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import Any

import httpx

_ASKED = re.compile(r"\d+")


def judge(session: dict[str, Any]) -> tuple[int, float] | None:
    """The number the user asked for and the reward: 1.0 for exactly that number, else 0.0;
    None for a conversation that is not this task (no single number in its request)."""
    first = next((m for m in session["messages"] if m.get("role") == "user"), None)
    asked = _ASKED.findall(str(first.get("content", ""))) if first else []
    if len(asked) != 1:
        return None
    n = int(asked[0])
    return n, float(str(session["output"]).strip() == str(n))


def main(argv: Sequence[str] | None = None) -> int:
    """Score every unscored session (whose id starts with ``--prefix``, when given)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateway", help="the gateway's root URL, e.g. http://127.0.0.1:8011")
    parser.add_argument("--prefix", default="", help="only sessions whose id starts with this")
    parser.add_argument("--api-key", default="none")
    args = parser.parse_args(argv)
    if not args.gateway:
        print("score.py scores a running gateway's sessions: pass --gateway URL")
        return 0
    headers = {"Authorization": f"Bearer {args.api_key}"}
    rewards: list[float] = []
    with httpx.Client(base_url=args.gateway.rstrip("/"), headers=headers, timeout=60) as http:
        listed = http.get("/sessions", params={"rewarded": "false"})
        listed.raise_for_status()
        for summary in listed.json()["data"]:
            if not summary["id"].startswith(args.prefix):
                continue
            session = http.get(f"/sessions/{summary['id']}").json()
            judged = judge(session)
            if judged is None:
                continue
            n, reward = judged
            body = {"reward": reward, "task_id": f"n{n}", "task": {"n": n}}
            http.post(f"/sessions/{summary['id']}/reward", json=body).raise_for_status()
            rewards.append(reward)
    rate = sum(rewards) / len(rewards) if rewards else 0.0
    print(f"scored {len(rewards)} sessions: success {rate:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
