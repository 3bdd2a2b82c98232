"""Making the trainer's new policy live on a generation server (vLLM, or ``hone serve``).

A :class:`PolicyPublisher` is called after each optimizer step with the trainer and the new
version number. Two ship here, both speaking vLLM's HTTP routes (``hone serve`` implements
the same ones for local models):

* :class:`LoRAPublisher` saves the trainer's LoRA adapter to ``<folder>/<base>-v<N>``, loads it
  with ``POST /v1/load_lora_adapter {lora_name: "<base>-v<N>", lora_path, load_inplace}``,
  switches the policy client's requests to ``model=<base>-v<N>``, and unloads versions beyond
  ``keep``.
* :class:`WeightsPublisher` runs vLLM's native weight transfer for full fine-tuning:
  ``/init_weight_transfer_engine`` once, then per version ``/start_weight_update`` →
  ``/update_weights`` → ``/finish_weight_update``; the tensors travel over NCCL from the
  trainer's GPU (a ``send_weights`` function the caller supplies; GPU only).

Both wrap the change in ``POST /pause?mode=…`` and ``POST /resume``. ``mode="wait"`` (the
default) lets requests in flight finish on the old version before the switch; ``"keep"``
freezes them and continues them afterwards; ``"abort"`` cancels them. A failure (timeout, a
refused adapter) raises :class:`~hone.errors.PublishError` after resuming the server, so the
old version stays live and training can go on.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

import httpx

from hone.errors import ConfigError, PublishError, TrainingConfigError

__all__ = [
    "LoRAPublisher",
    "PauseMode",
    "PolicyPublisher",
    "PublishedPolicy",
    "ServedPolicy",
    "WeightsPublisher",
]

logger = logging.getLogger(__name__)

#: How a server treats requests in flight while paused (vLLM's ``/pause?mode=``).
PauseMode: TypeAlias = Literal["wait", "keep", "abort"]


@dataclass(frozen=True, slots=True)
class PublishedPolicy:
    """A policy version made live.

    Attributes:
        version: the version number (the trainer's step count).
        model: the model id requests name it by (an adapter name, or the base's).
        seconds: wall time of the publish, pause to resume.
        path: the adapter folder the publisher saved and deletes once the version is
            unloaded (LoRA), else None.
    """

    version: int
    model: str
    seconds: float
    path: Path | None = None


@runtime_checkable
class ServedPolicy(Protocol):
    """A client whose requests a publisher redirects (``OpenAICompatibleModel`` is one)."""

    def serve_policy(self, model: str, policy_version: int | str | None) -> None:
        """Send later requests to ``model``, recording ``policy_version`` on them."""


@runtime_checkable
class PolicyPublisher(Protocol):
    """Makes a trainer's current weights the policy a generation server samples from."""

    def publish(self, trainer: Any, version: int) -> PublishedPolicy:
        """Make ``trainer``'s weights live as ``version``.

        Raises:
            PublishError: the server did not take them; the previous version stays live.
        """

    def close(self) -> None:
        """Release what the publisher holds (HTTP clients, transfer groups)."""


class _Server:
    """The HTTP routes a publisher calls, with errors phrased once."""

    def __init__(self, base_url: str, *, timeout: float, api_key: str | None) -> None:
        url = base_url.rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"base_url {base_url!r} must start with http:// or https://")
        self.root = url.removesuffix("/v1")
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(base_url=self.root, timeout=timeout, headers=headers)

    def post(
        self, path: str, body: Mapping[str, Any] | None = None, **params: str
    ) -> httpx.Response:
        try:
            response = self.client.post(path, json=dict(body) if body else None, params=params)
        except httpx.TimeoutException as exc:
            raise PublishError(
                f"{self.root}{path} did not answer within {self.client.timeout.read} s; "
                "raise the publisher's timeout, or check the server's load"
            ) from exc
        except httpx.HTTPError as exc:
            raise PublishError(f"cannot reach {self.root}{path}: {exc}") from exc
        if response.status_code >= 400:
            raise PublishError(
                f"{self.root}{path} answered {response.status_code}: {_message(response)}"
                + _hint(path, response.status_code)
            )
        return response

    def pause(self, mode: PauseMode) -> None:
        self.post("/pause", mode=mode)

    def resume(self) -> None:
        self.post("/resume")

    def close(self) -> None:
        self.client.close()


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict):
        error = body.get("error", body.get("detail", body))
        if isinstance(error, dict):
            return str(error.get("message", error))
        return str(error)
    return str(body)[:500]


