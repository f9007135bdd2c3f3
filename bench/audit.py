"""Benchmark: the endpoint audit's false-positive rate and power, offline, with the two
packaged models (SmolLM2-135M and Qwen2.5-Coder-0.5B on CPU).

    python bench/audit.py [--null 100] [--seeds 20] [--queries 64,150,300] [--what all]

Each row audits an endpoint claiming to be SmolLM2 against a SmolLM2 reference:

- ``null``: the same weights on another server with another thread count (the audit
  must call it consistent; the share called different is the false-positive rate);
- ``reflection``: a proxy forwarding to Qwen that deletes "Qwen"/"Alibaba" from answers
  (tests/reflection.py), with and without its usage records;
- ``temperature``: SmolLM2 served at temperature 0.7 while 1.0 is asked;
- ``system``: SmolLM2 with an injected system prompt;
- ``mix 10/25/50%``: that share of requests forwarded to Qwen.

For each budget (``--queries``) it prints how often the audit called the endpoint
different, and the queries it spent, beside the anchors' published figures: Model
Equality Testing (arXiv 2410.20247) median power 77% at about 10 samples per prompt;
LLMmap (arXiv 2407.15847) > 95% of 42 versions identified with 8 queries.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

from arena.audit.run import audit  # noqa: E402
from arena.backends import create_backend  # noqa: E402
from arena.backends.pool import ModelPool  # noqa: E402
from arena.config import ArenaSettings, ModelSpec, load_config  # noqa: E402
from tests.reflection import reflection_proxy  # noqa: E402

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


async def run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp())
    (folder / "arena.toml").write_text(CONFIG)
    pool = ModelPool(load_config(folder / "arena.toml", env={}))
    await pool.start()
    if pool.failures:
        raise SystemExit(f"models did not start: {pool.failures}")
    url = {n: pool.backend(n)._base_url for n in (SMOL, TWIN, QWEN)}  # type: ignore[attr-defined]
    reference = pool.backend(SMOL)
    cases = {
        "null (same weights, 2 threads)": dict(upstream=url[TWIN], honest=True),
        "reflection proxy": dict(upstream=url[QWEN]),
        "reflection proxy, usage hidden": dict(upstream=url[QWEN], usage=False),
        "temperature 0.7 served for 1.0": dict(upstream=url[SMOL], honest=True, temperature=0.7),
        "injected system prompt": dict(
            upstream=url[SMOL], honest=True, system="You are a pirate. Answer like one."
        ),
        **{
            f"mix {share:.0%} to Qwen": dict(
                upstream=url[SMOL], honest=True, mix=share, other=url[QWEN]
            )
            for share in (0.1, 0.25, 0.5)
        },
    }
    budgets = [int(q) for q in args.queries.split(",")]
    print(
        f"{'endpoint claiming SmolLM2':34} {'queries':>7} {'runs':>5} {'different':>9} "
        f"{'queries used (median)':>21} {'s/run':>6}"
    )
    try:
        for label, options in cases.items():
            if args.what != "all" and args.what not in label:
                continue
            runs = args.null if label.startswith("null") else args.seeds
            for budget in budgets:
                found, spent, started = 0, [], time.monotonic()
                for seed in range(runs):
                    with ExitStack() as stack:
                        proxy_url = stack.enter_context(reflection_proxy(seed=seed, **options))
                        endpoint = claimant(proxy_url)
                        try:
                            report = await audit(
                                endpoint,
                                "claims-smollm2",
                                reference,
                                SMOL,
                                queries=budget,
                                seed=seed,
                            )
                        finally:
                            await endpoint.stop()
                    found += report.verdict == "different"
                    spent.append(report.queries)
                took = (time.monotonic() - started) / runs
                print(
                    f"{label:34} {budget:>7} {runs:>5} {found / runs:>9.0%} "
                    f"{statistics.median(spent):>21.0f} {took:>6.1f}",
                    flush=True,
                )
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
    parser.add_argument("--what", default="all", help="only rows whose label contains this")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
