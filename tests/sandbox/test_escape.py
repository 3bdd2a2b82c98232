"""The escape corpus: code that tries to break out, exhaust the machine or read secrets.

Each attempt names the layers that stop it, in the order they act; the first one that
applied on this platform decides what the test expects (a layer's own symptom: EPERM from
seccomp, EACCES from Landlock, a missing file in a mount namespace, a MemoryError from
RLIMIT_AS...). An attempt that no layer here can stop is skipped with the reason, and never
run (some would harm the host). Every attempt runs in its own session, several at a time;
after each, the host checks it goes on: its canary process lives, its secret file is
unchanged, no process of the session's uid is left, and a fresh session still runs code.

Attempts also run under reduced layer sets ("landlock", "bubblewrap"), so a layer that is
usually second in line is tested on its own too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import platform
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from hone.sandbox import (
    ExecResult,
    LayerName,
    Layers,
    Limits,
    ProcessSandbox,
    SandboxConfig,
    SandboxReport,
)

if not sys.platform.startswith("linux"):
    pytest.skip("the process sandbox runs on Linux", allow_module_level=True)

X86_64 = platform.machine() == "x86_64"
SECRET = "hone-escape-secret-7f3a"
LIMITS = Limits(
    timeout=3.0,
    interrupt_grace=0.5,
    cpu_seconds=20,
    memory_bytes=512 << 20,
    file_size_bytes=1 << 20,
    open_files=64,
    processes=24,
    output_chars=2_000,
    message_bytes=1 << 20,
)
VARIANTS: dict[str, Layers] = {
    "all": Layers(),
    "landlock": Layers(bubblewrap=False, seccomp=False),
    "bubblewrap": Layers(landlock=False, seccomp=False),
}


@dataclass(frozen=True)
class Outcome:
    """What happened: the block's result, the report, and what the host saw after."""

    result: ExecResult | None
    report: SandboxReport
    layer: LayerName | None
    leftover: list[int] = field(default_factory=list)
    afterwards: str = ""
    skipped: str = ""

    @property
    def text(self) -> str:
        assert self.result is not None
        return self.result.observation()


Check = Callable[[Outcome], None]


@dataclass(frozen=True)
class Attempt:
    """One escape attempt: its code, and per layer (in the order they act) what it sees."""

    name: str
    code: str
    expect: dict[LayerName, Check]
    variants: tuple[str, ...] = ("all",)
    limits: dict[str, Any] = field(default_factory=dict)
    x86_64_only: bool = False


# -- expectations ------------------------------------------------------------------------


def raises(*names: str, errno_text: str = "") -> Check:
    """The block raised one of ``names`` (with ``errno_text`` in the message)."""

    def check(o: Outcome) -> None:
        assert o.result is not None and o.result.error is not None, o.text
        assert o.result.error.type in names, o.text
        assert errno_text in o.text, o.text
        assert not o.result.ended, o.text

    return check


def prints(*needles: str, absent: tuple[str, ...] = ()) -> Check:
    def check(o: Outcome) -> None:
        assert o.result is not None
        for needle in needles:
            assert needle in o.text, o.text
        for bad in absent:
            assert bad not in o.text, o.text

    return check


def status(expected: str, *, ended: bool | None = None, needle: str = "") -> Check:
    def check(o: Outcome) -> None:
        assert o.result is not None and o.result.status == expected, o.text
        if ended is not None:
            assert o.result.ended is ended, o.text
        assert needle in o.text, o.text

    return check


def both(*checks: Check) -> Check:
    def check(o: Outcome) -> None:
        for each in checks:
            each(o)

    return check


EPERM = raises("PermissionError", errno_text="Operation not permitted")
EACCES = raises("PermissionError", errno_text="Permission denied")
ENOENT = raises("FileNotFoundError")
NO_SECRET = prints(absent=(SECRET,))
SIGNAL_DENIED = raises("PermissionError", "ProcessLookupError")
# Seccomp answers EPERM; ctypes calls print the errno they got.


