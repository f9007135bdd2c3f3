"""Run an anchor's rating method on a battle file; executed inside bench/.venv-anchors.

    python _anchors.py arena-rank FILE OUT.json
    python _anchors.py fastchat FILE OUT.json [ROUNDS]

Writes {"models": [...], "ratings": [...], "seconds": {...}}. Not part of the arena:
the anchors pin their own jax/numpy and live in their own virtual environment.
"""

import ast
import json
import math
import pathlib
import sys
import time


def arena_rank(path: str) -> dict:
    import pandas as pd

    t0 = time.perf_counter()
    df = pd.read_parquet(path, columns=["model_a", "model_b", "winner"])
    t1 = time.perf_counter()
    from arena_rank.models.bradley_terry import BradleyTerry
    from arena_rank.utils.data_utils import PairDataset

    t2 = time.perf_counter()
    dataset = PairDataset.from_pandas(df)
    model = BradleyTerry(n_competitors=len(dataset.competitors))
    result = model.compute_ratings_and_cis(dataset, significance_level=0.05, ci_method="sandwich")
    ratings = [float(x) for x in result["ratings"]]
    t3 = time.perf_counter()
    return {
        "models": list(result["competitors"]),
        "ratings": ratings,
        "seconds": {"read": t1 - t0, "import": t2 - t1, "fit_and_sandwich": t3 - t2},
    }


def fastchat_functions() -> dict:
    """FastChat's own compute_elo_mle_with_tie and get_bootstrap_result, taken from the
    installed fschat package (its module imports the whole model stack, so we execute
    just these functions' source)."""
    import fastchat
    import numpy as np
    import pandas as pd
    from tqdm import tqdm

    src = (pathlib.Path(fastchat.__file__).parent / "serve/monitor/elo_analysis.py").read_text()
    namespace = {"np": np, "pd": pd, "math": math, "tqdm": tqdm}
    for node in ast.parse(src).body:
        if isinstance(node, ast.FunctionDef) and node.name in (
            "compute_elo_mle_with_tie",
            "get_bootstrap_result",
        ):
            exec(ast.get_source_segment(src, node), namespace)
    return namespace


def fastchat(path: str, rounds: int) -> dict:
    import pandas as pd

    functions = fastchat_functions()
    t0 = time.perf_counter()
    df = pd.read_parquet(path, columns=["model_a", "model_b", "winner"])
    t1 = time.perf_counter()
    elo = functions["compute_elo_mle_with_tie"](df)
    t2 = time.perf_counter()
    seconds = {"read": t1 - t0, "one_fit": t2 - t1}
    if rounds:
        functions["get_bootstrap_result"](df, functions["compute_elo_mle_with_tie"], rounds)
        seconds["bootstrap_rounds"] = rounds
        seconds["bootstrap"] = time.perf_counter() - t2
    return {
        "models": list(elo.index),
        "ratings": [float(x) for x in elo.values],
        "seconds": seconds,
    }


if __name__ == "__main__":
    which, path, out = sys.argv[1:4]
    if which == "arena-rank":
        result = arena_rank(path)
    else:
        result = fastchat(path, int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    pathlib.Path(out).write_text(json.dumps(result))
