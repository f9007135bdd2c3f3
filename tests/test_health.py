"""``run_arena.py models check``: probe every model, report, exit non-zero on a failure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from arena.backends.supervisor import free_port
from tests.conftest import ROOT

CONFIG = """\
[[models]]
name = "SmolLM2-135M-Instruct"
kind = "local"
package = "smollm2-135m-instruct"

[[models]]
name = "Unreachable"
kind = "openai"
base_url = "http://127.0.0.1:{port}/v1"
connect_timeout = 2
"""


def check(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "run_arena.py"),
            "models",
            "check",
            "--config",
            str(config),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_models_check_reports_each_model_and_fails_when_one_does(tmp_path: Path) -> None:
    config = tmp_path / "arena.toml"
    config.write_text(CONFIG.format(port=free_port()))
    out = check(config)
    assert out.returncode == 1, out.stderr
    lines = {line.split()[0]: line for line in out.stdout.splitlines()[1:] if line.strip()}
    assert " ok " in lines["SmolLM2-135M-Instruct"] + " "
    assert "FAILED" in lines["Unreachable"] and "could not reach" in lines["Unreachable"]

    data = json.loads(check(config, "--format", "json").stdout)
    good = next(p for p in data if p["model"] == "SmolLM2-135M-Instruct")
    assert good["ok"] and good["ttft_s"] > 0 and good["tokens_per_s"] > 1
    assert not next(p for p in data if p["model"] == "Unreachable")["ok"]


def test_models_check_passes_when_every_model_answers(tmp_path: Path) -> None:
    config = tmp_path / "arena.toml"
    config.write_text(CONFIG.split('[[models]]\nname = "Unreachable"')[0])
    out = check(config)
    assert out.returncode == 0, out.stdout + out.stderr


def test_models_serve_runs_only_the_model_servers_and_prints_their_endpoints(
    tmp_path: Path,
) -> None:
    import signal

    import openai

    config = tmp_path / "arena.toml"
    config.write_text(CONFIG.format(port=free_port()))
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "run_arena.py"), "models", "serve", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line.rstrip())
            if line.startswith("# Serving until"):
                break
        printed = "\n".join(lines)
        assert 'name = "SmolLM2-135M-Instruct"\nkind = "openai"' in printed
        assert "Unreachable" not in printed  # an API model has no server to run
        base_url = next(x for x in lines if x.startswith("base_url")).split('"')[1]
        client = openai.OpenAI(base_url=base_url, api_key="none")
        answer = client.chat.completions.create(
            model="SmolLM2-135M-Instruct",
            messages=[{"role": "user", "content": "Say hi."}],
            max_tokens=8,
        )
        client.close()
        assert answer.choices[0].message.content
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    with pytest.raises(openai.APIConnectionError):  # the server is gone
        openai.OpenAI(base_url=base_url, api_key="none", max_retries=0).models.list()


def test_models_status_shows_a_running_arena_with_the_admin_token(
    live_server: dict[str, str],
) -> None:
    def status(*extra: str, token: str | None) -> subprocess.CompletedProcess[str]:
        import os

        env = {k: v for k, v in os.environ.items() if k != "ARENA_ADMIN_TOKEN"}
        if token is not None:
            env["ARENA_ADMIN_TOKEN"] = token
        return subprocess.run(
            [sys.executable, str(ROOT / "run_arena.py"), "models", "status"]
            + ["--url", live_server["url"], *extra],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )

    out = status(token=live_server["admin_token"])
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line.split() for line in out.stdout.splitlines()[1:]}
    assert rows["SmolLM2-135M-Instruct"][2:4] == ["ok", "True"]
    assert rows["Qwen2.5-Coder-0.5B-Instruct"][2:4] == ["ok", "True"]
    data = json.loads(status("--format", "json", token=live_server["admin_token"]).stdout)
    assert {r["name"] for r in data} == {"SmolLM2-135M-Instruct", "Qwen2.5-Coder-0.5B-Instruct"}

    wrong = status(token="not-the-token")
    assert wrong.returncode == 2 and "HTTP 401" in wrong.stderr
    missing = status(token=None)
    assert missing.returncode == 2 and "set ARENA_ADMIN_TOKEN" in missing.stderr