def _ctypes_eperm(o: Outcome) -> None:
    assert o.text.strip() == "result -1 errno 1", o.text


CTYPES_EPERM: Check = _ctypes_eperm


def ctypes_syscall(number: int, *args: int) -> str:
    """Code calling a raw syscall through ctypes and printing the errno it got."""
    joined = ", ".join(str(a) for a in args)
    return (
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        f"r = libc.syscall({number}{', ' if args else ''}{joined})\n"
        "print('result', r, 'errno', ctypes.get_errno())\n"
    )


FILES = ("all", "landlock", "bubblewrap")

ATTEMPTS = [
    # -- time and processes
    Attempt("infinite_loop", "while True:\n    pass", {"session": status("timeout", ended=False)}),
    Attempt(
        "loop_ignoring_sigint",
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
        {"session": status("timeout", ended=True)},
    ),
    Attempt(
        "loop_swallowing_interrupts",
        "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass",
        {"session": status("timeout", ended=True)},
    ),
    Attempt(
        "sleep_forever",
        "import time\ntime.sleep(3600)",
        {"session": status("timeout", ended=False)},
    ),
    Attempt(
        "cpu_time_limit",
        "while True:\n    pass",
        {"rlimits": status("crashed", ended=True, needle="SIGXCPU")},
        limits={"cpu_seconds": 1, "timeout": 20.0},
    ),
    Attempt(
        "fork_bomb",
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
        {"pid_namespace": status("timeout"), "rlimit_nproc": status("timeout")},
        variants=("all", "landlock"),
    ),
    Attempt(
        "fork_bomb_counted",
        "import os, time\nn = 0\ntry:\n    while True:\n        if os.fork() == 0:\n"
        "            time.sleep(60)\n            os._exit(0)\n        n += 1\n"
        "except OSError as exc:\n    print('stopped after', n, exc.errno)",
        {"rlimit_nproc": prints("stopped after", "11")},
    ),
    Attempt(
        "thread_bomb",
        "import threading, time\nn = 0\ntry:\n    while True:\n"
        "        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
        "        n += 1\nexcept RuntimeError as exc:\n    print('threads', n, exc)",
        {"rlimit_nproc": prints("can't start new thread")},
    ),
    Attempt(
        "setsid_escape",
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(300)\n"
        "    os._exit(0)\nprint('forked')",
        {"pid_namespace": prints("forked"), "uid_drop": prints("forked")},
        variants=("all", "landlock"),
    ),
    # -- memory, files, descriptors, output
    Attempt("memory_bomb", "x = bytearray(10**11)", {"rlimits": raises("MemoryError")}),
    Attempt(
        "memory_bomb_growing",
        "chunks = []\ntry:\n    while True:\n        chunks.append(bytearray(10**7))\n"
        "finally:\n    n = len(chunks)\n    del chunks",
        {"rlimits": raises("MemoryError")},
    ),
    Attempt(
        "memory_bomb_in_child",
        "import subprocess, sys\nr = subprocess.run([sys.executable, '-c', 'x = bytearray(10**11)'],"
        " capture_output=True, text=True)\nprint('exit', r.returncode, r.stderr[-200:])",
        {"rlimits": prints("exit 1", "MemoryError")},
    ),
    Attempt(
        "huge_file",
        "with open('big', 'wb') as f:\n    f.write(b'0' * (4 << 20))",
        {"rlimits": raises("OSError", errno_text="File too large")},
    ),
    Attempt(
        "sparse_huge_file",
        "with open('sparse', 'wb') as f:\n    f.seek(10**9)\n    f.write(b'x')",
        {"rlimits": raises("OSError", errno_text="File too large")},
    ),
    Attempt(
        "descriptor_exhaustion",
        "files = []\nwhile True:\n    files.append(open('/dev/null'))",
        {"rlimits": raises("OSError", errno_text="Too many open files")},
    ),
    Attempt(
        "endless_output",
        "while True:\n    print('x' * 1000)",
        {"output_bounds": both(status("timeout"), prints("characters of output omitted"))},
    ),
    Attempt(
        "one_huge_print",
        "print('y' * 10**7)",
        {"output_bounds": both(status("ok"), prints("characters of output omitted"))},
    ),
    Attempt(
        "protocol_flood",
        "import os\nfor fd in range(3, 12):\n    try:\n        for _ in range(4):\n"
        "            os.write(fd, b'z' * (1 << 19))\n    except OSError:\n        pass",
        {"output_bounds": status("crashed", ended=True, needle="longer than")},
    ),
    Attempt(
        "protocol_garbage",
        "import os\nfor fd in range(3, 12):\n    try:\n        os.write(fd, b'not json\\n')\n"
        "    except OSError:\n        pass",
        {"output_bounds": status("crashed", ended=True, needle="broke the protocol")},
    ),
    Attempt(
        "segfault",
        "import ctypes\nctypes.string_at(0)",
        {"session": status("crashed", ended=True, needle="SIGSEGV")},
    ),
    Attempt(
        "os_exit",
        "import os\nos._exit(7)",
        {"session": status("crashed", ended=True, needle="status 7")},
    ),
    Attempt("sys_exit", "raise SystemExit(3)", {"session": raises("SystemExit")}),
    # -- files
    Attempt(
        "read_shadow",
        "print(open('/etc/shadow').read())",
        {"mount_namespace": ENOENT, "landlock_fs": EACCES, "uid_drop": EACCES},
        variants=FILES,
    ),
    Attempt(
        "read_host_secret_file",
        "print(open({secret_file!r}).read())",
        {"mount_namespace": ENOENT, "landlock_fs": EACCES},
        variants=FILES,
    ),
    Attempt(
        "read_root_home",
        "import os\nprint(os.listdir('/root'))",
        {"landlock_fs": EACCES, "mount_namespace": prints(absent=(".bashrc", ".ssh"))},
        variants=FILES,
    ),
    Attempt(
        "write_outside_scratch",
        "open({outside_file!r}, 'w').write('escaped')",
        # The folder is not mounted: the lookup fails before Landlock is asked.
        {"mount_namespace": ENOENT, "landlock_fs": EACCES},
        variants=FILES,
    ),
    Attempt(
        "write_python_install",
        "import os\nopen(os.__file__, 'a').write('# escaped')",
        {
            "landlock_fs": EACCES,
            "uid_drop": EACCES,
            "mount_namespace": raises("OSError", errno_text="Read-only file system"),
        },
        variants=FILES,
    ),
    Attempt(
        "symlink_to_secret",
        "import os\nos.symlink({secret_file!r}, 'link')\nprint(open('link').read())",
        {"mount_namespace": ENOENT, "landlock_fs": EACCES},
        variants=FILES,
    ),
    Attempt(
        "hardlink_to_secret",
        "import os\nos.link({secret_file!r}, 'hard')\nprint(open('hard').read())",
        {
            "mount_namespace": ENOENT,
            "landlock_fs": raises("PermissionError", "OSError"),
        },
        variants=FILES,
    ),
    Attempt(
        "proc_host_environ",
        "print(open('/proc/{host_pid}/environ').read())",
        {"pid_namespace": ENOENT, "landlock_fs": EACCES, "uid_drop": EACCES},
        variants=FILES,
    ),
    Attempt(
        "proc_host_memory",
        "print(open('/proc/{host_pid}/mem', 'rb').read(16))",
        {"pid_namespace": ENOENT, "landlock_fs": EACCES, "uid_drop": EACCES},
        variants=FILES,
    ),
    Attempt(
        "proc_parent_environ",
        "import os\nprint(open(f'/proc/{{os.getppid()}}/environ').read())",
        {"landlock_fs": EACCES, "uid_drop": EACCES},
        variants=FILES,
    ),
    Attempt(
        "environment_secret",
        "import os\nprint(dict(os.environ))",
        {"environment": both(status("ok"), NO_SECRET)},
    ),
    Attempt(
        "proc_self_environ",
        "print(open('/proc/self/environ').read())",
        {"environment": NO_SECRET},
        variants=FILES,
    ),
    # -- network
    Attempt(
        "tcp_socket",
        "import socket\ns = socket.socket()\ns.connect(('127.0.0.1', {port}))\nprint('connected')",
        {
            "seccomp": EPERM,
            "net_namespace": raises("ConnectionRefusedError", "OSError"),
            "landlock_net": EACCES,
        },
        variants=FILES,
    ),
    Attempt(
        "udp_socket",
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "s.sendto(b'x', ('127.0.0.1', {port}))\nprint('sent')",
        # In its own network namespace the datagram goes to the sandbox's own loopback.
        {"seccomp": EPERM, "net_namespace": prints("sent")},
        variants=("all", "bubblewrap"),
    ),
    Attempt(
        "abstract_unix_socket",
        "import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({abstract!r})\nprint('connected')",
        {
            "seccomp": EPERM,
            "net_namespace": raises("ConnectionRefusedError"),
            "landlock_scope": EPERM,
        },
        variants=FILES,
    ),
    Attempt(
        "raw_socket_syscall",
        ctypes_syscall(41, 2, 1, 0),
        {"seccomp": CTYPES_EPERM},
        x86_64_only=True,
    ),
    Attempt(
        "child_process_socket",
        "import subprocess, sys\nr = subprocess.run([sys.executable, '-c', 'import socket; "
        "socket.socket()'], capture_output=True, text=True)\nprint(r.stderr[-120:])",
        {"seccomp": prints("Operation not permitted")},
    ),
    # -- processes, signals, privileges
    Attempt(
        "kill_host",
        "import os\nos.kill({host_pid}, 0)  # signal 0: the permission check, nothing sent",
        {"pid_namespace": raises("ProcessLookupError"), "landlock_scope": EPERM, "uid_drop": EPERM},
        variants=FILES,
    ),
    Attempt(
        "kill_canary",
        "import os, signal\nos.kill({canary_pid}, signal.SIGKILL)",
        {"pid_namespace": raises("ProcessLookupError"), "landlock_scope": EPERM, "uid_drop": EPERM},
        variants=FILES,
    ),
    Attempt(
        "kill_parent",
        "import os\nos.kill(os.getppid(), 0)  # signal 0: the permission check, nothing sent",
        {"landlock_scope": EPERM, "uid_drop": EPERM},
        variants=("all", "landlock"),
    ),
    Attempt(
        "kill_everything",
        "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept ProcessLookupError:\n"
        "    pass  # nothing it may signal\nprint('sent')",
        # Only where the pid namespace or the uid bounds it: a root worker without them
        # would take the machine down if Landlock's scoping failed.
        {"pid_namespace": prints("sent"), "uid_drop": prints("sent")},
        variants=("all", "bubblewrap"),
    ),
    Attempt(
        "ptrace_parent",
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "r = libc.ptrace(16, os.getppid(), 0, 0)\nprint('result', r, 'errno', ctypes.get_errno())",
        {"seccomp": CTYPES_EPERM},
    ),
    Attempt(
        "process_vm_readv",
        ctypes_syscall(310, 1, 0, 1, 0, 1, 0),
        {"seccomp": CTYPES_EPERM},
        x86_64_only=True,
    ),
    Attempt(
        "unshare_user_namespace",
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "r = libc.unshare(0x10000000)\nprint('result', r, 'errno', ctypes.get_errno())",
        {"seccomp": CTYPES_EPERM},
    ),
    Attempt(
        "mount_tmpfs",
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "r = libc.mount(b'none', b'.', b'tmpfs', 0, None)\nprint('result', r, 'errno', ctypes.get_errno())",
        {"seccomp": CTYPES_EPERM},
    ),
    Attempt(
        "bpf_syscall", ctypes_syscall(321, 0, 0, 0), {"seccomp": CTYPES_EPERM}, x86_64_only=True
    ),
    Attempt(
        "perf_event_open",
        ctypes_syscall(298, 0, 0, -1, -1, 0),
        {"seccomp": CTYPES_EPERM},
        x86_64_only=True,
    ),
    Attempt("keyctl", ctypes_syscall(250, 0, 0), {"seccomp": CTYPES_EPERM}, x86_64_only=True),
    Attempt("io_uring", ctypes_syscall(425, 1, 0), {"seccomp": CTYPES_EPERM}, x86_64_only=True),
    Attempt("become_root", "import os\nos.setuid(0)", {"uid_drop": EPERM}),
    Attempt(
        "setuid_binary",
        "import os, subprocess\nsu = [p for p in ('/usr/bin/su', '/bin/su') if os.path.exists(p)]\n"
        "if su:\n    r = subprocess.run(su + ['-c', 'id'], capture_output=True, text=True,"
        " stdin=subprocess.DEVNULL)\n    print('exit', r.returncode, r.stdout, r.stderr)\n"
        "else:\n    print('exit: no su here', os.getuid())",
        {"no_new_privs": prints("exit", absent=("uid=0",))},
    ),
    # -- Python-level escapes: they reach Popen and ctypes, and the layers still hold
    Attempt(
        "subclass_walk_to_popen",
        "import subprocess\npopen = [c for c in object.__subclasses__() if c.__name__ == 'Popen']"
        " or [subprocess.Popen]\nr = popen[0](['cat', '/etc/shadow', {secret_file!r}], "
        "stdout=subprocess.PIPE, stderr=subprocess.STDOUT)\nprint(r.communicate()[0])",
        {"mount_namespace": NO_SECRET, "landlock_fs": NO_SECRET},
        variants=FILES,
    ),
    Attempt(
        "ctypes_system",
        "import ctypes\nctypes.CDLL(None).system(b'cat /etc/shadow {secret_file}; env')",
        {"mount_namespace": NO_SECRET, "landlock_fs": NO_SECRET},
        variants=FILES,
    ),
]


