"""Benchmark: this engine against arena-rank and FastChat's published method.

    python bench/ratings.py [--sizes 140k,2m] [--fastchat-rounds 2] [--work DIR]

Workloads come from ../shared/bench/make_battles.py (140k battles / 150 models and 2M
battles / 250 models). arena-rank and FastChat (fschat 0.2.36) are installed on first
use into bench/.venv-anchors (they pin their own jax and numpy). For each workload it
prints times, ratios, the largest rating difference and each answer's log-likelihood
and largest gradient component under the same objective (ties as half wins).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder comes first on sys.path, and its name would
# shadow the ratings package.
sys.path[0] = str(ROOT)
SHARED = ROOT.parent / "shared" / "bench" / "make_battles.py"
ANCHORS = ROOT / "bench" / ".venv-anchors"
SIZES = {"140k": (140_000, 150), "2m": (2_000_000, 250)}
SCALE = 400 / math.log(10)
FASTCHAT_L2 = 1 / (2 * math.log(10) ** 2)  # sklearn's C=1 penalty on doubled battles


def ensure_anchors() -> Path:
    python = ANCHORS / "bin" / "python"
    if not python.exists():
        print("installing arena-rank and fschat into bench/.venv-anchors ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(ANCHORS)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run(
            [*pip, "arena-rank==0.1.1", "pandas", "pyarrow", "scikit-learn", "pytz", "tqdm"],
            check=True,
        )
        subprocess.run([*pip, "--no-deps", "fschat==0.2.36"], check=True)
    return python


def ensure_data(work: Path, size: str) -> Path:
    battles, models = SIZES[size]
    path = work / f"battles-{size}.parquet"
    if not path.exists():
        if not SHARED.exists():
            sys.exit(f"needs {SHARED} to generate the workloads")
        subprocess.run(
            [
                sys.executable,
                str(SHARED),
                str(path),
                "--battles",
                str(battles),
                "--models",
                str(models),
                "--seed",
                "7",
            ],
            check=True,
        )
    return path


def timed(fn, *args, **kw):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    result = fn(*args, **kw)
    return result, time.perf_counter() - t


def quality(counts, ratings: np.ndarray) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Log-likelihood and largest |gradient| (votes) of ratings under plain BT."""
    from scipy.special import expit, log_expit

    theta = (ratings - ratings.mean()) / SCALE
    diff = theta[:, None] - theta[None, :]
    e, n = counts.effective_wins, counts.battles
    return float((e * log_expit(diff)).sum()), float(np.abs((e - n * expit(diff)).sum(1)).max())


def ours(path: Path) -> dict:
    from ratings import PairCounts, fit_bradley_terry, read_battles
    from ratings.bootstrap import bootstrap_thetas
    from ratings.contextual import fit_contextual, style_features

    table, t_read = timed(read_battles, path)
    t = time.perf_counter()
    counts = PairCounts.from_table(table)
    fit = fit_bradley_terry(counts)
    t_fit = time.perf_counter() - t
    _, t_boot = timed(
        bootstrap_thetas,
        counts,
        lambda c: fit_bradley_terry(c, interval=None, start=fit.theta).theta,
        rounds=100,
        seed=0,
    )
    t = time.perf_counter()
    x, _ = style_features(table)
    fit_contextual(table, x)
    t_style = time.perf_counter() - t
    penalised = fit_bradley_terry(counts, l2=FASTCHAT_L2, interval=None)
    with_tmp = path.with_suffix(".ours.json")
    t = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "run_arena.py"),
            "leaderboard",
            "--battles",
            str(path),
            "--format",
            "json",
            "--out",
            str(with_tmp),
        ],
        check=True,
        capture_output=True,
    )
    t_cli = time.perf_counter() - t
    return {
        "table": table,
        "counts": counts,
        "ratings": SCALE * fit.theta + 1000,
        "penalised": SCALE * penalised.theta + 1000,
        "seconds": {
            "read": t_read,
            "fit_and_sandwich": t_fit,
            "bootstrap_100": t_boot,
            "style": t_style,
            "cli_process": t_cli,
        },
    }


