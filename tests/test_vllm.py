"""The ``vllm`` kind: its ``vllm serve`` command line, GPU assignment, and the whole
supervised life of the server, run through the real code path with the real llama.cpp
server standing in for vLLM (no GPU here; see tests/vllm_shim.py)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import stat
import sys
import time
from pathlib import Path

import pytest

from arena.backends import Usage, create_backend
from arena.backends.gpus import assign_gpus
from arena.backends.packaged import resolve_packaged
from arena.backends.supervisor import Supervisor, free_port, log_path
from arena.backends.vllm import VLLMBackend, vllm_command
from arena.config import ArenaSettings, ModelSpec
from arena.content import Message
from arena.errors import ConfigError, PrerequisiteError
from tests.vllm_shim import DOCUMENTED

pytestmark = pytest.mark.no_database  # run once, on SQLite (tests/conftest.py)

ROOT = Path(__file__).resolve().parent.parent


def test_the_command_uses_only_documented_vllm_serve_flags() -> None:
    spec = ModelSpec(
        name="llama-3-8b",
        kind="vllm",
        model="meta-llama/Meta-Llama-3-8B-Instruct",
        tensor_parallel=2,
        max_model_len=8192,
        gpu_memory_utilization=0.85,
        vllm_args=["--dtype", "bfloat16"],
    )
    command = vllm_command(spec, "127.0.0.1", 8123)
    assert command[:3] == ["vllm", "serve", "meta-llama/Meta-Llama-3-8B-Instruct"]
    flags = [part for part in command[3:] if part.startswith("--")]
    assert set(flags) <= set(DOCUMENTED), set(flags) - set(DOCUMENTED)
    pairs = dict(zip(command[3::2], command[4::2], strict=True))
    assert pairs == {
        "--host": "127.0.0.1",
        "--port": "8123",
        "--served-model-name": "llama-3-8b",
        "--tensor-parallel-size": "2",
        "--gpu-memory-utilization": "0.85",
        "--max-model-len": "8192",
        "--dtype": "bfloat16",
    }
    assert "--max-model-len" not in vllm_command(ModelSpec(name="m", kind="vllm"), "h", 1)


def test_gpus_are_assigned_in_blocks_and_never_shared() -> None:
    models = [
        ModelSpec(name="a", kind="vllm", tensor_parallel=2),
        ModelSpec(name="own", kind="vllm", gpus="3"),
        ModelSpec(name="b", kind="vllm"),
        ModelSpec(name="api", kind="openai", base_url="http://x/v1"),
    ]
    assert assign_gpus(models, "0,1,2,3,4") == {"a": "0,1", "own": "3", "b": "2"}


def test_gpu_shortage_and_mismatch_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="'big' needs 4 GPU\\(s\\) but only 2 are free"):
        assign_gpus([ModelSpec(name="big", kind="vllm", tensor_parallel=4)], "0,1")
    with pytest.raises(ConfigError, match="names 1 GPUs .* tensor_parallel = 2"):
        assign_gpus([ModelSpec(name="x", kind="vllm", gpus="0", tensor_parallel=2)], "")


async def test_a_missing_vllm_says_how_to_install_it() -> None:
    backend = create_backend(
        ModelSpec(name="m", kind="vllm", vllm_command="vllm-not-installed-here"), ArenaSettings()
    )
    with pytest.raises(PrerequisiteError, match=r"pip install 'arena\[vllm\]'"):
        await backend.start()


def shim(tmp_path: Path) -> str:
    """An executable standing where a user's ``vllm`` would."""
    path = tmp_path / "vllm"
    path.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" "{ROOT / "tests" / "vllm_shim.py"}" "$@"\n'
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


async def ask(backend: VLLMBackend) -> str:
    text = ""
    async for chunk in backend.stream([Message.user("Say hi.")], {"max_tokens": 8}):
        if not isinstance(chunk, Usage):
            text += chunk
    return text


