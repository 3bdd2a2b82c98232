"""The layers a worker applies to itself before it reads any code, each reported.

Order matters: resource limits first; then the uid drop (RLIMIT_NPROC counts processes per
uid, and root is exempt); the parent-death signal after it (a uid change clears it); then
no-new-privileges, which Landlock and seccomp need once capabilities are gone; Landlock; and
seccomp last, so the filter does not have to allow what the earlier steps call.

Each step returns a status dict ``{"layer", "applied", "detail"}``; a layer the platform
lacks is reported as not applied and the others still apply. A layer that was asked for and
supported but fails to apply raises: a worker must never run code with less confinement than
its report claims.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import resource
import signal
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["DENIED_SYSCALLS", "NAMESPACE_FLAGS", "confine", "namespace_layers"]

_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38
_PR_GET_NO_NEW_PRIVS = 39
_PR_CAPBSET_DROP = 24
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_CAPABILITY_VERSION_3 = 0x20080522

#: Syscalls the seccomp filter answers with EPERM, and why (also in docs/sandbox.md).
DENIED_SYSCALLS: Mapping[str, str] = {
    "socket": "no network sockets (tools and model calls go through the host)",
    "socketcall": "the multiplexed socket call of 32-bit ABIs",
    "ptrace": "no tracing or memory access of other processes",
    "process_vm_readv": "no reading another process's memory",
    "process_vm_writev": "no writing another process's memory",
    "pidfd_getfd": "no stealing another process's file descriptors",
    "mount": "no file system changes",
    "umount2": "no file system changes",
    "pivot_root": "no file system changes",
    "chroot": "no file system changes",
    "move_mount": "no file system changes",
    "open_tree": "no file system changes",
    "fsopen": "no file system changes",
    "fsmount": "no file system changes",
    "fsconfig": "no file system changes",
    "fspick": "no file system changes",
    "mount_setattr": "no file system changes",
    "unshare": "no new namespaces (a user namespace would give back capabilities)",
    "setns": "no joining other namespaces",
    "bpf": "no kernel programs",
    "perf_event_open": "no performance counters (a classic kernel attack surface)",
    "keyctl": "no kernel keyrings (secrets of other processes)",
    "add_key": "no kernel keyrings",
    "request_key": "no kernel keyrings",
    "userfaultfd": "no page-fault handling (used to win kernel races)",
    "io_uring_setup": "no io_uring (its operations bypass seccomp)",
    "io_uring_enter": "no io_uring",
    "io_uring_register": "no io_uring",
    "kexec_load": "no kernel replacement",
    "kexec_file_load": "no kernel replacement",
    "init_module": "no kernel modules",
    "finit_module": "no kernel modules",
    "delete_module": "no kernel modules",
    "reboot": "no reboot",
    "swapon": "no swap changes",
    "swapoff": "no swap changes",
    "acct": "no process accounting",
    "quotactl": "no quota changes",
    "name_to_handle_at": "no file handles (they bypass path checks)",
    "open_by_handle_at": "no file handles (they bypass path checks)",
}

#: clone(2) flags that create namespaces; clone with any of them is denied like unshare.
NAMESPACE_FLAGS = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}

_RLIMITS = {
    "cpu": resource.RLIMIT_CPU,
    "as": resource.RLIMIT_AS,
    "fsize": resource.RLIMIT_FSIZE,
    "nofile": resource.RLIMIT_NOFILE,
    "core": resource.RLIMIT_CORE,
}


def _status(layer: str, applied: bool, detail: str) -> dict[str, Any]:
    return {"layer": layer, "applied": applied, "detail": detail}


@functools.cache
def _libc() -> ctypes.CDLL:
    # The interpreter's own symbols include libc's (find_library would run ldconfig).
    return ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, value: int) -> int:
    result = int(_libc().prctl(option, value, 0, 0, 0))
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}): {os.strerror(err)}")
    return result


def _rlimits(limits: Mapping[str, int | None]) -> dict[str, Any]:
    # A file past RLIMIT_FSIZE raises SIGXFSZ, which would kill the worker: ignored, the
    # write fails with EFBIG and the code sees an OSError instead.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    done = []
    for name, value in limits.items():
        if name in _RLIMITS and value is not None:
            # CPU: SIGXCPU at the limit (a death the host can name), SIGKILL a second later.
            hard = value + 1 if name == "cpu" else value
            resource.setrlimit(_RLIMITS[name], (value, hard))
            done.append(f"{name}={value}")
    return _status("rlimits", bool(done), ", ".join(done) or "none asked")


def _drop_uid(uid: int | None, gid: int | None) -> dict[str, Any]:
    if uid is None or gid is None:
        if os.geteuid() == 0:
            return _status("uid_drop", False, _drop_capabilities())
        return _status("uid_drop", False, "not asked")
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid):
        raise OSError(errno.EPERM, "the uid drop did not take")
    return _status("uid_drop", True, f"running as uid {uid}, gid {gid}, no groups")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _drop_capabilities() -> str:
    """Give up every capability while staying uid 0 (when the uid cannot be dropped): the
    bounding set, the ambient set, then the effective, permitted and inheritable sets."""
    libc = _libc()
    for cap in range(64):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) < 0:
            break  # EINVAL: past the last capability this kernel knows
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    if libc.capset(ctypes.byref(header), data) < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"capset: {os.strerror(err)}")
    return "all capabilities dropped instead"


def _nproc(limit: int | None, dropped: bool) -> dict[str, Any]:
    if limit is None:
        return _status("rlimit_nproc", False, "not asked")
    resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))
    if os.geteuid() == 0:
        return _status("rlimit_nproc", False, f"set to {limit}, but root is exempt from it")
    scope = "its own uid" if dropped else "the user's processes"
    return _status("rlimit_nproc", True, f"at most {limit} processes and threads ({scope})")


def _pdeathsig(parent_pid: int | None) -> dict[str, Any]:
    _prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
    # The parent may have died between fork and prctl: then nothing would ever signal us.
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)
    return _status("pdeathsig", True, "SIGKILL when the parent dies")


def _no_new_privs() -> dict[str, Any]:
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    if _prctl(_PR_GET_NO_NEW_PRIVS, 0) != 1:
        raise OSError(errno.EPERM, "no_new_privs did not take")
    return _status("no_new_privs", True, "set-uid and file capabilities cannot raise privileges")


def namespace_layers(host: Mapping[str, int] | None) -> list[dict[str, Any]]:
    """Whether this process runs in namespaces other than the host's (compared by inode)."""
    names = {
        "user": "user_namespace",
        "mnt": "mount_namespace",
        "net": "net_namespace",
        "pid": "pid_namespace",
    }
    if host is None:
        return [_status(layer, False, "bubblewrap not used") for layer in names.values()]
    found = []
    for kind, layer in names.items():
        try:
            mine = os.stat(f"/proc/self/ns/{kind}").st_ino
        except OSError as exc:
            found.append(_status(layer, False, f"cannot check: {exc.strerror}"))
            continue
        if mine != host.get(kind):
            found.append(_status(layer, True, "a namespace of its own"))
        elif kind == "user" and host.get("root"):
            detail = "not needed: the host runs as root, so bubblewrap makes the others itself"
            found.append(_status(layer, False, detail))
        else:
            found.append(_status(layer, False, "shares the host's"))
    return found


