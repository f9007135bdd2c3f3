"""``local``: a GGUF file the arena serves itself on CPU with llama.cpp.

Each local model gets its own supervised server process on 127.0.0.1 (see
:mod:`arena.backends.llama_worker`), and the arena talks to it exactly as to a vLLM
server: OpenAI-compatible streaming chat completions.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from arena.backends.openai_compat import OpenAIBackend
from arena.backends.packaged import resolve_packaged
from arena.backends.supervisor import Supervisor, free_port, log_path, python_command
from arena.config import ArenaSettings, ModelSpec
from arena.errors import ConfigError, PrerequisiteError

__all__ = ["LocalBackend", "model_file"]


def model_file(spec: ModelSpec, settings: ArenaSettings) -> Path:
    """The GGUF file of a local model (assembling a packaged one on first use)."""
    if spec.package:
        return resolve_packaged(spec.package, settings.model_cache)
    if not spec.path:
        raise ConfigError(f"model {spec.name!r} (kind local) needs path or package")
    path = Path(spec.path).expanduser()
    if not path.is_file():
        raise PrerequisiteError(f"model file for {spec.name!r} not found: {path}")
    return path


class LocalBackend(OpenAIBackend):
    def __init__(self, spec: ModelSpec, settings: ArenaSettings) -> None:
        super().__init__(spec, settings)
        self.supervisor: Supervisor | None = None

    @property
    def ready(self) -> bool:
        return self.supervisor is not None and self.supervisor.healthy

    async def start(self) -> None:
        path = await asyncio.to_thread(model_file, self.spec, self.settings)
        port = free_port(self.bind_host)
        self._base_url = f"http://{self.bind_host}:{port}/v1"
        self.supervisor = Supervisor(
            self.spec.name,
            python_command(
                "arena.backends.llama_worker",
                "--model",
                str(path),
                "--host",
                self.bind_host,
                "--port",
                str(port),
                "--threads",
                str(max(1, self.spec.threads)),
                "--ctx-size",
                str(self.spec.ctx_size),
                "--parallel",
                str(self.spec.parallel),
                "--parent",
                str(os.getpid()),
            ),
            health_url=f"http://{self.bind_host}:{port}/health",
            log_file=log_path(self.settings.log_dir, self.spec.name),
        )
        await self.supervisor.start()

    async def stop(self) -> None:
        await super().stop()
        if self.supervisor is not None:
            await self.supervisor.stop()
