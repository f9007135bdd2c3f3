"""Supervised server processes: the embedded llama.cpp servers, and ``vllm serve``.

A :class:`Supervisor` starts a command, waits until its health URL answers 200,
restarts it with backoff when it dies, keeps the last lines of its log, and stops it
cleanly (SIGTERM, then SIGKILL). To the rest of the arena the process is just an
endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
import time
from collections import deque
from collections.abc import Sequence

import httpx

from arena.errors import BackendError

__all__ = ["Supervisor", "free_port"]

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free now on ``host``."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class Supervisor:
    """Run ``command`` and keep it healthy.

    Attributes:
        healthy: the process answers its health URL.
        restarts: how many times it was restarted after dying.
        log_tail: its last output lines.
    """

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        health_url: str,
        *,
        startup_timeout: float = 300.0,
        max_backoff: float = 30.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.health_url = health_url
        self.startup_timeout = startup_timeout
        self.max_backoff = max_backoff
        self.env = env
        self.healthy = False
        self.restarts = 0
        self.log_tail: deque[str] = deque(maxlen=200)
        self._process: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self) -> None:
        """Start the process and wait until it is healthy.

        Raises:
            BackendError: it exited or stayed unhealthy past ``startup_timeout``; the
                message holds the end of its log.
        """
        await self._spawn_until_healthy()
        self._tasks.append(asyncio.create_task(self._watch(), name=f"watch {self.name}"))

    async def _spawn_until_healthy(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            *self.command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=self.env,
            start_new_session=True,  # a Ctrl-C for the arena reaches us, not the child directly
        )
        self._tasks.append(asyncio.create_task(self._read_log(self._process)))
        deadline = time.monotonic() + self.startup_timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self._process.returncode is not None:
                    break
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(self.health_url)).status_code == 200:
                        self.healthy = True
                        log.info("%s is healthy (pid %s)", self.name, self._process.pid)
                        return
                await asyncio.sleep(0.2)
        tail = "\n".join(list(self.log_tail)[-15:])
        await self._terminate()
        raise BackendError(f"{self.name} did not become healthy; its log ends:\n{tail}")

    async def _read_log(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.log_tail.append(line)
            log.debug("%s: %s", self.name, line)

    async def _watch(self) -> None:
        backoff = 1.0
        while not self._stopping:
            assert self._process is not None
            code = await self._process.wait()
            if self._stopping:
                return
            self.healthy = False
            log.warning("%s exited with code %s; restarting in %.0f s", self.name, code, backoff)
            await asyncio.sleep(backoff)
            try:
                await self._spawn_until_healthy()
                self.restarts += 1
                backoff = 1.0
            except BackendError as exc:
                log.error("%s", exc)
                backoff = min(backoff * 2, self.max_backoff)

    async def _terminate(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def stop(self) -> None:
        """Stop the process and stop watching it."""
        self._stopping = True
        self.healthy = False
        await self._terminate()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()


def python_command(module: str, *args: str) -> list[str]:
    """``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *args]
