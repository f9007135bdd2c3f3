"""``run_arena.py leaderboard``: methods, filters, categories, exports, plots, verify."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from arena.store import BattleRecord, Store, TurnRecord
from arena.store.battle_table import battle_table
from ratings.features import answer_style
from tests.conftest import ROOT, db_url


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "run_arena.py"), "leaderboard", *args],
        capture_output=True,
        text=True,
    )


@pytest.fixture
def battles(tmp_path: Path) -> Path:
    """A JSONL log with timestamps, languages, turns, conversations and style columns."""
    rng = np.random.default_rng(0)
    strength = {"alpha": 1.0, "beta": 0.3, "gamma": -0.2, "delta": -1.0}
    names = list(strength)
    rows = []
    for i in range(1200):
        a, b = rng.choice(4, 2, replace=False)
        p = 1 / (1 + np.exp(-(strength[names[a]] - strength[names[b]])))
        u = rng.random()
        winner = "tie" if u > 0.85 else ("model_a" if u < 0.85 * p else "model_b")
        prompt = "Write a Python function to sort a list" if i % 3 == 0 else "Tell me a story"
        rows.append(
            {
                "model_a": names[a],
                "model_b": names[b],
                "winner": winner,
                "anony": i % 10 != 0,
                "tstamp": 1_700_000_000 + 60 * i,
                "language": "English" if i % 4 else "German",
                "turn": 1 + (i % 5 == 0),
                "conversation_a": [
                    {"role": "user", "content": prompt},
                    {"role": "assistant", "content": "..."},
                ],
                "len_a": int(rng.integers(50, 500)),
                "len_b": int(rng.integers(50, 500)),
            }
        )
    path = tmp_path / "battles.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def board_of(out: subprocess.CompletedProcess[str]) -> dict:
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_a_json_export_verifies_and_a_tampered_one_does_not(battles: Path, tmp_path: Path) -> None:
    export = tmp_path / "board.json"
    assert run("--battles", str(battles), "--format", "json", "--out", str(export)).returncode == 0
    good = run("--battles", str(battles), "--verify", str(export))
    assert good.returncode == 0 and good.stdout.startswith("match") and "4 models" in good.stdout

    data = json.loads(export.read_text())
    data["rows"][0]["rating"] += 5
    export.write_text(json.dumps(data))
    bad = run("--battles", str(battles), "--verify", str(export))
    assert bad.returncode == 1 and "MISMATCH" in bad.stdout and "rating" in bad.stdout


def test_verify_notices_different_battles(battles: Path, tmp_path: Path) -> None:
    export = tmp_path / "board.csv"
    run("--battles", str(battles), "--format", "csv", "--out", str(export), "--style")
    assert run("--battles", str(battles), "--verify", str(export)).returncode == 0
    lines = battles.read_text().splitlines()
    other = tmp_path / "other.jsonl"
    other.write_text("\n".join(lines[:-1]) + "\n")
    out = run("--battles", str(other), "--verify", str(export))
    assert out.returncode == 1 and "battle set differs" in out.stdout


def test_html_export_is_a_standalone_page_with_its_manifest(battles: Path) -> None:
    out = run("--battles", str(battles), "--format", "html")
    assert out.returncode == 0
    assert out.stdout.startswith("<!doctype html>") and "<table>" in out.stdout
    assert "battles_sha256" in out.stdout and "alpha" in out.stdout


def test_plots_and_tables_are_written_for_offline_use(battles: Path, tmp_path: Path) -> None:
    out = run(
        "--battles",
        str(battles),
        "--plots",
        str(tmp_path / "plots"),
        "--tables",
        str(tmp_path / "tables"),
    )
    assert out.returncode == 0, out.stderr
    for name in ("ratings", "win_fraction", "battle_counts"):
        page = (tmp_path / "plots" / f"{name}.html").read_text()
        assert 'src="plotly.min.js"' in page and "cdn.plot.ly" not in page
    assert (tmp_path / "plots" / "plotly.min.js").stat().st_size > 1_000_000
    counts = (tmp_path / "tables" / "battle_counts.csv").read_text().splitlines()
    assert counts[0].split(",")[0] == "model" and len(counts) == 5
    fractions = (tmp_path / "tables" / "win_fraction.csv").read_text()
    assert fractions.splitlines()[1].startswith("alpha,")  # board order: strongest first
    assert (tmp_path / "tables" / "average_win_rate.csv").is_file()


def test_a_board_per_category(battles: Path) -> None:
    data = board_of(run("--battles", str(battles), "--categories", "--format", "json"))
    boards = data["categories"]
    assert {"language:English", "language:German", "coding", "multi_turn"} <= set(boards)
    coding = boards["coding"]["manifest"]["battles"]
    german = boards["language:German"]["manifest"]["battles"]
    assert 0 < coding < 1200 and 0 < german < 1200
    one = board_of(run("--battles", str(battles), "--category", "coding", "--format", "json"))
    assert one["manifest"]["battles"] == coding


def test_an_unknown_category_is_named(battles: Path) -> None:
    out = run("--battles", str(battles), "--category", "poetry")
    assert out.returncode == 2 and "unknown category 'poetry'" in out.stderr


def test_filters_exclude_time_and_named(battles: Path) -> None:
    everything = board_of(run("--battles", str(battles), "--include-named", "--format", "json"))
    assert everything["manifest"]["battles"] == 1200
    default = board_of(run("--battles", str(battles), "--format", "json"))
    assert default["manifest"]["battles"] == 1080  # every tenth battle was named
    without = board_of(run("--battles", str(battles), "--exclude", "alpha", "--format", "json"))
    assert "alpha" not in {r["model"] for r in without["rows"]}
    early = board_of(
        run(
            "--battles",
            str(battles),
            "--until",
            "1700003000",
            "--format",
            "json",
            "--include-named",
        )
    )
    assert early["manifest"]["battles"] == 50
    since = board_of(
        run(
            "--battles",
            str(battles),
            "--since",
            "2023-11-14T22:50:00+00:00",
            "--include-named",
            "--format",
            "json",
        )
    )
    assert 0 < since["manifest"]["battles"] < 1200


def test_methods_and_anchor(battles: Path) -> None:
    for method in ("davidson", "elo"):
        data = board_of(run("--battles", str(battles), "--method", method, "--format", "json"))
        assert data["rows"][0]["model"] == "alpha" and data["manifest"]["method"] == method
    anchored = board_of(run("--battles", str(battles), "--anchor", "delta=800", "--format", "json"))
    delta = next(r for r in anchored["rows"] if r["model"] == "delta")
    assert delta["rating"] == pytest.approx(800) and delta["upper"] - delta["lower"] < 1e-6


@pytest.mark.parametrize("anchor", ["oops", "=1200", "gpt=high"])
def test_a_malformed_anchor_is_refused_with_the_expected_form(battles: Path, anchor: str) -> None:
    out = run("--battles", str(battles), "--anchor", anchor)
    assert out.returncode == 2 and "expected MODEL=RATING" in out.stderr


def test_bootstrap_intervals_are_seeded(battles: Path) -> None:
    args = (
        "--battles",
        str(battles),
        "--interval",
        "bootstrap",
        "--rounds",
        "30",
        "--format",
        "json",
    )
    one, two = board_of(run(*args)), board_of(run(*args))
    other = board_of(run(*args, "--seed", "5"))
    assert [r["lower"] for r in one["rows"]] == [r["lower"] for r in two["rows"]]
    assert [r["lower"] for r in one["rows"]] != [r["lower"] for r in other["rows"]]


def test_the_leaderboard_command_never_imports_the_web_stack(battles: Path) -> None:
    code = (
        "import sys; from arena.cli import main; "
        f"main(['leaderboard', '--battles', {str(battles)!r}, '--format', 'json']); "
        "assert 'gradio' not in sys.modules and 'fastapi' not in sys.modules, 'web stack'"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr


def test_style_features_ignore_fenced_code() -> None:
    text = "# Title\n\n- one\n- two\n\n**bold** text\n\n```python\n# not a header\n- x\n```\n"
    style = answer_style(text)
    assert style == {
        "len": float(len(text) - len("```python\n# not a header\n- x\n```")),
        "headers": 1.0,
        "lists": 2.0,
        "bold": 1.0,
    }


def test_arena_battles_carry_style_prompt_and_turns(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    store = Store(url)
    for k, (a_text, b_text) in enumerate(
        [("## Plan\n- a\n- b", "short"), ("**yes**", "```\ncode\n```")]
    ):
        battle_id = f"b{k}"
        store.add_battle(
            BattleRecord(id=battle_id, model_a="A", model_b="B", voter_hash="v", tags=["demo"])
        )
        store.begin_turn(battle_id, "v", 5)
        for side, text in (("a", a_text), ("b", b_text)):
            store.add_turn(
                TurnRecord(
                    battle_id=battle_id, turn=1, side=side, prompt="Write code please", answer=text
                )
            )
        store.end_turn(battle_id, None)
        store.record_vote(battle_id, "model_a", "v")
    table = battle_table(store)
    assert table.column("headers_a").tolist() == [1.0, 0.0]
    assert table.column("lists_a").tolist() == [2.0, 0.0]
    assert table.column("bold_a").tolist() == [0.0, 1.0]
    assert table.column("len_b").tolist() == [5.0, 0.0]  # the fenced block does not count
    assert list(table.column("tags")) == [("demo",), ("demo",)]
    assert table.column("turn").tolist() == [1, 1]
    out = run("--db", url, "--categories", "--format", "json")
    assert {"coding", "tag:demo"} <= set(board_of(out)["categories"])


# A board from a file needs neither the science stack's heavier parts nor the web or
# database stacks (sqlalchemy, sqlmodel and alembic once added half a second).
HEAVY = {"scipy", "pandas", "gradio", "torch", "sklearn", "sqlalchemy", "sqlmodel", "alembic"}


def test_the_leaderboard_command_imports_no_heavy_stack(battles: Path) -> None:
    """Start-up is most of a board's time: SciPy alone once added a second to it, the
    database stack half of one."""
    probe = (
        "import json, runpy, sys\n"
        f"sys.argv = ['run_arena.py', 'leaderboard', '--battles', {str(battles)!r}, "
        "'--format', 'json']\n"
        "try:\n"
        f"    runpy.run_path({str(ROOT / 'run_arena.py')!r}, run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert '"rows"' in out.stdout  # the board was made
    imported = set(json.loads(out.stderr.strip().splitlines()[-1]))
    assert "numpy" in imported and "pyarrow" in imported  # the probe sees imports
    assert not imported & HEAVY, imported & HEAVY


def test_small_text_columns_are_built_like_pyarrow_would() -> None:
    import pyarrow as pa

    from ratings.battles import _arrow

    values = ["gpt-4o", None, "Qwen2.5 — 中文", 17, ""]
    built = _arrow(values)
    assert built.type == pa.string() and built.null_count == 1
    assert built.to_pylist() == ["gpt-4o", None, "Qwen2.5 — 中文", "17", ""]