def anchor(python: Path, which: str, path: Path, *extra: str) -> dict:
    out = path.with_suffix(f".{which}.json")
    t = time.perf_counter()
    subprocess.run(
        [str(python), str(ROOT / "bench" / "_anchors.py"), which, str(path), str(out), *extra],
        check=True,
    )
    result = json.loads(out.read_text())
    result["seconds"]["process"] = time.perf_counter() - t
    return result


def aligned(models: tuple[str, ...], result: dict) -> np.ndarray:
    lookup = dict(zip(result["models"], result["ratings"], strict=True))
    r = np.array([lookup[m] for m in models])
    return r - r.mean() + 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="140k,2m")
    parser.add_argument(
        "--fastchat-rounds",
        type=int,
        default=2,
        help="bootstrap rounds to time for FastChat (extrapolated to 100)",
    )
    parser.add_argument("--work", default=str(ROOT / "bench" / ".work"))
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    python = ensure_anchors()
    for size in args.sizes.split(","):
        path = ensure_data(work, size)
        mine = ours(path)
        rank = anchor(python, "arena-rank", path)
        models = mine["table"].models
        r_rank = aligned(models, rank)
        ll_ours, g_ours = quality(mine["counts"], mine["ratings"])
        ll_rank, g_rank = quality(mine["counts"], r_rank)
        s, sr = mine["seconds"], rank["seconds"]
        print(f"\n== {size}: {len(mine['table']):,} battles, {len(models)} models ==")
        print(
            f"ours: read {s['read']:.2f}s  fit+sandwich {s['fit_and_sandwich']:.3f}s  "
            f"bootstrap x100 {s['bootstrap_100']:.2f}s  style {s['style']:.2f}s  "
            f"whole CLI process {s['cli_process']:.2f}s"
        )
        rank_core = sr["read"] + sr["fit_and_sandwich"]
        print(
            f"arena-rank: read {sr['read']:.2f}s  fit+sandwich {sr['fit_and_sandwich']:.2f}s  "
            f"(import {sr['import']:.2f}s)  whole process {sr['process']:.2f}s"
        )
        print(
            f"ratio, arena-rank (read+fit+sandwich) / our whole CLI process: "
            f"{rank_core / s['cli_process']:.1f}x; process / process: "
            f"{sr['process'] / s['cli_process']:.1f}x; fit+sandwich alone: "
            f"{sr['fit_and_sandwich'] / s['fit_and_sandwich']:.0f}x"
        )
        print(
            f"largest rating difference ours vs arena-rank: "
            f"{np.abs(mine['ratings'] - r_rank).max():.3f}"
        )
        print(
            f"log-likelihood ours {ll_ours:.4f} (max gradient {g_ours:.1e} votes), "
            f"arena-rank {ll_rank:.4f} (max gradient {g_rank:.2f} votes), "
            f"difference {ll_ours - ll_rank:.4f}"
        )
        if size == "140k":
            fc = anchor(python, "fastchat", path, str(args.fastchat_rounds))
            sf = fc["seconds"]
            r_fc = aligned(models, fc)
            speedup = sf["one_fit"] / s["fit_and_sandwich"]
            line = (
                f"FastChat compute_elo_mle_with_tie: one fit {sf['one_fit']:.2f}s "
                f"(ours {s['fit_and_sandwich']:.3f}s: {speedup:.0f}x)"
            )
            if "bootstrap" in sf:
                per = (sf["bootstrap"]) / sf["bootstrap_rounds"]
                line += (
                    f"; bootstrap {per:.1f}s/round, ~{100 * per / 60:.1f} min for 100 "
                    f"(ours {s['bootstrap_100']:.2f}s: {100 * per / s['bootstrap_100']:.0f}x)"
                )
            print(line)
            print(
                f"largest difference FastChat vs our fit of its penalised objective: "
                f"{np.abs(mine['penalised'] - r_fc).max():.3f} rating points; vs our plain "
                f"MLE: {np.abs(mine['ratings'] - r_fc).max():.2f}"
            )
        else:
            print(
                "FastChat: not run at this size (its dense design matrix would be "
                f"{2 * len(mine['table']) * len(models) * 8 / 1e9:.0f} GB)"
            )


if __name__ == "__main__":
    main()
