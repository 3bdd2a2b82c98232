"""A hand-written 2025-era MCP server over stdio that lists one tool with a malformed input
schema: ``python raw.py missing`` (no schema at all) or ``python raw.py string`` (a root
that is not an object). The tests' malformed server."""

from __future__ import annotations

import json
import sys


def reply(request_id: object, result: object) -> None:
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": request_id, "result": result}) + "\n")
    sys.stdout.flush()


def main() -> None:
    for line in sys.stdin:
        message = json.loads(line)
        method, request_id = message.get("method"), message.get("id")
        if request_id is None:
            continue  # a notification
        if method == "initialize":
            reply(
                request_id,
                {
                    "protocolVersion": message["params"]["protocolVersion"],
                    "capabilities": {"tools": {}},
                    "serverInfo": {"name": "raw", "version": "0"},
                },
            )
        elif method == "tools/list":
            broken: dict[str, object] = {"name": "broken", "description": "Malformed."}
            if sys.argv[1:] == ["string"]:
                broken["inputSchema"] = {"type": "string"}
            ok = {"name": "fine", "description": "Fine.", "inputSchema": {"type": "object"}}
            reply(request_id, {"tools": [ok, broken]})
        else:
            error = {"code": -32601, "message": f"method {method} not found"}
            sys.stdout.write(
                json.dumps({"jsonrpc": "2.0", "id": request_id, "error": error}) + "\n"
            )
            sys.stdout.flush()


if __name__ == "__main__":
    main()
