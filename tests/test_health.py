"""``run_arena.py models check``: probe every model, report, exit non-zero on a failure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
