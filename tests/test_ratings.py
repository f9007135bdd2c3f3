"""ratings/: Bradley–Terry on known answers, file reading and its errors, components."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import choix
import numpy as np
import pytest

from ratings import (
    BattleDataError,
    BattleTable,
    PairCounts,
    Settings,
    build_leaderboard,
    fit_bradley_terry,
    read_battles,
    render,
)
from ratings.bradley_terry import zermelo
from tests.conftest import ROOT, csv_rows, db_url, evalica_case, shared_file


def strengths(table: BattleTable) -> dict[str, float]:
    """BT strengths normalised to sum 1, as LLMFAO and evalica publish them."""
    fit = fit_bradley_terry(PairCounts.from_table(table))
    s = np.exp(fit.theta)
    return dict(zip(table.models, s / s.sum(), strict=True))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "run_arena.py"), *args], capture_output=True, text=True
    )


def test_two_models_have_the_closed_form_answer(tmp_path: Path) -> None:
    # A beats B 3 times, B beats A once: strengths 3:1, a gap of 400·log10(3) points.
    lines = [
        {"model_a": "A", "model_b": "B", "winner": w} for w in ("model_a", "model_a", "model_b")
    ]
    lines.append({"model_a": "B", "model_b": "A", "winner": "model_b"})
    path = tmp_path / "battles.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")

    out = run_cli("leaderboard", "--battles", str(path), "--format", "json")
    assert out.returncode == 0, out.stderr
    board = json.loads(out.stdout)
    rows = {r["model"]: r for r in board["rows"]}
    assert rows["A"]["rating"] - rows["B"]["rating"] == pytest.approx(400 * math.log10(3), abs=1e-6)
    assert rows["A"]["rating"] + rows["B"]["rating"] == pytest.approx(2000, abs=1e-6)
    assert rows["A"]["win_rate"] == 0.75 and rows["A"]["votes"] == 4
    assert rows["A"]["lower"] < rows["A"]["rating"] < rows["A"]["upper"]
    assert [r["rank"] for r in board["rows"]] == [1, 1]  # four votes cannot separate them
    assert board["manifest"]["battles"] == 4 and len(board["manifest"]["battles_sha256"]) == 64
    assert set(board["rows"][0]) >= {
        "rank",
        "model",
        "rating",
        "lower",
        "upper",
        "votes",
        "win_rate",
    }


def test_ties_count_half_a_win_each() -> None:
    table = BattleTable.from_records(
        ["A", "A", "A"], ["B", "B", "B"], ["model_a", "tie", "tie (bothbad)"]
    )
    s = strengths(table)
    assert s["A"] / s["B"] == pytest.approx(2.0)  # 2 effective wins against 1


def test_rank_is_by_upper_bound() -> None:
    rng = np.random.default_rng(0)
    n = 3000
    names = np.array(["strong", "middle", "weak"])
    truth = np.array([1.0, 0.9, -1.0])
    a, b = rng.integers(0, 3, n), rng.integers(0, 3, n)
    keep = a != b
    a, b = a[keep], b[keep]
    win = rng.random(a.size) < 1 / (1 + np.exp(-(truth[a] - truth[b])))
    table = BattleTable.from_records(
        list(names[a]), list(names[b]), ["model_a" if w else "model_b" for w in win]
    )
    board = build_leaderboard(table)
    ranks = {r.model: r.rank for r in board.rows}
    assert ranks == {"strong": 1, "middle": 1, "weak": 3}


def test_matches_choix_on_random_battles() -> None:
    rng = np.random.default_rng(1)
    m, n = 8, 4000
    a, b = rng.integers(0, m, n), rng.integers(0, m, n)
    keep = a != b
    a, b = a[keep], b[keep]
    theta = rng.normal(size=m)
    win = rng.random(a.size) < 1 / (1 + np.exp(-(theta[a] - theta[b])))
    names = [f"m{i}" for i in range(m)]
    table = BattleTable.from_records(
        [names[i] for i in a], [names[i] for i in b], ["model_a" if w else "model_b" for w in win]
    )
    ours = fit_bradley_terry(PairCounts.from_table(table)).theta
    theirs = choix.ilsr_pairwise_dense(PairCounts.from_table(table).wins, tol=1e-12)
    np.testing.assert_allclose(ours, theirs - theirs.mean(), atol=1e-6)


@pytest.mark.parametrize("case", ["testcase-pairwise-1.json", "testcase-pairwise-2.json"])
def test_choix_test_cases(case: str) -> None:
    data = json.loads(shared_file("choix_tests", case).read_text())
    pairs = data["data"]
    table = BattleTable.from_records(
        [str(w) for w, _ in pairs], [str(lo) for _, lo in pairs], ["model_a"] * len(pairs)
    )
    s = strengths(table)
    got = np.array([s[str(i)] for i in range(data["num_items"])]) * data["num_items"]
    np.testing.assert_allclose(got, data["ml_est"], atol=1e-7)


LLMFAO = {
    "crowd": "crowd-comparisons.csv",
    "gpt4": "gpt4-crowd-comparisons.csv",
    "gpt3": "gpt3-crowd-comparisons.csv",
}


def llmfao_published(judge: str) -> dict[str, float]:
    return {
        r["item"]: float(r["score"])
        for r in csv_rows(shared_file("llmfao", "published_leaderboard_from_notebook.csv"))
        if r["judge"] == judge
    }


@pytest.mark.parametrize("judge", ["crowd", "gpt3"])
def test_llmfao_published_scores_are_the_exact_optimum(judge: str) -> None:
    published = llmfao_published(judge)
    got = strengths(read_battles(shared_file("llmfao", LLMFAO[judge])))
    assert set(got) == set(published)
    assert max(abs(got[k] - published[k]) for k in got) < 5e-6


@pytest.mark.parametrize("judge", ["crowd", "gpt4", "gpt3"])
def test_llmfao_published_scores_reproduce_with_evalicas_iteration(judge: str) -> None:
    # The notebook ran evalica 0.1.2: Zermelo's iteration, capped at 100 steps.
    table = read_battles(shared_file("llmfao", LLMFAO[judge]))
    scores, _ = zermelo(PairCounts.from_table(table), limit=100)
    published = llmfao_published(judge)
    got = dict(zip(table.models, scores, strict=True))
    assert max(abs(got[k] - published[k]) for k in published) < 5e-6


def test_llmfao_gpt4_published_scores_stopped_short_of_the_optimum() -> None:
    # On the GPT-4 judge's lopsided votes evalica hit its 100-step cap: the published
    # scores are 7e-3 from the maximum-likelihood answer, which we compute exactly.
    table = read_battles(shared_file("llmfao", LLMFAO["gpt4"]))
    counts = PairCounts.from_table(table)
    exact = fit_bradley_terry(counts)
    assert exact.max_gradient < 1e-6
    capped, steps = zermelo(counts, limit=100)
    assert steps == 100
    s = np.exp(exact.theta) / np.exp(exact.theta).sum()
    assert 1e-3 < np.abs(s - capped).max() < 1e-2


@pytest.mark.parametrize("name", ["simple", "food", "llmfao"])
def test_evalica_golden_bradley_terry(name: str) -> None:
    data, golden = evalica_case(name, "bradley_terry")
    total = sum(golden.values())
    got = strengths(read_battles(data))
    for item, score in golden.items():
        assert got[item] == pytest.approx(score / total, abs=1e-9)


def test_genai_arena_disconnected_groups_are_reported_apart() -> None:
    path = shared_file("genai_arena_20240220", "clean_battle_20240220.json")
    out = run_cli("leaderboard", "--battles", str(path), "--format", "json")
    assert out.returncode == 0, out.stderr
    board = json.loads(out.stdout)
    main = {r["model"] for r in board["rows"]}
    other = {r["model"] for group in board["disconnected"] for r in group}
    assert main and other and not main & other
    # The two tasks never meet: each group is one task, never a mixed order.
    assert all(m.endswith("_edition") for m in main) or all(m.endswith("_generation") for m in main)
    assert len({m.rsplit("_", 1)[1] for m in other}) == 1
    assert any("components that never meet" in w for w in board["manifest"]["warnings"])
    assert board["manifest"]["battles"] == 1515  # anonymous battles only, by default
    table = run_cli("leaderboard", "--battles", str(path)).stdout
    assert "never compared with the main board" in table


def test_a_truncated_json_file_is_refused_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text(
        '[\n{"model_a": "A", "model_b": "B", "winner": "model_a"},\n'
        '{"model_a": "A", "model_b": "B", "win'
    )
    with pytest.raises(BattleDataError, match="line 3"):
        read_battles(path)


def test_an_unknown_winner_label_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        '[\n  {"model_a": "A", "model_b": "B", "winner": "model_a"},\n'
        '  {"model_a": "A", "model_b": "B", "winner": "model_c"}\n]\n'
    )
    with pytest.raises(
        BattleDataError, match=r"unknown winner label 'model_c' in line 3; expected model_a"
    ):
        read_battles(path)
    out = run_cli("leaderboard", "--battles", str(path))
    assert out.returncode == 2 and "model_c" in out.stderr and "Traceback" not in out.stderr


def test_a_malformed_jsonl_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"model_a": "A", "model_b": "B", "winner": "tie"}\n{"model_a": oops}\n')
    with pytest.raises(BattleDataError, match="line 2"):
        read_battles(path)


def test_csv_left_right_labels_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("left,right,winner\nA,B,left\nA,B,middle\n")
    with pytest.raises(BattleDataError, match="unknown winner label 'middle' in line 3"):
        read_battles(path)


def test_a_truncated_csv_row_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv"
    path.write_text("model_a,model_b,winner\nA,B,model_a\nA,B\n")
    with pytest.raises(BattleDataError, match="line 3"):
        read_battles(path)


def test_parquet_files_are_read(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "b.parquet"
    pq.write_table(
        pa.table({"model_a": ["A", "B"], "model_b": ["B", "A"], "winner": ["model_a", "tie"]}), path
    )
    table = read_battles(path)
    assert len(table) == 2 and table.models == ("A", "B")


def test_parquet_text_read_encoded_gives_the_same_table_and_the_same_errors(
    tmp_path: Path,
) -> None:
    """Parquet text columns are read dictionary-encoded, in several row groups (each its
    own dictionary); the table, and each refusal, match those of plain text."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    a = ["C", "A", "B", "A", "C", "B"]
    b = ["A", "B", "C", "C", "B", "A"]
    w = ["model_a", "tie", "model_b", "tie (bothbad)", "model_b", "model_a"]
    path = tmp_path / "groups.parquet"
    pq.write_table(pa.table({"model_a": a, "model_b": b, "winner": w}), path, row_group_size=2)
    read = read_battles(path)
    plain = BattleTable.from_records(a, b, w)
    assert read.models == plain.models == ("A", "B", "C")
    assert (read.a == plain.a).all() and (read.b == plain.b).all()
    assert (read.outcome == plain.outcome).all()
    for column, value, message in [
        ("model_b", None, "missing model_b in row 4: None"),
        ("model_a", "  ", "missing model_a in row 4: '  '"),
        ("winner", "model_c", "unknown winner label 'model_c' in row 4"),
        ("winner", None, "unknown winner label None in row 4"),
    ]:
        data = {"model_a": list(a), "model_b": list(b), "winner": list(w)}
        data[column][3] = value
        bad = tmp_path / f"bad-{column}.parquet"
        pq.write_table(pa.table(data), bad, row_group_size=2)
        with pytest.raises(BattleDataError, match=re.escape(message)):
            read_battles(bad)


