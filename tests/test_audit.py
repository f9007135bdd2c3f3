"""The endpoint audit's statistics (arena/audit): the two-sample MMD test of Model
Equality Testing, its false-positive rate and its power, on toy models whose answers
are drawn from known distributions (the audit of real endpoints is in bench/audit.py)."""

from __future__ import annotations

import json
import os
import platform
import random
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
import pytest

from arena.audit.mmd import encode, mmd_test
from arena.audit.run import audit
from arena.backends import Backend, create_backend
from arena.backends.pool import ModelPool
from arena.config import ArenaSettings, ModelSpec, load_config
from tests.conftest import ROOT
from tests.reflection import reflection_proxy
from tests.wire import WireServer, write_config

pytestmark = pytest.mark.no_database  # run once, on SQLite (tests/conftest.py)

LETTERS = "abcdefgh"


def toy(rng: random.Random, bias: float, prompt: int, length: int = 20) -> str:
    """A 'model': each letter of its answer to ``prompt`` drawn with one favourite letter
    (``prompt`` mod 8) weighted 1 + ``bias``."""
    weights = [1.0 + bias * (i == prompt % 8) for i in range(len(LETTERS))]
    return "".join(rng.choices(LETTERS, weights=weights, k=length))


def sample(rng: random.Random, bias: float, per_prompt: int, prompts: int = 10) -> list:
    return [(p, toy(rng, bias, p)) for p in range(prompts) for _ in range(per_prompt)]


def test_the_false_positive_rate_is_at_most_alpha() -> None:
    rng = random.Random(5)
    p = np.array(
        [
            mmd_test(sample(rng, 2.0, 5), sample(rng, 2.0, 5), permutations=100, seed=s).p_value
            for s in range(200)
        ]
    )
    # Same model on both sides: P(p <= a) <= a for every a (a permutation p-value).
    for alpha in (0.01, 0.05, 0.2):
        assert (p <= alpha).mean() <= alpha + 2.5 * np.sqrt(alpha * (1 - alpha) / len(p))
    assert 0.4 < p.mean() < 0.6


def test_a_different_model_is_told_apart_and_more_samples_give_more_power() -> None:
    rng = random.Random(6)
    power = {}
    for per_prompt in (2, 10):
        rejected = [
            mmd_test(
                sample(rng, 1.0, per_prompt), sample(rng, 5.0, per_prompt), permutations=100, seed=s
            ).p_value
            <= 0.05
            for s in range(20)
        ]
        power[per_prompt] = sum(rejected) / len(rejected)
    assert power[10] >= 0.9 and power[10] > power[2]


def test_answers_are_compared_only_within_a_prompt() -> None:
    # The same answers under swapped prompts: each side alone is one model, but which
    # prompt an answer belongs to differs, and only that can tell them apart.
    a = [(p, "aaaa" if p == 0 else "bbbb") for p in (0, 1) for _ in range(8)]
    b = [(p, "bbbb" if p == 0 else "aaaa") for p in (0, 1) for _ in range(8)]
    assert mmd_test(a, b, length=4, permutations=200).p_value <= 0.01
    same = mmd_test(a, list(a), length=4, permutations=200)
    assert same.statistic < 0 and same.p_value == 1.0  # identical samples: nothing to see


def test_completions_are_coded_by_position_and_padded() -> None:
    vocabulary: dict = {}
    codes = encode(["abc", "ab", ""], 3, vocabulary)
    assert codes.tolist() == [[0, 1, 2], [0, 1, -1], [-1, -1, -1]]
    assert encode([["tok", "en"]], 3, vocabulary).tolist() == [[3, 4, -1]]


@pytest.mark.parametrize("per_side", [(1, 5), (5, 1)])
def test_tiny_samples_give_a_valid_p_value(per_side: tuple[int, int]) -> None:
    rng = random.Random(7)
    result = mmd_test(sample(rng, 1.0, per_side[0], 1), sample(rng, 1.0, per_side[1], 1))
    assert 0 < result.p_value <= 1 and result.samples == per_side


# Identical answers to each prompt (temperature 0) on both sides, and a second model
# that answers each prompt otherwise, as 20 prompts x 14 answers of the audit.
TIES = """
import json, random
from arena.audit.mmd import mmd_test
rng = random.Random(1)
words = ["alpha", "beta", "gamma", "delta", "epsilon"]
said = {p: " ".join(rng.choice(words) for _ in range(30)) for p in range(20)}
other = {p: " ".join(rng.choice(words) for _ in range(30)) for p in range(20)}
same = [(p, said[p]) for p in range(20) for _ in range(14)]
changed = [(p, other[p]) for p in range(20) for _ in range(14)]
runs = {
    "ngram": mmd_test(same, list(same), permutations=1200, ngram=3),
    "hamming": mmd_test(same, list(same), permutations=1200),
    "changed": mmd_test(changed, same, permutations=1200, ngram=3),
}
print(json.dumps({k: [r.statistic, r.p_value] for k, r in runs.items()}))
"""