async def test_vllm_server_is_launched_supervised_restarted_and_stopped(tmp_path: Path) -> None:
    gguf = resolve_packaged("smollm2-135m-instruct", ArenaSettings().model_cache)
    spec = ModelSpec(
        name="served-name",
        kind="vllm",
        model=str(gguf),
        gpus="1",
        max_model_len=2048,
        vllm_command=shim(tmp_path),
    )
    backend = create_backend(spec, ArenaSettings(log_dir=str(tmp_path / "logs")))
    assert isinstance(backend, VLLMBackend)
    await backend.start()
    supervisor = backend.supervisor
    assert supervisor is not None
    try:
        assert backend.ready
        assert await ask(backend)
        log = "\n".join(supervisor.tail())
        assert "CUDA_VISIBLE_DEVICES=1" in log
        assert "'--served-model-name', 'served-name'" in log
        first_worker = worker_pid(log)

        first_pid = supervisor.pid
        assert first_pid is not None
        os.kill(first_pid, signal.SIGKILL)  # the server crashes; its worker lives on...
        for _ in range(300):
            await asyncio.sleep(0.1)
            if supervisor.restarts == 1 and supervisor.healthy:
                break
        assert supervisor.restarts == 1 and supervisor.healthy
        assert supervisor.pid != first_pid
        assert not alive(first_worker, within=10.0)  # ...until the restart ends its group
        assert await ask(backend)  # answering again on the restarted server
        second_worker = worker_pid("\n".join(supervisor.tail()))
        assert second_worker != first_worker and alive(second_worker)
    finally:
        await backend.stop()
    assert not backend.ready
    assert not alive(supervisor.pid or 0)
    # SIGTERM it ignored; the group's SIGKILL it did not (delivered within moments).
    assert not alive(second_worker, within=10.0)
    # Both runs' output is on disk, where the admin view reads it.
    on_disk = (tmp_path / "logs" / "served-name.log").read_text()
    assert on_disk.count("vllm-shim: argv=") == 2 and f"pid={second_worker}" in on_disk


def worker_pid(log: str) -> int:
    return int(re.findall(r"vllm-shim: worker pid=(\d+)", log)[-1])


def alive(pid: int, within: float = 0.0) -> bool:
    """Whether ``pid`` still runs after ``within`` seconds (a zombie, dead but not yet
    reaped by its parent, does not)."""
    deadline = time.monotonic() + within
    while True:
        try:
            with open(f"/proc/{pid}/stat") as f:
                running = f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            running = False
        if not running or time.monotonic() >= deadline:
            return running
        time.sleep(0.05)


async def test_a_server_log_rotates_and_its_end_is_read_from_disk(tmp_path: Path) -> None:
    port = free_port()
    script = (
        "import http.server, sys\n"
        "for i in range(3000): print(f'line {i:05d} ' + 'x' * 40)\n"
        "sys.stdout.flush()\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self): self.send_response(200); self.end_headers()\n"
        "    def log_message(self, *a): pass\n"
        f"http.server.HTTPServer(('127.0.0.1', {port}), H).serve_forever()\n"
    )
    supervisor = Supervisor(
        "chatty/model",
        [sys.executable, "-c", script],
        f"http://127.0.0.1:{port}/",
        log_file=log_path(str(tmp_path), "chatty/model"),
        log_bytes=40_000,
        log_backups=2,
    )
    await supervisor.start()
    try:
        for _ in range(300):  # the output reaches the file
            if supervisor.tail(1) == [supervisor.log_tail[-1]] and "02999" in supervisor.tail(1)[0]:
                break
            await asyncio.sleep(0.1)
        tail = supervisor.tail(5)
        assert [line.split()[-2] for line in tail] == [f"{i:05d}" for i in range(2995, 3000)]
    finally:
        await supervisor.stop()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["chatty_model.log", "chatty_model.log.1", "chatty_model.log.2"]
    assert all((tmp_path / f).stat().st_size <= 40_000 for f in files)
