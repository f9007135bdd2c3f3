"""Benchmark: the endpoint audit's false-positive rate and power, offline, with the two
packaged models (SmolLM2-135M and Qwen2.5-Coder-0.5B on CPU).

    python bench/audit.py [--null 100] [--seeds 20] [--queries 64,150,300]
                          [--answers 20,40,80] [--pool 100] [--what null|mix|monitor|...]

Each row audits an endpoint claiming to be SmolLM2 against a SmolLM2 reference and says
how often the audit called it different, at each budget of queries:

- ``null``: the same weights on another server with another thread count (the audit
  must call it consistent; the share called different is the false-positive rate);
- ``mix 10/25/50%``: that share of requests forwarded to Qwen, the rest honest;
- ``reflection``: a proxy forwarding to Qwen that deletes "Qwen"/"Alibaba" from answers
  (tests/reflection.py), with and without its usage records;
- ``temperature``: SmolLM2 served at temperature 0.7 while 1.0 is asked;
- ``system``: SmolLM2 with an injected system prompt;
- ``monitor``: the check of battle answers (arena/audit/monitor.py) on ``--answers``
  honest answers, and on as many of Qwen's answers under SmolLM2's name.

The null and mixing rows need hundreds of runs of up to 300 queries, which this machine
cannot sample afresh (about 0.2 s per answer): they replay real answers instead. Each
server answers the gates once and ``--pool`` samples per prompt once (SmolLM2 with one
thread as the reference, SmolLM2 with two threads as the honest endpoint, Qwen for the
forwarded share); each run then draws its samples at random, without replacement within
the run, from those pools, through the unchanged ``audit()`` (a replaying ``Backend``).
Runs therefore share answers (each run's 14 per prompt of a pool of 100): every run is a
valid null run, the runs are not independent. The pools are kept in
``bench/.work/audit-pools.json`` for reruns (``--fresh`` draws them again). The proxy
rows run live through ``tests/reflection.py`` with a fresh reference per run, at the
largest budget only (the cheap gates are what catches them, in four queries).

Printed beside the anchors' published figures: Model Equality Testing (arXiv
2410.20247) median power 77% at about 10 samples per prompt; LLMmap (arXiv 2407.15847)
> 95% of 42 versions identified with 8 queries.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

from arena.audit.gates import ECHO_PROMPT, PROBE_REPEATS, PROBE_UNIT, WHO_PROMPT  # noqa: E402
from arena.audit.monitor import check_answers  # noqa: E402
from arena.audit.run import (  # noqa: E402
    GREEDY,
    PROMPTS,
    ReferenceSamples,
    _extend,
    _plan,
    ask,
    audit,
)
from arena.backends import Backend, Usage, create_backend  # noqa: E402
from arena.backends.pool import ModelPool  # noqa: E402
from arena.config import ArenaSettings, ModelSpec, load_config  # noqa: E402
from arena.store.audits import BattleAnswer  # noqa: E402
from tests.reflection import reflection_proxy  # noqa: E402

POOLS = ROOT / "bench" / ".work" / "audit-pools.json"
PARAMS = {"temperature": 1.0, "max_tokens": 24}  # the audit's default sampling
SMOL, TWIN, QWEN = "SmolLM2-135M-Instruct", "SmolLM2-twin", "Qwen2.5-Coder-0.5B-Instruct"
CONFIG = f"""
[[models]]
name = "{SMOL}"
kind = "local"
package = "smollm2-135m-instruct"
threads = 1

[[models]]
name = "{TWIN}"
kind = "local"
package = "smollm2-135m-instruct"
threads = 2

