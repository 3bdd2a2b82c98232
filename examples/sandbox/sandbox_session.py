"""A sandbox session on its own: what confines it, host functions, and contained escapes.

Run it with ``python examples/sandbox/sandbox_session.py``. It prints the layers that apply
on this machine (and why the others do not), runs code that calls a host function, then
tries a few escapes and shows how each came back: as a value, with the host still running.
"""

from __future__ import annotations

from hone.sandbox import Limits, ProcessSandbox, SandboxConfig

ATTEMPTS = {
    "read a secret file": "print(open('/etc/shadow').read())",
    "open a socket": "import socket\nsocket.socket().connect(('127.0.0.1', 5432))",
    "loop forever": "while True:\n    pass",
    "allocate 100 GB": "x = bytearray(100 * 10**9)",
    "kill the parent": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",
}


def shout(text: str) -> str:
    """Runs on the host: the code in the sandbox calls it like a local function."""
    return text.upper() + "!"


def main() -> None:
    config = SandboxConfig(limits=Limits(timeout=2.0, memory_bytes=1 << 30))
    with ProcessSandbox(config).start([shout]) as session:
        print(session.report.summary())
        print("\n--- host function:", session.run("shout('hello from the sandbox')").output.strip())
        for what, code in ATTEMPTS.items():
            result = session.run(code)
            last = result.observation().splitlines()[-1]
            print(f"--- {what}: {result.status}: {last}")
            if result.ended:
                session.restart()
        print("--- still running:", session.run("print('yes')").output.strip())


if __name__ == "__main__":
    main()