def _cases() -> Iterator[tuple[Attempt, str]]:
    for attempt in ATTEMPTS:
        for variant in attempt.variants:
            yield attempt, variant


CASES = list(_cases())


# -- running the corpus ------------------------------------------------------------------


@dataclass
class Host:
    """What an attempt may target: the host's pid, a canary process, files, listeners."""

    host_pid: int
    canary: subprocess.Popen[bytes]
    secret_file: str
    outside_file: str
    port: int
    abstract: str
    listener: socket.socket
    abstract_listener: socket.socket

    def values(self) -> dict[str, Any]:
        return {
            "host_pid": self.host_pid,
            "canary_pid": self.canary.pid,
            "secret_file": self.secret_file,
            "outside_file": self.outside_file,
            "port": self.port,
            "abstract": self.abstract,
        }


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    folder = tempfile.mkdtemp(prefix="hone-escape-")
    secret_file = os.path.join(folder, "secret.txt")
    with open(secret_file, "w") as out:
        out.write(SECRET)
    os.chmod(folder, 0o755)
    os.chmod(secret_file, 0o644)  # readable by anyone: only the file system layers stop it
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    abstract = f"\0hone-escape-{os.getpid()}"
    abstract_listener = socket.socket(socket.AF_UNIX)
    abstract_listener.bind(abstract)
    abstract_listener.listen(8)
    abstract_listener.setblocking(False)
    canary = subprocess.Popen(["sleep", "600"])
    os.environ["HONE_ESCAPE_SECRET"] = SECRET
    try:
        yield Host(
            host_pid=os.getpid(),
            canary=canary,
            secret_file=secret_file,
            outside_file=os.path.join(folder, "written.txt"),
            port=listener.getsockname()[1],
            abstract=abstract,
            listener=listener,
            abstract_listener=abstract_listener,
        )
    finally:
        os.environ.pop("HONE_ESCAPE_SECRET", None)
        canary.kill()
        canary.wait()
        listener.close()
        abstract_listener.close()
        for name in os.listdir(folder):
            os.remove(os.path.join(folder, name))
        os.rmdir(folder)


