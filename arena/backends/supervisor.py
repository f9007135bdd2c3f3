"""Supervised server processes: the embedded llama.cpp servers, and ``vllm serve``.

A :class:`Supervisor` starts a command in a process group of its own, waits until
its health URL answers 200, restarts it with backoff when it dies, writes its output
to a rotated log file (``log_dir``/NAME.log), and stops it cleanly: SIGTERM to the whole
group, then SIGKILL, so worker processes (vLLM's, holding GPU memory) never outlive it.
To the rest of the arena the process is just an endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import logging.handlers
import os
import re
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import httpx

from arena.errors import BackendError

__all__ = ["Supervisor", "free_port", "log_path"]

LOG_BYTES = 10 * 2**20  # one log file's size before it rotates
LOG_BACKUPS = 3  # rotated files kept beside the current one

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free now on ``host``."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def log_path(log_dir: str, name: str) -> Path:
    """Where the server of model ``name`` writes its log."""
    return Path(log_dir).expanduser() / f"{re.sub(r'[^A-Za-z0-9._-]', '_', name)}.log"


class Supervisor:
    """Run ``command`` and keep it healthy.

    Attributes:
        healthy: the process answers its health URL.
        restarts: how many times it was restarted after dying.
        log_tail: its last output lines (the log file has them all, rotated at
            ``log_bytes`` with ``log_backups`` older files kept).
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
        log_file: Path | None = None,
        log_bytes: int = LOG_BYTES,
        log_backups: int = LOG_BACKUPS,
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
        self.log_file = log_file
        self._log: logging.Handler | None = None
        if log_file is not None:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            self._log = logging.handlers.RotatingFileHandler(
                log_file, maxBytes=log_bytes, backupCount=log_backups, encoding="utf-8"
            )
            self._log.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
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
            if self._log is not None:
                self._log.handle(logging.makeLogRecord({"msg": line, "args": None}))

    def tail(self, lines: int = 200) -> list[str]:
        """The last ``lines`` lines of the server's log (from its file, which outlives
        restarts, or from memory without one)."""
        if self.log_file is None or not self.log_file.is_file():
            return list(self.log_tail)[-lines:]
        with self.log_file.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 256 * lines))  # about 256 bytes a line
            text = f.read().decode("utf-8", errors="replace")
        return text.splitlines()[-lines:]

    async def _watch(self) -> None:
        backoff = 1.0
        while not self._stopping:
            assert self._process is not None
            code = await _exit(self._process)
            if self._stopping:
                return
            self.healthy = False
            self._kill_group(self._process.pid)  # its workers may live on, holding GPUs
            log.warning("%s exited with code %s; restarting in %.0f s", self.name, code, backoff)
            await asyncio.sleep(backoff)
            try:
                await self._spawn_until_healthy()
                self.restarts += 1
                backoff = 1.0
            except BackendError as exc:
                log.error("%s", exc)
                backoff = min(backoff * 2, self.max_backoff)

    @staticmethod
    def _kill_group(pgid: int, sig: signal.Signals = signal.SIGKILL) -> None:
        """Signal every process of the group ``pgid`` (the server and its workers)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    async def _terminate(self) -> None:
        """SIGTERM to the server's process group, SIGKILL after 10 s; then SIGKILL to
        whatever of the group is left (a worker that ignored SIGTERM)."""
        process = self._process
        if process is None:
            return
        if process.returncode is None:
            self._kill_group(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(_exit(process), 10)
            except TimeoutError:
                self._kill_group(process.pid)
                await _exit(process)
        self._kill_group(process.pid)

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
        if self._log is not None:
            self._log.close()


async def _exit(process: asyncio.subprocess.Process) -> int:
    """The server's exit code, once it has exited. Not ``process.wait()``: that also
    waits for its output pipe to close, which a worker it left behind holds open."""
    while process.returncode is None:
        await asyncio.sleep(0.2)
    return process.returncode


def python_command(module: str, *args: str) -> list[str]:
    """``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *args]