# OpenBLAS kernels and the CPU flag each needs (one it lacks would crash, not test).
CORETYPES = {"Prescott": "pni", "Sandybridge": "avx", "Haswell": "avx2", "SkylakeX": "avx512f"}


def blas_settings() -> list[dict[str, str]]:
    """The BLAS settings this CPU can run: the default, one thread, each kernel."""
    settings: list[dict[str, str]] = [{}, {"OPENBLAS_NUM_THREADS": "1"}]
    cpuinfo = Path("/proc/cpuinfo")
    if platform.machine() in ("x86_64", "AMD64") and cpuinfo.exists():
        flags = set(cpuinfo.read_text().split())
        settings += [{"OPENBLAS_CORETYPE": k} for k, f in CORETYPES.items() if f in flags]
    return settings


def test_identical_answers_are_consistent_under_every_blas_kernel() -> None:
    # Every draw of the permutation null equals the observed value here; sums that
    # depend on the kernel broke those ties and called the same model different.
    seen = {}
    for setting in blas_settings():
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBLAS_")}
        run = subprocess.run(
            [sys.executable, "-c", TIES],
            env=env | setting,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, f"{setting}: {run.stderr}"
        seen[json.dumps(setting)] = result = json.loads(run.stdout)
        assert result["ngram"][1] == 1.0 and result["hamming"][1] == 1.0, (setting, result)
        assert result["changed"][1] == 1 / 1201, (setting, result)
    assert len({json.dumps(r) for r in seen.values()}) == 1, seen  # the same numbers


# -- the command, against endpoints on a real local server (tests/wire.py) -----------


def audit_cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``models audit`` as a user runs it; its verdicts go to a SQLite file beside the
    config (not arena.db in the working directory, nor the suite's ARENA_TEST_DB)."""
    database = f"sqlite:///{config.parent / 'audits.db'}"
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "run_arena.py"),
            "models",
            "audit",
            *args,
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "ARENA_DB": database},
    )


@pytest.fixture(scope="module")
def wire() -> Iterator[WireServer]:
    with WireServer() as server:
        # m-twin answers as m-ref does; m-qwen calls itself Qwen; m-other answers the
        # same prompts differently but names no model.
        server.misbehave["m-qwen"] = " I am Qwen, made by Alibaba Cloud."
        server.misbehave["m-other"] = " Also: zebra."
        yield server


def config_of(tmp_path: Path, wire: WireServer) -> Path:
    path = tmp_path / "arena.toml"
    write_config(path, wire, ["m-ref", "m-twin", "m-qwen", "m-other"])
    return path


def test_the_same_model_behind_another_name_is_consistent(tmp_path: Path, wire: WireServer) -> None:
    config = config_of(tmp_path, wire)
    saved = tmp_path / "reference.json"
    out = audit_cli(
        config, "m-twin", "--reference", "m-ref", "--format", "json", "--save-reference", str(saved)
    )
    assert out.returncode == 0, out.stderr + out.stdout
    report = json.loads(out.stdout)
    assert report["verdict"] == "consistent" and report["alpha"] == 0.01
    assert set(report) == {"model", "reference", "verdict", "queries", "alpha", "tests"}
    assert (
        report["queries"] <= 300 and sum(t["queries"] for t in report["tests"]) == report["queries"]
    )
    names = [t["name"] for t in report["tests"]]
    assert names[:3] == ["token counts", "self-identification", "echo of model names"]
    assert all(t["p_value"] == 1.0 for t in report["tests"])

    # The saved reference serves later audits, with no query to the reference.
    again = audit_cli(config, "m-twin", "--reference-samples", str(saved))
    assert again.returncode == 0 and "CONSISTENT" in again.stdout


def test_an_alpha_that_would_never_or_always_flag_is_refused(
    tmp_path: Path, wire: WireServer
) -> None:
    # alpha 0 would call every endpoint consistent (no p-value is 0), 1 every one
    # different: refused as the monitor_alpha setting is, before a query is sent.
    config = config_of(tmp_path, wire)
    for alpha in ("0", "1"):
        out = audit_cli(config, "m-twin", "--reference", "m-ref", "--alpha", alpha)
        assert out.returncode == 2, out.stdout
        assert f"--alpha {float(alpha)} should be strictly between 0 and 1" in out.stderr


