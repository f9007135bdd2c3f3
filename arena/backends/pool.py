"""All configured models' backends, started together and asked who is ready."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import replace

from arena.backends import Backend, create_backend
from arena.config import Config

__all__ = ["ModelPool"]

log = logging.getLogger(__name__)


class ModelPool:
    """One backend per configured model.

    Local models that leave ``threads`` at 0 share the machine's cores evenly, so two
    of them streaming at once do not fight over the same cores.
    """

    def __init__(self, config: Config) -> None:
        local = [m for m in config.models if m.kind == "local"]
        share = max(1, (os.cpu_count() or 1) // max(1, len(local)))
        self.backends: dict[str, Backend] = {}
        for spec in config.models:
            if spec.kind == "local" and spec.threads == 0:
                spec = replace(spec, threads=share)
            self.backends[spec.name] = create_backend(spec, config.settings)
        self.failures: dict[str, str] = {}

    async def start(self) -> None:
        """Start every backend at once; one that fails is logged and left out."""
        results = await asyncio.gather(
            *(b.start() for b in self.backends.values()), return_exceptions=True
        )
        for name, result in zip(self.backends, results, strict=True):
            if isinstance(result, BaseException):
                self.failures[name] = str(result)
                log.error("model %s did not start: %s", name, result)

    async def stop(self) -> None:
        await asyncio.gather(*(b.stop() for b in self.backends.values()), return_exceptions=True)

    def backend(self, name: str) -> Backend:
        return self.backends[name]

    def ready(self) -> list[str]:
        """Names of the models that can answer now."""
        return [name for name, b in self.backends.items() if b.ready]