def _landlock(spec: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    layers = ("landlock_fs", "landlock_net", "landlock_scope")
    if spec is None:
        return [_status(layer, False, "not asked") for layer in layers]
    try:
        import landlockpy  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        why = "the landlockpy package is not installed (pip install 'hone[sandbox]')"
        return [_status(layer, False, why) for layer in layers]
    abi = landlockpy.abi_version()
    if abi < 1:
        why = "the kernel has no Landlock (too old, or not in its LSM list)"
        return [_status(layer, False, why) for layer in layers]
    access = landlockpy.AccessFS
    read = access.READ_FILE | access.READ_DIR | access.EXECUTE
    device = access.READ_FILE | access.WRITE_FILE
    net = landlockpy.net_for_abi(abi) if spec.get("net") else landlockpy.AccessNet.NONE
    scope = landlockpy.scope_for_abi(abi) if spec.get("scope") else landlockpy.Scope.NONE
    # A rule on a file may only grant the rights that apply to files.
    on_file = access.EXECUTE | access.READ_FILE | access.WRITE_FILE | access.TRUNCATE
    rules = [
        *((path, read) for path in _existing(spec.get("read", ()))),
        *((path, device) for path in _existing(spec.get("devices", ()))),
        *((path, landlockpy.fs_for_abi(abi)) for path in _existing(spec.get("write", ()))),
    ]
    with landlockpy.Ruleset(handled_net=net, scoped=scope) as ruleset:
        for path, rights in rules:
            ruleset.allow_path(path, rights if os.path.isdir(path) else rights & on_file)
        ruleset.restrict(no_new_privs=True)
    writable = ", ".join(spec.get("write", ())) or "nothing"
    return [
        _status("landlock_fs", True, f"ABI {abi}: read-only system paths, writable: {writable}"),
        _net_status(abi, bool(spec.get("net")), 4, "no TCP connect or bind"),
        _net_status(abi, bool(spec.get("scope")), 6, "no signals or abstract sockets outside"),
    ]


def _net_status(abi: int, asked: bool, needs: int, what: str) -> dict[str, Any]:
    layer = "landlock_net" if needs == 4 else "landlock_scope"
    if not asked:
        return _status(layer, False, "not asked")
    if abi < needs:
        return _status(layer, False, f"the kernel's Landlock ABI {abi} is older than {needs}")
    return _status(layer, True, f"ABI {abi}: {what}")


def _existing(paths: Sequence[str]) -> list[str]:
    return [p for p in paths if os.path.exists(p)]


def _seccomp(asked: bool) -> dict[str, Any]:
    if not asked:
        return _status("seccomp", False, "not asked")
    try:
        import pyseccomp
    except ImportError:
        why = "the pyseccomp package is not installed (pip install 'hone[sandbox]')"
        return _status("seccomp", False, why)
    except (RuntimeError, OSError) as exc:  # pyseccomp raises when libseccomp is missing
        return _status("seccomp", False, f"libseccomp is not available: {exc}")
    denied = pyseccomp.ERRNO(errno.EPERM)
    seccomp_filter = pyseccomp.SyscallFilter(defaction=pyseccomp.ALLOW)
    names = []
    for name in DENIED_SYSCALLS:
        try:
            seccomp_filter.add_rule(denied, name)
        except (OSError, ValueError):
            continue  # not a syscall of this architecture
        names.append(name)
    for flag in NAMESPACE_FLAGS.values():
        arg = pyseccomp.Arg(0, pyseccomp.MASKED_EQ, flag, flag)
        seccomp_filter.add_rule(denied, "clone", arg)
    # clone3 passes its flags in memory a filter cannot read: ENOSYS makes libc use clone.
    seccomp_filter.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")
    seccomp_filter.load()
    return _status("seccomp", True, f"EPERM for {len(names)} syscalls and namespace clones")


def confine(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Apply every layer ``config`` asks for, in order; the status of each layer."""
    done = [_rlimits(config.get("rlimits") or {})]
    dropped = _drop_uid(config.get("uid"), config.get("gid"))
    done.append(dropped)
    if config.get("cwd"):
        os.chdir(config["cwd"])
        os.environ["PWD"] = config["cwd"]
    done.append(_nproc((config.get("rlimits") or {}).get("nproc"), dropped["applied"]))
    done.append(_pdeathsig(config.get("parent_pid")))
    done.extend(namespace_layers(config.get("namespaces")))
    # Landlock and seccomp need no_new_privs once capabilities are gone: asking for either
    # sets it too.
    if config.get("no_new_privs", True) or config.get("landlock") or config.get("seccomp"):
        done.append(_no_new_privs())
    else:
        done.append(_status("no_new_privs", False, "not asked"))
    done.extend(_landlock(config.get("landlock")))
    done.append(_seccomp(bool(config.get("seccomp"))))
    return done