def test_an_empty_board_is_not_an_error(tmp_path: Path) -> None:
    board = build_leaderboard(BattleTable.from_records([], [], []))
    assert board.rows == [] and board.manifest["battles"] == 0
    assert "No battles to rank yet" in render(board, "table")
    out = run_cli("leaderboard", "--db", db_url(tmp_path, "empty"), "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["rows"] == []


def test_exports_carry_the_manifest_in_every_format(tmp_path: Path) -> None:
    table = BattleTable.from_records(
        ["A", "B", "A"], ["B", "C", "C"], ["model_a", "model_b", "tie"]
    )
    board = build_leaderboard(table, Settings(level=0.9))
    digest = board.manifest["battles_sha256"]
    for fmt in ("table", "csv", "json", "md"):
        assert digest in render(board, fmt), fmt
    csv_text = render(board, "csv")
    header = [line for line in csv_text.splitlines() if not line.startswith("#")][0]
    assert header.startswith("rank,model,rating,lower,upper,votes,win_rate")
    out_file = tmp_path / "board.md"
    path = tmp_path / "b.json"
    path.write_text(
        json.dumps(
            [
                {"model_a": "A", "model_b": "B", "winner": "model_a"},
                {"model_a": "B", "model_b": "A", "winner": "model_a"},
            ]
        )
    )
    out = run_cli("leaderboard", "--battles", str(path), "--format", "md", "--out", str(out_file))
    assert out.returncode == 0 and out_file.read_text().count("| A |") == 1


def test_the_digest_depends_on_the_battles_not_the_source() -> None:
    one = BattleTable.from_records(["A", "B"], ["B", "A"], ["model_a", "tie"])
    two = BattleTable.from_records(["A", "B"], ["B", "A"], ["model_a", "tie"], [True, True])
    other = BattleTable.from_records(["A", "B"], ["B", "A"], ["model_b", "tie"])
    assert one.sha256() == two.sha256() != other.sha256()


def test_one_vote_does_not_separate_two_models() -> None:
    # A model that never lost has no finite maximum-likelihood rating; the board must
    # not claim the precision of a ranking it cannot know.
    board = build_leaderboard(BattleTable.from_records(["A"], ["B"], ["model_a"]))
    a, b = board.rows
    assert (a.model, a.rank, b.rank) == ("A", 1, 1)
    assert a.rating > b.rating and a.upper - a.lower > 500
    assert any("never lost" in w for w in board.manifest["warnings"])


def test_a_clean_sweep_of_twenty_does_separate_them() -> None:
    board = build_leaderboard(BattleTable.from_records(["A"] * 20, ["B"] * 20, ["model_a"] * 20))
    assert [(r.model, r.rank) for r in board.rows] == [("A", 1), ("B", 2)]


def test_settings_take_what_each_registered_method_supports() -> None:
    """ratings.methods.METHODS is the one place a method's abilities are said."""
    from ratings.errors import LeaderboardError
    from ratings.leaderboard import Settings
    from ratings.methods import INTERVALS, METHODS

    for name, method in METHODS.items():
        assert Settings(method=name).resolved_interval == method.default_interval
        for interval in INTERVALS:
            if interval in method.intervals:
                Settings(method=name, interval=interval)
            else:
                with pytest.raises(LeaderboardError, match=f"{name} has no {interval} interval"):
                    Settings(method=name, interval=interval)
        if not method.style:
            with pytest.raises(LeaderboardError, match="style control"):
                Settings(method=name, style=True, interval=method.intervals[0])
    assert [n for n, m in METHODS.items() if not m.likelihood] == ["elo"]
