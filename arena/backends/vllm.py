"""``vllm``: an open-weight model the arena serves itself on local GPUs with vLLM.

For each such model the arena runs ``vllm serve MODEL`` under a
:class:`~arena.backends.supervisor.Supervisor`: on its own GPUs
(``CUDA_VISIBLE_DEVICES``, ``--tensor-parallel-size``), a free port,
``--served-model-name``, the maximum model length and GPU memory share; it waits on
``/health``, restarts it with backoff when it dies, keeps its log, and stops it
cleanly. The arena then talks to it as to any OpenAI-compatible endpoint.

vLLM runs in its own process (often its own virtual environment: ``vllm_command``),
so the web process never imports it. Install it with ``pip install 'arena[vllm]'`` on
a machine with NVIDIA GPUs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from arena.backends.openai_compat import OpenAIBackend
from arena.backends.supervisor import Supervisor, free_port, log_path
from arena.config import ModelSpec
from arena.errors import PrerequisiteError

__all__ = ["VLLMBackend", "vllm_command"]


def vllm_command(spec: ModelSpec, host: str, port: int) -> list[str]:
    """The ``vllm serve`` command line for ``spec``; each flag is one vLLM documents
    for ``vllm serve`` (tests/test_vllm.py keeps the list)."""
    command = [
        spec.vllm_command,
        "serve",
        spec.model or spec.name,
        "--host",
        host,
        "--port",
        str(port),
        "--served-model-name",
        spec.name,
        "--tensor-parallel-size",
        str(spec.tensor_parallel),
        "--gpu-memory-utilization",
        f"{spec.gpu_memory_utilization:g}",
    ]
    if spec.max_model_len:
        command += ["--max-model-len", str(spec.max_model_len)]
    return command + spec.vllm_args


class VLLMBackend(OpenAIBackend):
    """Requests go to the served name; the supervisor owns the process."""

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.supervisor: Supervisor | None = None
        self._request_model = self.spec.name  # what --served-model-name registered

    @property
    def ready(self) -> bool:
        return self.supervisor is not None and self.supervisor.healthy

    def _executable(self) -> str:
        found = shutil.which(self.spec.vllm_command)
        if found is None and not Path(self.spec.vllm_command).is_file():
            raise PrerequisiteError(
                f"model {self.spec.name!r} (kind vllm) needs vLLM: `{self.spec.vllm_command}` "
                "was not found. Install it on a GPU machine with pip install 'arena[vllm]', "
                "or set vllm_command to its path"
            )
        return found or self.spec.vllm_command

    async def start(self) -> None:
        command = vllm_command(self.spec, self.bind_host, free_port(self.bind_host))
        command[0] = self._executable()
        port = int(command[command.index("--port") + 1])
        self._base_url = f"http://{self.bind_host}:{port}/v1"
        env = dict(os.environ)
        if self.spec.gpus:
            env["CUDA_VISIBLE_DEVICES"] = self.spec.gpus
        self.supervisor = Supervisor(
            self.spec.name,
            command,
            health_url=f"http://{self.bind_host}:{port}/health",
            startup_timeout=1800.0,  # a large model's first load can take many minutes
            env=env,
            log_file=log_path(self.settings.log_dir, self.spec.name),
        )
        await self.supervisor.start()

    async def stop(self) -> None:
        await super().stop()
        if self.supervisor is not None:
            await self.supervisor.stop()