def test_a_model_that_names_another_maker_fails_at_the_cheap_gates(
    tmp_path: Path, wire: WireServer
) -> None:
    out = audit_cli(config_of(tmp_path, wire), "m-qwen", "--reference", "m-ref", "--format", "json")
    assert out.returncode == 3, out.stderr
    report = json.loads(out.stdout)
    assert report["verdict"] == "different" and report["queries"] <= 4
    assert report["tests"][-1]["name"] == "self-identification"
    assert "Qwen" in report["tests"][-1]["detail"]


def test_a_model_that_answers_differently_fails_the_two_sample_test(
    tmp_path: Path, wire: WireServer
) -> None:
    out = audit_cli(
        config_of(tmp_path, wire), "m-other", "--reference", "m-ref", "--queries", "100"
    )
    assert out.returncode == 3, out.stderr
    assert "two-sample MMD" in out.stdout and "DIFFERENT" in out.stdout
    assert "(" in out.stdout and "queries to m-other" in out.stdout


def test_the_budget_is_never_exceeded(tmp_path: Path, wire: WireServer) -> None:
    config = config_of(tmp_path, wire)
    for budget in (4, 23, 50):
        out = audit_cli(
            config, "m-twin", "--reference", "m-ref", "--queries", str(budget), "--format", "json"
        )
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["queries"] <= budget


def test_bad_audits_say_what_is_wrong(tmp_path: Path, wire: WireServer) -> None:
    config = config_of(tmp_path, wire)
    no_reference = audit_cli(config, "m-twin")
    assert no_reference.returncode == 2 and "--reference REF" in no_reference.stderr
    tiny = audit_cli(config, "m-twin", "--reference", "m-ref", "--queries", "3")
    assert tiny.returncode == 2 and "at least 4 queries" in tiny.stderr
    unknown = audit_cli(config, "m-nope", "--reference", "m-ref")
    assert unknown.returncode == 2 and "no model named 'm-nope'" in unknown.stderr


# -- the proofs with the two packaged models (the full power curves: bench/audit.py) --

SMOL = "SmolLM2-135M-Instruct"
QWEN = "Qwen2.5-Coder-0.5B-Instruct"


@asynccontextmanager
async def local_models(config_file: Path) -> AsyncIterator[ModelPool]:
    pool = ModelPool(load_config(config_file, env={}))
    await pool.start()
    try:
        assert not pool.failures, pool.failures
        yield pool
    finally:
        await pool.stop()


def endpoint(url: str) -> Backend:
    """An OpenAI-compatible endpoint that says it serves SmolLM2."""
    spec = ModelSpec(name="claims-smollm2", kind="openai", base_url=url, model=SMOL)
    return create_backend(spec, ArenaSettings())


async def test_a_reflection_style_proxy_is_caught_in_every_seed(config_file: Path) -> None:
    async with local_models(config_file) as pool:
        qwen_url = pool.backend(QWEN)._base_url  # type: ignore[attr-defined]
        for usage in (True, False):  # with the usage records passed on, and hidden
            with reflection_proxy(qwen_url, usage=usage) as url:
                proxy = endpoint(url)
                try:
                    # The gates decide before any seeded sampling: 20 seeds in bench/audit.py.
                    seeds = range(3) if usage else range(1)
                    for seed in seeds:
                        report = await audit(
                            proxy, "claims-smollm2", pool.backend(SMOL), SMOL, seed=seed
                        )
                        assert report.verdict == "different", report.to_dict()
                        assert report.queries <= 300
                finally:
                    await proxy.stop()
        first = report.tests[-1]
        assert first.p_value <= 0.01 / 6


async def test_the_same_weights_behind_another_url_are_consistent(config_file: Path) -> None:
    async with local_models(config_file) as pool:
        smol = pool.backend(SMOL)
        with reflection_proxy(smol._base_url, honest=True) as url:  # type: ignore[attr-defined]
            honest = endpoint(url)
            try:
                report = await audit(honest, "claims-smollm2", smol, SMOL, queries=64, seed=1)
            finally:
                await honest.stop()
    assert report.verdict == "consistent", report.to_dict()
    assert [t.name for t in report.tests][:3] == [
        "token counts",
        "self-identification",
        "echo of model names",
    ]
    assert len(report.tests) == 6 and report.queries <= 64