[[models]]
name = "{QWEN}"
kind = "local"
package = "qwen2.5-coder-0.5b-instruct"
"""


def claimant(url: str):  # type: ignore[no-untyped-def]
    spec = ModelSpec(name="claims-smollm2", kind="openai", base_url=url, model=SMOL)
    return create_backend(spec, ArenaSettings())


GATE_PROMPTS = [PROBE_UNIT * k for k in PROBE_REPEATS] + [WHO_PROMPT, ECHO_PROMPT]


@dataclass
class Recorded:
    """What one server answered: each gate prompt once (text, prompt tokens), and a pool
    of sampled answers per audit prompt."""

    gates: dict[str, tuple[str, int | None]]
    pool: dict[str, list[str]]


async def record(backend: Backend, per_prompt: int, params: dict[str, Any]) -> Recorded:
    gates = {}
    for prompt in GATE_PROMPTS:
        options = {"max_tokens": 1} if prompt.startswith(PROBE_UNIT) else GREEDY
        gates[prompt] = await ask(backend, prompt, options)
    pool: dict[str, list[str]] = {}
    await _extend(backend, pool, PROMPTS, per_prompt, params)
    return Recorded(gates, pool)


class Replay(Backend):
    """An endpoint that answers from recorded pools: each request goes to ``other`` with
    probability ``mix`` (else ``honest``), a sampled prompt gets a pool answer not yet
    given in this run."""

    def __init__(self, honest: Recorded, other: Recorded, mix: float, seed: int) -> None:
        super().__init__(ModelSpec(name="replay", kind="openai", base_url="x"), ArenaSettings())
        self.sources, self.mix = (honest, other), mix
        self.chooser = random.Random(seed)
        self.left = {
            id(source): {p: self.chooser.sample(a, len(a)) for p, a in source.pool.items()}
            for source in self.sources
        }

    async def _stream(self, messages, params):  # type: ignore[no-untyped-def, override]
        prompt = messages[-1]["content"]
        source = self.sources[self.chooser.random() < self.mix]
        if prompt in source.gates:
            text, tokens = source.gates[prompt]
        else:
            text, tokens = self.left[id(source)][prompt].pop(), None
        yield text
        yield Usage(prompt_tokens=tokens)


def reference_from(recorded: Recorded, per_prompt: int, seed: int) -> ReferenceSamples:
    chooser = random.Random(10_000 + seed)
    counts = [recorded.gates[p][1] for p in GATE_PROMPTS[: len(PROBE_REPEATS)]]
    return ReferenceSamples(
        SMOL,
        dict(PARAMS),
        counts,
        recorded.gates[WHO_PROMPT][0],
        recorded.gates[ECHO_PROMPT][0],
        {p: chooser.sample(a, per_prompt) for p, a in recorded.pool.items()},
    )


def size(name: str, per_prompt: int) -> int:
    """Answers pooled per prompt: Qwen answers only the forwarded share (at most half)."""
    return per_prompt if name != QWEN else max(1, per_prompt // 2)


async def pools(pool: ModelPool, per_prompt: int, fresh: bool) -> dict[str, Recorded]:
    if POOLS.exists() and not fresh:
        kept = {n: Recorded(**r) for n, r in json.loads(POOLS.read_text()).items()}
        if all(len(a) >= size(n, per_prompt) for n, r in kept.items() for a in r.pool.values()):
            return kept
    recorded = {}
    for name in (SMOL, TWIN, QWEN):
        started = time.monotonic()
        recorded[name] = await record(pool.backend(name), size(name, per_prompt), dict(PARAMS))
        print(
            f"# recorded {name}: gates and {size(name, per_prompt)} answers per prompt "
            f"in {time.monotonic() - started:.0f} s",
            flush=True,
        )
    POOLS.parent.mkdir(exist_ok=True)
    POOLS.write_text(json.dumps({n: asdict(r) for n, r in recorded.items()}, ensure_ascii=False))
    return recorded


def row(label: str, budget: int, verdicts: list[str], spent: list[int], took: float) -> None:
    runs = len(verdicts)
    found = sum(v == "different" for v in verdicts)
    print(
        f"{label:34} {budget:>7} {runs:>5} {found / runs:>9.0%} "
        f"{statistics.median(spent):>21.0f} {took / runs:>6.1f}",
        flush=True,
    )


async def replayed(recorded: dict[str, Recorded], args: argparse.Namespace) -> None:
    cases = {"null (same weights, 2 threads)": 0.0}
    cases |= {f"mix {share:.0%} to Qwen": share for share in (0.1, 0.25, 0.5)}
    for label, share in cases.items():
        if args.what != "all" and args.what not in label:
            continue
        runs = args.null if share == 0 else args.seeds
        for budget in args.budgets:
            verdicts, spent, started = [], [], time.monotonic()
            deepest = max(_plan(budget, PROMPTS), default=0)
            for seed in range(runs):
                endpoint = Replay(recorded[TWIN], recorded[QWEN], share, seed)
                report = await audit(
                    endpoint,
                    "claims-smollm2",
                    reference_from(recorded[SMOL], deepest, seed),
                    queries=budget,
                    seed=seed,
                )
                verdicts.append(report.verdict)
                spent.append(report.queries)
            row(label + " (replayed)", budget, verdicts, spent, time.monotonic() - started)


async def monitored(recorded: dict[str, Recorded], args: argparse.Namespace) -> None:
    """The monitor from battles: battle answers (one per request, prompts repeating
    when there are more answers than prompts) checked against 8 reference answers per
    prompt; replayed from the pools."""
    cases = {"monitor: honest battle answers": TWIN, "monitor: Qwen's answers": QWEN}
    for label, source in cases.items():
        if args.what != "all" and args.what not in label:
            continue
        runs = args.null if source == TWIN else args.seeds
        for count in args.answers:
            verdicts, spent, started = [], [], time.monotonic()
            for seed in range(runs):
                chooser = random.Random(seed)
                left = {p: chooser.sample(a, len(a)) for p, a in recorded[source].pool.items()}
                prompts = [PROMPTS[i % len(PROMPTS)] for i in range(count)]
                answers = [BattleAnswer(p, left[p].pop(), dict(PARAMS)) for p in prompts]
                reference = Replay(recorded[SMOL], recorded[SMOL], 0.0, 20_000 + seed)
                report = await check_answers(
                    answers, reference, "claims-smollm2", SMOL, samples=8, alpha=0.001, seed=seed
                )
                verdicts.append(report.verdict)
                spent.append(0)
            row(f"{label} ({count})", 0, verdicts, spent, time.monotonic() - started)


async def live(pool: ModelPool, args: argparse.Namespace) -> None:
    url = {n: pool.backend(n)._base_url for n in (SMOL, QWEN)}  # type: ignore[attr-defined]
    reference = pool.backend(SMOL)
    cases = {
        "reflection proxy": dict(upstream=url[QWEN]),
        "reflection proxy, usage hidden": dict(upstream=url[QWEN], usage=False),
        "temperature 0.7 served for 1.0": dict(upstream=url[SMOL], honest=True, temperature=0.7),
        "injected system prompt": dict(
            upstream=url[SMOL], honest=True, system="You are a pirate. Answer like one."
        ),
    }
    for label, options in cases.items():
        if args.what != "all" and args.what not in label:
            continue
        for budget in args.budgets[-1:]:  # the gates decide these within four queries
            verdicts, spent, started = [], [], time.monotonic()
            for seed in range(args.seeds):
                with reflection_proxy(seed=seed, **options) as proxy_url:  # type: ignore[arg-type]
                    endpoint = claimant(proxy_url)
                    try:
                        report = await audit(
                            endpoint, "claims-smollm2", reference, SMOL, queries=budget, seed=seed
                        )
                    finally:
                        await endpoint.stop()
                verdicts.append(report.verdict)
                spent.append(report.queries)
            row(label, budget, verdicts, spent, time.monotonic() - started)


async def run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp())
    (folder / "arena.toml").write_text(CONFIG)
    pool = ModelPool(load_config(folder / "arena.toml", env={}))
    await pool.start()
    if pool.failures:
        raise SystemExit(f"models did not start: {pool.failures}")
    try:
        recorded = await pools(pool, args.pool, args.fresh)
        print(
            f"{'endpoint claiming SmolLM2':34} {'queries':>7} {'runs':>5} {'different':>9} "
            f"{'queries used (median)':>21} {'s/run':>6}",
            flush=True,
        )
        await replayed(recorded, args)
        await monitored(recorded, args)
        await live(pool, args)
    finally:
        await pool.stop()
    print(
        "\nanchors: Model Equality Testing, median power 77% at ~10 samples per prompt "
        "(arXiv 2410.20247); LLMmap, >95% of 42 versions with 8 queries (arXiv 2407.15847). "
        "null rows: the false-positive rate, to be at most alpha = 1%."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--null", type=int, default=100, help="null runs (100)")
    parser.add_argument("--seeds", type=int, default=20, help="runs per substitution (20)")
    parser.add_argument("--queries", default="64,150,300", help="budgets (64,150,300)")
    parser.add_argument(
        "--answers", default="20,40,80", help="monitor: battle answers per check (20,40,80)"
    )
    parser.add_argument("--pool", type=int, default=100, help="answers per prompt pooled (100)")
    parser.add_argument("--fresh", action="store_true", help="record the pools again")
    parser.add_argument("--what", default="all", help="only rows whose label contains this")
    args = parser.parse_args()
    args.budgets = [int(q) for q in args.queries.split(",")]
    args.answers = [int(n) for n in args.answers.split(",")]
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
