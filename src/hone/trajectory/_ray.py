"""Rollouts in Ray actors: :class:`RayExecutor`.

Each actor is a CPU process that holds the rollout job (the agent program and its model: an
:class:`~hone.models.OpenAICompatibleModel` pointing at ``hone serve`` or vLLM) and runs
rollouts with the in-process :class:`~hone.trajectory.LocalExecutor`, many at once on its
event loop; it sends back serialised episodes (:meth:`Episode.to_dict`). Generation happens on
the model servers, so an actor needs no GPU, and weights never travel through Ray: a job that
holds a torch module or tensor is refused (publish new weights to the server instead).

The job is pickled once per batch with Ray's cloudpickle (code from modules a worker cannot
import, such as a training config's folder or a test file, goes by value) and put in Ray's
object store; a worker loads it once. A worker that dies under a rollout (killed, out of
memory, ``os._exit``) makes that rollout a failed episode (``status="error"``), the actor is
replaced, and the batch goes on.

The driver keeps at most ``actor_concurrency`` rollouts in flight per actor, so a dying worker
takes down only the rollouts it was running.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import io
import logging
import os
import site
import sys
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType, TracebackType
from typing import Any, Literal

from hone.errors import ConfigError
from hone.trajectory._executor import RolloutJob, RolloutRequest, failed_episodes
from hone.trajectory._local import LocalExecutor
from hone.trajectory._schema import Episode, task_id_of

__all__ = ["RayExecutor"]

logger = logging.getLogger(__name__)

_INSTALL = "RayExecutor needs Ray: pip install 'hone[ray]'"
#: How long ``start`` waits for the actors to come up.
_START_TIMEOUT_S = 120.0


def _ray() -> Any:
    """The ``ray`` module (an optional dependency, imported when an executor starts)."""
    try:
        return importlib.import_module("ray")
    except ImportError as exc:
        raise ConfigError(_INSTALL) from exc


def _cloudpickle() -> Any:
    return importlib.import_module("ray.cloudpickle")


class _WeightsFound(Exception):
    def __init__(self, obj: object) -> None:
        super().__init__(type(obj).__name__)
        self.kind = type(obj).__name__


def _guarded_pickler(cloudpickle: Any) -> Any:
    """A cloudpickle pickler that refuses torch modules and tensors (model weights)."""

    class Guarded(cloudpickle.Pickler):  # type: ignore[misc]
        def reducer_override(self, obj: Any) -> Any:
            torch = sys.modules.get("torch")
            if torch is not None and isinstance(obj, torch.nn.Module | torch.Tensor):
                raise _WeightsFound(obj)
            return super().reducer_override(obj)

    return Guarded


def _installed_roots() -> tuple[str, ...]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages()}
    roots.add(site.getusersitepackages())
    return tuple(os.path.realpath(root) + os.sep for root in roots)


#: Whether a module file lies outside the Python installation, by path (realpath is slow).
_OUTSIDE: dict[str, bool] = {}


def _outside(file: Any, roots: tuple[str, ...]) -> bool | None:
    """Whether ``file`` lies outside ``roots``; None when it names no file."""
    if not isinstance(file, str) or not os.path.isabs(file):
        return None
    if file not in _OUTSIDE:
        _OUTSIDE[file] = not os.path.realpath(file).startswith(roots)
    return _OUTSIDE[file]


def _user_modules(names: Sequence[str] | None) -> list[str]:
    """Modules whose code a worker may not be able to import, so it goes by value: modules
    loaded from files by path (``path/to/file.py:name``), and, unless ``names`` are given,
    every module outside the Python installation and outside hone (a config's folder, a test
    file, a script's neighbours). A package decides for its submodules."""
    roots = _installed_roots()
    out = list(names or ())
    for name, module in list(sys.modules.items()):
        if not isinstance(module, ModuleType) or name == "__main__":
            continue
        if name.startswith("_hone_file_"):
            out.append(name)
            continue
        top = name.partition(".")[0]
        if names is not None or top == "hone":
            continue
        package = _outside(getattr(sys.modules.get(top), "__file__", None), roots)
        own = package if package is not None else _outside(getattr(module, "__file__", None), roots)
        if own:
            out.append(name)
    return out


@contextlib.contextmanager
def _by_value(cloudpickle: Any, names: Sequence[str]) -> Iterator[None]:
    already = set(cloudpickle.list_registry_pickle_by_value())
    registered = []
    for name in dict.fromkeys(names):
        module = sys.modules.get(name)
        if module is None:
            raise ConfigError(f"by_value names {name!r}, which is not imported; import it first")
        if name not in already:
            cloudpickle.register_pickle_by_value(module)
            registered.append(module)
    try:
        yield
    finally:
        for module in registered:
            cloudpickle.unregister_pickle_by_value(module)


def _describe(obj: Any) -> str:
    name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return f"{getattr(obj, '__module__', '?')}:{name}"


def dumps(obj: Any, *, what: str, by_value: Sequence[str] = ()) -> bytes:
    """``obj`` pickled for a Ray worker.

    Raises:
        ConfigError: ``obj`` holds model weights, or does not pickle; the message names
            ``what`` and the reason.
    """
    cloudpickle = _cloudpickle()
    buffer = io.BytesIO()
    with _by_value(cloudpickle, by_value):
        try:
            _guarded_pickler(cloudpickle)(buffer, protocol=5).dump(obj)
        except _WeightsFound as exc:
            raise ConfigError(
                f"{what} holds a torch {exc.kind}: model weights never travel through Ray. "
                "Give the rollouts a model that talks to a server (OpenAICompatibleModel "
                "pointing at `hone serve` or vLLM) and publish new weights to that server."
            ) from None
        except Exception as exc:
            raise ConfigError(
                f"{what} cannot be sent to Ray workers: it does not pickle "
                f"({type(exc).__name__}: {exc}). Keep locks, open files, clients and event "
                "loops out of it (create them inside the program), or run it in-process."
            ) from exc
    return buffer.getvalue()


class RolloutWorker:
    """The Ray actor (``ray.remote(RolloutWorker)``): loads a job once, runs its rollouts."""

    def __init__(self) -> None:
        self._digest: str | None = None
        self._job: RolloutJob | None = None
        self._local = LocalExecutor()

    def ready(self) -> int:
        """This worker's process id, once it is up."""
        return os.getpid()

    async def run(self, digest: str, job: list[Any], request: bytes) -> tuple[str, Any]:
        """``("ok", [episode dicts])`` or ``("misuse", why)`` for one rollout request."""
        cloudpickle = _cloudpickle()
        if self._digest != digest or self._job is None:
            try:
                loaded = cloudpickle.loads(await job[0])
            except Exception as exc:
                return "misuse", (
                    f"the rollout job cannot be loaded in a Ray worker ({type(exc).__name__}: "
                    f"{exc}); make its modules importable there (RayExecutor(runtime_env=...)) "
                    "or send them by value (by_value=[...])"
                )
            self._digest, self._job = digest, loaded
        try:
            (episodes,) = await self._local.run(self._job, [cloudpickle.loads(request)])
        except Exception as exc:  # misuse the local run raises (roles that do not fit, ...)
            return "misuse", f"{type(exc).__name__}: {exc}"
        return "ok", [episode.to_dict() for episode in episodes]


@dataclass(slots=True)
class _Slot:
    actor: Any
    generation: int = 0


@dataclass(frozen=True, slots=True)
class _Shipped:
    job: RolloutJob
    digest: str
    ref: Any
    #: The modules sent by value (tasks are pickled with the same).
    by_value: tuple[str, ...] = ()


class RayExecutor:
    """Runs rollouts in Ray actors (see the module docs); a
    :class:`~hone.trajectory.RolloutExecutor`.

    Args:
        address: the Ray cluster to join: ``"auto"`` (the cluster this machine belongs to,
            ``ray start`` or ``RAY_ADDRESS``), ``"ray://host:10001"``; None starts a local Ray
            (``num_cpus`` CPUs, no dashboard, worker logs not forwarded). A Ray already
            initialised in this process is used as it is.
        actors: how many actors run rollouts.
        actor_concurrency: rollouts in flight per actor (they mostly wait on the model server).
        actor_cpus: CPUs Ray reserves for each actor.
        num_cpus: CPUs of a local start.
        runtime_env: Ray's runtime environment for the actors (``working_dir``, ``py_modules``,
            ``pip``, ``env_vars``): how a cluster's workers get your code.
        by_value: modules whose code is pickled into the job instead of imported by the
            workers; None: every imported module outside the Python installation and hone.

    Raises:
        ConfigError: a count below 1.
    """

    def __init__(
        self,
        *,
        address: str | None = None,
        actors: int = 2,
        actor_concurrency: int = 8,
        actor_cpus: float = 1.0,
        num_cpus: int = 2,
        runtime_env: Mapping[str, Any] | None = None,
        by_value: Sequence[str] | None = None,
    ) -> None:
        for name, value in (
            ("actors", actors),
            ("actor_concurrency", actor_concurrency),
            ("num_cpus", num_cpus),
        ):
            if value < 1:
                raise ConfigError(f"RayExecutor {name} must be at least 1, got {value}")
        if actor_cpus < 0:
            raise ConfigError(f"RayExecutor actor_cpus must be >= 0, got {actor_cpus}")
        self.address = address
        self.actors = actors
        self.actor_concurrency = actor_concurrency
        self.actor_cpus = actor_cpus
        self.num_cpus = num_cpus
        self.runtime_env = dict(runtime_env) if runtime_env is not None else None
        self.by_value = None if by_value is None else list(by_value)
        self._slots: list[_Slot] = []
        self._owns_ray = False
        self._shipped: _Shipped | None = None
        self._free: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Queue[int]] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def started(self) -> bool:
        """Whether the actors are up."""
        return bool(self._slots)

    def start(self) -> None:
        """Connect to (or start) Ray and start the actors; ``run`` does it when needed.

        Raises:
            ConfigError: Ray is not installed, cannot be started or reached, or the cluster
                has fewer CPUs than the actors ask for.
        """
        if self._slots:
            return
        ray = _ray()
        if not ray.is_initialized():
            self._init(ray)
        have = float(ray.cluster_resources().get("CPU", 0.0))
        if self.actors * self.actor_cpus > have:
            raise ConfigError(
                f"RayExecutor asks for {self.actors} actors x {self.actor_cpus} CPUs, but the "
                f"Ray cluster has {have:g} CPUs; lower actors or actor_cpus"
            )
        self._slots = [_Slot(self._new_actor(ray)) for _ in range(self.actors)]
        ray.get([slot.actor.ready.remote() for slot in self._slots], timeout=_START_TIMEOUT_S)
        logger.info("RayExecutor: %d actors up", len(self._slots))

    def _init(self, ray: Any) -> None:
        try:
            if self.address is not None:
                ray.init(address=self.address, runtime_env=self.runtime_env)
            else:
                ray.init(
                    num_cpus=self.num_cpus,
                    include_dashboard=False,
                    log_to_driver=False,
                    runtime_env=self.runtime_env,
                )
        except Exception as exc:
            where = f"the Ray cluster at {self.address!r}" if self.address else "a local Ray"
            raise ConfigError(
                f"RayExecutor cannot start {where}: {type(exc).__name__}: {exc}"
            ) from exc
        self._owns_ray = True

    def _new_actor(self, ray: Any) -> Any:
        cls = ray.remote(RolloutWorker)
        options: dict[str, Any] = {"num_cpus": self.actor_cpus, "max_restarts": 0}
        if self.runtime_env is not None:
            options["runtime_env"] = self.runtime_env
        return cls.options(**options).remote()

    def close(self) -> None:
        """Stop the actors, and Ray when this executor started it."""
        if not self._slots and not self._owns_ray:
            return
        ray = _ray()
        for slot in self._slots:
            with contextlib.suppress(Exception):
                ray.kill(slot.actor)
        self._slots, self._shipped = [], None
        self._free = weakref.WeakKeyDictionary()
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False

    def __enter__(self) -> RayExecutor:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> Literal[False]:
        self.close()
        return False

    async def run(self, job: RolloutJob, requests: Sequence[RolloutRequest]) -> list[list[Episode]]:
        """Run every request in the actors; one list of unscored episodes per request.

        Raises:
            ConfigError: the job holds weights, does not pickle, or cannot be loaded in a
                worker; the message says which part and why.
        """
        self.start()
        shipped = self._ship(job)
        return list(await asyncio.gather(*(self._one(shipped, r) for r in requests)))

    def _ship(self, job: RolloutJob) -> _Shipped:
        """The job in the object store, pickled once per job object (again only when its
        bytes changed: a model now serving a newer policy, say)."""
        if self._shipped is not None and self._shipped.job is job:
            return self._shipped
        names = _user_modules(self.by_value)
        try:
            blob = dumps(job, what="the rollout job", by_value=names)
        except ConfigError:
            # Name the part that fails: the program or the model.
            dumps(job.program, what=f"the rollout program {_describe(job.program)}", by_value=names)
            dumps(job.model, what=f"the rollout model {_describe(job.model)}", by_value=names)
            raise
        digest = hashlib.sha256(blob).hexdigest()
        if self._shipped is not None and self._shipped.digest == digest:
            ref = self._shipped.ref
        else:
            ref = _ray().put(blob)
        self._shipped = _Shipped(job, digest, ref, tuple(names))
        return self._shipped

    def _queue(self) -> asyncio.Queue[int]:
        """Free actor places, ``actor_concurrency`` per actor (one queue per event loop)."""
        loop = asyncio.get_running_loop()
        queue = self._free.get(loop)
        if queue is None:
            queue = asyncio.Queue()
            for _ in range(self.actor_concurrency):
                for index in range(len(self._slots)):
                    queue.put_nowait(index)
            self._free[loop] = queue
        return queue

    async def _one(self, shipped: _Shipped, request: RolloutRequest) -> list[Episode]:
        ray = _ray()
        what = f"the task {task_id_of(request.task)!r}"
        blob = dumps(request, what=what, by_value=shipped.by_value)
        queue = self._queue()
        index = await queue.get()
        slot = self._slots[index]
        generation = slot.generation
        try:
            kind, value = await slot.actor.run.remote(shipped.digest, [shipped.ref], blob)
        except ray.exceptions.RayActorError as exc:
            self._replace(index, generation)
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            logger.warning("a Ray rollout worker died under task %s: %s", request.task, reason)
            return failed_episodes(
                shipped.job, request, f"the Ray worker running this rollout died: {reason}"
            )
        except ray.exceptions.RayError as exc:
            return failed_episodes(shipped.job, request, f"{type(exc).__name__}: {exc}")
        finally:
            queue.put_nowait(index)
        if kind != "ok":
            raise ConfigError(str(value))
        return [Episode.from_dict(data) for data in value]

    def _replace(self, index: int, generation: int) -> None:
        """A new actor in place of a dead one (once, however many rollouts saw it die)."""
        slot = self._slots[index] if index < len(self._slots) else None
        if slot is None or slot.generation != generation:
            return
        ray = _ray()
        with contextlib.suppress(Exception):
            ray.kill(slot.actor)
        self._slots[index] = _Slot(self._new_actor(ray), generation + 1)
