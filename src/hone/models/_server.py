"""An OpenAI-compatible generation server run as a child process: vLLM, or ``hone serve``.

hone never imports vLLM: it runs in its own environment (its pinned ``transformers`` and
``fastapi`` differ from hone's) and hone talks to it over HTTP. :class:`VLLMServer` starts the
server from a given command, waits until ``GET /health`` answers, hands out
:class:`~hone.models.OpenAICompatibleModel` clients that ask for exact token ids, and stops the
process (its whole process group) on :meth:`VLLMServer.close`. Given no command, it only checks
a server someone else started.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import IO, Any

import httpx

from hone.errors import ConfigError, ModelConnectionError
from hone.models._openai import OpenAICompatibleModel

__all__ = ["VLLMServer", "vllm_command"]

logger = logging.getLogger(__name__)

_TAIL_CHARS = 2_000


def vllm_command(
    model: str,
    *,
    port: int = 8000,
    host: str = "127.0.0.1",
    served_name: str | None = None,
    max_loras: int | None = None,
    max_lora_rank: int | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The ``vllm serve`` command line for RL: raw logprobs (vLLM's default), and with
    ``max_loras`` runtime LoRA loading (``--enable-lora``; :class:`VLLMServer` sets
    ``VLLM_ALLOW_RUNTIME_LORA_UPDATING=1`` for it).

    Args:
        model: the base model's path or hub id, as vLLM reads it.
        served_name: the id requests name the base by (``--served-model-name``).
        max_loras: adapters held at once on the GPU; None: no LoRA.
        max_lora_rank: the largest adapter rank it accepts.
        extra: more flags, passed as they are (e.g. ``["--quantization", "bitsandbytes"]``).
    """
    command = ["vllm", "serve", model, "--host", host, "--port", str(port)]
    if served_name is not None:
        command += ["--served-model-name", served_name]
    if max_loras is not None:
        command += ["--enable-lora", "--max-loras", str(max_loras)]
        if max_lora_rank is not None:
            command += ["--max-lora-rank", str(max_lora_rank)]
    return command + list(extra)


class VLLMServer:
    """A vLLM (or any OpenAI-compatible) server: started from ``command``, or already running.

    Args:
        base_url: the server's API root, e.g. ``http://127.0.0.1:8000/v1``.
        command: the command that starts it (e.g. :func:`vllm_command`); None: it runs already.
        env: extra environment variables for the process (added to this process's).
        startup_timeout: seconds to wait for ``/health`` (vLLM loads weights and compiles
            kernels first; minutes are normal on a GPU).
        api_key: the key its ``/v1`` routes need, if any.

    Use it as a context manager, or call :meth:`start` and :meth:`close`.

    Raises:
        ConfigError: ``base_url`` is not an ``http(s)://…/v1`` URL.
    """

    def __init__(
        self,
        base_url: str,
        *,
        command: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 600.0,
        api_key: str | None = None,
    ) -> None:
        url = base_url.rstrip("/")
        if not url.startswith(("http://", "https://")) or not url.endswith("/v1"):
            raise ConfigError(
                f"base_url {base_url!r} must be the server's API root, such as "
                "'http://127.0.0.1:8000/v1'"
            )
        self.base_url = url
        self.root = url.removesuffix("/v1")
        self.command = list(command) if command is not None else None
        self.env = {"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "1", **(env or {})}
        self.startup_timeout = startup_timeout
        self.api_key = api_key
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def running(self) -> bool:
        """Whether the process this object started is still alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> VLLMServer:
        """Start the process (if a command was given) and wait until ``/health`` answers.

        Raises:
            ConfigError: the command's program does not exist.
            ModelConnectionError: the process exited before it was healthy (the message
                ends with its last output), or ``/health`` did not answer in time.
        """
        if self.command is not None and self._process is None:
            # Kept open for the process's life; closed by close().
            self._log = tempfile.TemporaryFile()  # noqa: SIM115
            try:
                self._process = subprocess.Popen(
                    self.command,
                    env={**os.environ, **self.env},
                    stdout=self._log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: close() stops workers too
                )
            except (FileNotFoundError, PermissionError) as exc:
                self._close_log()
                raise ConfigError(
                    f"cannot run {self.command[0]!r} ({exc.strerror}); is the server installed "
                    "in this environment (e.g. a separate venv with vllm), and on PATH?"
                ) from exc
        try:
            self._wait_healthy()
        except BaseException:
            self.close()
            raise
        return self

    def model(self, name: str, **kwargs: Any) -> OpenAICompatibleModel:
        """A client of this server for model ``name`` (the base, or an adapter)."""
        kwargs.setdefault("api_key", self.api_key)
        return OpenAICompatibleModel(name, base_url=self.base_url, **kwargs)

    def close(self, timeout: float = 30.0) -> None:
        """Stop the process this object started (SIGTERM to its group, SIGKILL after
        ``timeout`` seconds). A server it did not start is left running."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop in %.0f s; killing it", self.root, timeout)
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=timeout)
        self._close_log()

    def output_tail(self) -> str:
        """The last lines the process printed (empty for a server it did not start)."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0, os.SEEK_END)
        size = self._log.tell()
        self._log.seek(max(0, size - _TAIL_CHARS))
        return self._log.read().decode("utf-8", "replace")

    def __enter__(self) -> VLLMServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        last = "no answer yet"
        with httpx.Client(timeout=5.0) as client:
            while True:
                if self._process is not None and self._process.poll() is not None:
                    raise ModelConnectionError(
                        f"the server process {' '.join(self.command or [])!r} exited with code "
                        f"{self._process.returncode} before {self.root}/health answered; its "
                        f"last output:\n{self.output_tail()}"
                    )
                try:
                    response = client.get(f"{self.root}/health")
                    if response.status_code == 200:
                        return
                    last = f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                if time.monotonic() > deadline:
                    started = "started by hone" if self.command else "not started by hone"
                    raise ModelConnectionError(
                        f"{self.root}/health did not answer 200 within {self.startup_timeout:g} "
                        f"s (last: {last}; the server was {started}); check the URL and port, "
                        "or raise startup_timeout"
                    )
                time.sleep(0.2)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # it exited meanwhile
        os.killpg(process.pid, sig)