def _layer_for(attempt: Attempt, report: SandboxReport) -> LayerName | None:
    for layer in attempt.expect:
        if report.applied(layer):
            return layer
    return None


def _processes_of(uid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as status:
                    fields = dict(ln.split(":", 1) for ln in status if ":" in ln)
            except OSError:
                continue
            # A zombie is dead already (its parent has not reaped it yet).
            if int(fields["Uid"].split()[0]) == uid and not fields["State"].strip().startswith("Z"):
                found.append(int(entry))
    return found


async def _run(attempt: Attempt, variant: str, host: Host) -> Outcome:
    limits = dataclasses.replace(LIMITS, **attempt.limits)
    config = SandboxConfig(limits=limits, layers=VARIANTS[variant])
    session = await ProcessSandbox(config).astart()
    try:
        report = session.report
        layer = _layer_for(attempt, report)
        if layer is None:
            missing = ", ".join(f"{name} ({report.status(name).detail})" for name in attempt.expect)
            return Outcome(None, report, None, skipped=f"no layer that stops it applied: {missing}")
        result = await session.arun(attempt.code.format(**host.values()))
        if not session.alive:
            await session.arestart()
        after = await session.arun("print('still here')")
        uid = session.uid
    finally:
        await session.aclose()
    leftover = _processes_of(uid) if uid is not None else []
    return Outcome(result, report, layer, leftover=leftover, afterwards=after.output)


@pytest.fixture(scope="module")
def outcomes(host: Host) -> dict[str, Outcome]:
    """Every case's outcome, run four at a time (each in its own session)."""

    async def run_all() -> dict[str, Outcome]:
        gate = asyncio.Semaphore(4)

        async def one(attempt: Attempt, variant: str) -> tuple[str, Outcome]:
            async with gate:
                return f"{attempt.name}[{variant}]", await _run(attempt, variant, host)

        runnable = [(a, v) for a, v in CASES if X86_64 or not a.x86_64_only]
        return dict(await asyncio.gather(*(one(a, v) for a, v in runnable)))

    return asyncio.run(run_all())


def test_the_corpus_is_large_enough() -> None:
    assert len(ATTEMPTS) >= 40
    assert len({a.name for a in ATTEMPTS}) == len(ATTEMPTS)


@pytest.mark.parametrize(("attempt", "variant"), CASES, ids=[f"{a.name}[{v}]" for a, v in CASES])
def test_escape_is_stopped(
    attempt: Attempt, variant: str, outcomes: dict[str, Outcome], host: Host
) -> None:
    if attempt.x86_64_only and not X86_64:
        pytest.skip("a raw syscall number of x86_64")
    outcome = outcomes[f"{attempt.name}[{variant}]"]
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    assert outcome.layer is not None
    attempt.expect[outcome.layer](outcome)
    # The host goes on: its canary lives, nothing it owns was written, nothing is left over,
    # and the session (restarted if it had to be) still runs code.
    assert host.canary.poll() is None, "the canary process was killed"
    assert not os.path.exists(host.outside_file), "a file outside the scratch folder was written"
    with open(host.secret_file) as secret:
        assert secret.read() == SECRET
    assert outcome.leftover == [], f"processes of the session's uid survived: {outcome.leftover}"
    assert outcome.afterwards == "still here\n"
    with pytest.raises(BlockingIOError):
        host.listener.accept()  # nobody connected