def _hint(path: str, status: int) -> str:
    if status == 404 and "lora" in path:
        return (
            " (vLLM serves this route only with --enable-lora and "
            "VLLM_ALLOW_RUNTIME_LORA_UPDATING=1)"
        )
    if status == 404 and path in ("/pause", "/resume"):
        return " (vLLM serves the RL routes only in dev mode: VLLM_SERVER_DEV_MODE=1)"
    return ""


class _Paused:
    """Pause the server for the block; always resume, keeping the block's error first."""

    def __init__(self, server: _Server, mode: PauseMode | None) -> None:
        self.server, self.mode = server, mode

    def __enter__(self) -> None:
        if self.mode is not None:
            self.server.pause(self.mode)

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if self.mode is None:
            return
        try:
            self.server.resume()
        except PublishError:
            if exc is None:
                raise
            logger.error("could not resume %s after a failed publish", self.server.root)


class LoRAPublisher:
    """Publishes a LoRA trainer's adapter as ``<base_name>-v<N>`` and points requests at it.

    Args:
        base_url: the server's API root (``http://host:8000/v1``) or root.
        base_name: the prefix of adapter names (usually the served base model's id).
        folder: where adapters are saved, one sub-folder per version. It must be a path the
            *server* can read (shared disk when it runs elsewhere).
        policy: the client rollouts use; its requests switch to each new adapter.
        keep: versions kept loaded (older ones are unloaded and their folders deleted); at
            least 1.
        pause: how requests in flight are treated while switching (None: no pause; loading
            an adapter under a new name does not disturb running requests).
        load_inplace: vLLM's ``load_inplace`` (replace an adapter of the same name).
        timeout: seconds each HTTP call may take.
        api_key: the server's key, if it needs one.

    Raises:
        ConfigError: ``keep`` < 1, or a malformed ``base_url``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        base_name: str,
        folder: str | Path,
        policy: ServedPolicy | None = None,
        keep: int = 2,
        pause: PauseMode | None = "wait",
        load_inplace: bool = False,
        timeout: float = 60.0,
        api_key: str | None = None,
    ) -> None:
        if keep < 1:
            raise ConfigError(f"keep={keep} must be >= 1 (the live version stays loaded)")
        self._server = _Server(base_url, timeout=timeout, api_key=api_key)
        self.base_name = base_name
        self.folder = Path(folder)
        self.policy = policy
        self.keep = keep
        self.pause = pause
        self.load_inplace = load_inplace
        self.loaded: deque[PublishedPolicy] = deque()

    def name_of(self, version: int) -> str:
        """The adapter name of ``version``."""
        return f"{self.base_name}-v{version}"

    def publish(self, trainer: Any, version: int) -> PublishedPolicy:
        """Save ``trainer``'s adapter, load it as :meth:`name_of` ``(version)``, switch the
        policy client to it, and unload versions beyond ``keep``.

        Raises:
            TrainingConfigError: the trainer has no LoRA adapter.
            PublishError: saving, loading or switching failed (the old version stays live).
        """
        _require_lora(trainer)
        started = time.perf_counter()
        name = self.name_of(version)
        if any(p.model == name for p in self.loaded):
            raise PublishError(
                f"version {version} ({name!r}) is live already; publish each version once, "
                "with increasing numbers"
            )
        path = (self.folder / name).resolve()
        existed = path.exists()  # never delete a folder this call did not make
        try:
            trainer.model.save_pretrained(str(path))
        except OSError as exc:
            raise PublishError(f"cannot save the adapter to {path}: {exc}") from exc
        try:
            published = self.publish_folder(path, version, owned=not existed)
        except PublishError:
            if not existed:
                shutil.rmtree(path, ignore_errors=True)
            raise
        return replace(published, seconds=time.perf_counter() - started)

    def publish_folder(
        self, path: str | Path, version: int, *, owned: bool = False
    ) -> PublishedPolicy:
        """Make the adapter saved at ``path`` live as ``version`` (load, switch, unload old).

        Args:
            path: an adapter folder (peft's ``save_pretrained``) the server can read.
            owned: delete the folder when this version is unloaded later.

        Raises:
            PublishError: the server refused the adapter or timed out (the old version stays
                live, and the policy client keeps its model).
        """
        started = time.perf_counter()
        name = self.name_of(version)
        body = {"lora_name": name, "lora_path": str(path), "load_inplace": self.load_inplace}
        try:
            with _Paused(self._server, self.pause):
                self._server.post("/v1/load_lora_adapter", body)
                if self.policy is not None:
                    self.policy.serve_policy(name, version)
        except PublishError as exc:
            raise PublishError(f"adapter {name!r} was not made live: {exc}") from exc
        seconds = time.perf_counter() - started
        published = PublishedPolicy(version, name, seconds, Path(path) if owned else None)
        self.loaded.append(published)
        self._unload_old()
        logger.info("published %s in %.2f s", name, published.seconds)
        return published

    def _unload_old(self) -> None:
        while len(self.loaded) > self.keep:
            old = self.loaded.popleft()
            try:
                self._server.post("/v1/unload_lora_adapter", {"lora_name": old.model})
            except PublishError as exc:  # the new version is live; an old one lingering is minor
                logger.warning("could not unload %s: %s", old.model, exc)
            if old.path is not None:
                shutil.rmtree(old.path, ignore_errors=True)

    def close(self) -> None:
        """Close the HTTP client (adapters stay loaded on the server)."""
        self._server.close()


#: Sends the trainer's weights over the transfer engine vLLM set up; called between
#: ``/start_weight_update`` and ``/finish_weight_update`` with the trainer and the update
#: body the server was given (names, dtypes, shapes).
SendWeights: TypeAlias = Callable[[Any, Mapping[str, Any]], None]


class WeightsPublisher:
    """Publishes full fine-tuned weights with vLLM's native weight transfer (NCCL, GPU only).

    The HTTP flow is: ``POST /init_weight_transfer_engine`` (once, with ``init_info``), then
    for each version ``POST /start_weight_update``, ``POST /update_weights`` with the
    parameter names, dtypes and shapes, the caller's ``send_weights(trainer, update)`` (which
    broadcasts the tensors over the process group it set up), and ``POST
    /finish_weight_update``; all inside ``/pause`` and ``/resume``. The served model id stays
    the same; the policy client records the new version.

    Args:
        base_url: the server's API root or root.
        model: the served model id.
        send_weights: moves the tensors (see :data:`SendWeights`); GPU only.
        init_info: the body of ``/init_weight_transfer_engine`` (master address and port,
            rank offset, world size, backend), as the server's vLLM version expects it.
        policy: the client rollouts use; it records each new version.
        pause: how requests in flight are treated while the weights change; a full update
            must not mix versions inside one request, so None is not offered.
        timeout: seconds each HTTP call may take.
        api_key: the server's key, if it needs one.
    """

    def __init__(
        self,
        base_url: str,
        *,
        model: str,
        send_weights: SendWeights,
        init_info: Mapping[str, Any] | None = None,
        policy: ServedPolicy | None = None,
        pause: PauseMode = "wait",
        timeout: float = 300.0,
        api_key: str | None = None,
    ) -> None:
        self._server = _Server(base_url, timeout=timeout, api_key=api_key)
        self.model = model
        self.send_weights = send_weights
        self.init_info = dict(init_info or {})
        self.policy = policy
        self.pause = pause
        self._ready = False

    def publish(self, trainer: Any, version: int) -> PublishedPolicy:
        """Send ``trainer``'s weights to the server as ``version``.

        Raises:
            PublishError: a route failed or timed out, or ``send_weights`` raised; the
                server resumes on the weights it had (``/finish_weight_update`` is not sent
                after a failure, so vLLM keeps the old ones).
        """
        started = time.perf_counter()
        if not self._ready:
            self._server.post("/init_weight_transfer_engine", {"init_info": self.init_info})
            self._ready = True
        update = {"update_info": _update_info(trainer)}
        with _Paused(self._server, self.pause):
            self._server.post("/start_weight_update")
            self._server.post("/update_weights", update)
            try:
                self.send_weights(trainer, update)
            except Exception as exc:
                raise PublishError(
                    f"sending the weights of version {version} failed: {exc}"
                ) from exc
            self._server.post("/finish_weight_update")
            if self.policy is not None:
                self.policy.serve_policy(self.model, version)
        return PublishedPolicy(version, self.model, time.perf_counter() - started)

    def close(self) -> None:
        """Close the HTTP client."""
        self._server.close()


def _update_info(trainer: Any) -> dict[str, Any]:
    """Names, dtypes and shapes of the trainer's parameters, in the order they are sent."""
    names, dtypes, shapes = [], [], []
    for name, param in trainer.model.named_parameters():
        names.append(name)
        dtypes.append(str(param.dtype).removeprefix("torch."))
        shapes.append(list(param.shape))
    return {"names": names, "dtype_names": dtypes, "shapes": shapes}


def _require_lora(trainer: Any) -> None:
    if getattr(trainer.config, "lora", None) is None:
        raise TrainingConfigError(
            "LoRAPublisher needs a trainer with LoRA adapters (TrainerConfig(lora=LoraConfig()));"
            " publish full fine-tuning with WeightsPublisher"
        )
