"""The public release (arena/release): the scrubber on a table of cases, language
detection on real multilingual prompts, and the release round trip through
``leaderboard --verify``."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest
from sqlalchemy import update
from sqlmodel import select

from arena import language
from arena.app import Arena
from arena.config import load_config
from arena.duplicates import near_duplicate_clusters
from arena.errors import ConfigError
from arena.gate import Voter
from arena.release.public import COLUMNS
from arena.release.scrub import Scrubber
from arena.store import BattleRecord, Store, TurnRecord
from arena.store.tables import PromptLabelRecord
from tests.conftest import ROOT, db_url, serve
from tests.wire import WireServer, write_config

VOTER = Voter("release-voter", "203.0.113.9")
WORDS = (
    "apple river mountain quantum violin desert harbor lantern pepper glacier "
    "thunder marble falcon meadow copper orbit saffron tunnel willow ember canyon "
    "velvet compass walnut prism lagoon cobalt tundra juniper beacon"
).split()

CASES = [
    # (text, scrubbed, kinds found)
    ("mail me at jane.doe+arena@example.co.uk please", "mail me at [email] please", {"email": 1}),
    ("Call +33 6 12 34 56 78 or (555) 123-4567.", "Call [phone] or [phone].", {"phone": 2}),
    ("my number is 020 7946 0958", "my number is [phone]", {"phone": 1}),
    ("server at 192.168.1.20, v6 2001:db8::8a2e:370:7334", "server at [ip], v6 [ip]", {"ip": 2}),
    ("card 4111 1111 1111 1111 exp 12/27", "card [card] exp 12/27", {"card": 1}),
    ("card 4111-1111-1111-1112 is not valid", "card 4111-1111-1111-1112 is not valid", {}),
    (
        "see https://x.io/reset?token=abc123&u=1 and https://example.com/docs?page=2",
        "see [url] and https://example.com/docs?page=2",
        {"url": 1},
    ),
    ("login https://bob:hunter2@host.example/", "login [url]", {"url": 1}),
    # Not personal data: dates, versions, prices, code, ordinary numbers.
    ("On 2024-01-15 at 10:30 version 3.11.7 cost $1,299.99", None, {}),
    ("x = [1, 2, 3]; for i in range(10): print(i * 3.14159)", None, {}),
    ("The year 1969 and the number 1234567 and 999.999.999", None, {}),
    ("steps 10 20 30 40 50, total 1,000,000 and 2024-01-15 08 30", None, {}),
    (
        "Appelez le 06 12 34 56 78 ou le 555.123.4567",
        "Appelez le [phone] ou le [phone]",
        {"phone": 2},
    ),
    (
        "ratio 16:9 and time 12:30:45 and ::1 is loopback",
        "ratio 16:9 and time 12:30:45 and ::1 is loopback",
        {},
    ),
]


@pytest.mark.parametrize(("text", "scrubbed", "kinds"), CASES)
def test_the_scrubber_replaces_personal_data_and_counts_it(
    text: str, scrubbed: str | None, kinds: dict[str, int]
) -> None:
    scrub = Scrubber()
    assert scrub(text) == (text if scrubbed is None else scrubbed)
    assert dict(scrub.counts) == kinds


# -- languages ------------------------------------------------------------------------

PROMPTS = {
    # Real prompts of the kind arena voters write, in the languages they write most.
    "en": "Can you explain how a rainbow forms after the rain?",
    "zh": "请用简单的语言解释一下量子计算是什么。",
    "ru": "Напиши короткое стихотворение о весне в городе.",
    "es": "¿Cuál es la diferencia entre un virus y una bacteria?",
    "de": "Wie kann ich am besten für eine Prüfung in Mathematik lernen?",
    "fr": "Quels sont les meilleurs endroits à visiter à Lyon en hiver ?",
    "ja": "東京でおすすめのラーメン屋を教えてください。",
    "ko": "김치찌개를 맛있게 끓이는 방법을 알려주세요.",
    "pt": "Como faço para plantar tomates na varanda de casa?",
    "it": "Scrivi una breve storia su un gatto che vive a Venezia.",
    "pl": "Jakie są najważniejsze wydarzenia w historii Polski?",
    "vi": "Làm thế nào để học tiếng Anh hiệu quả tại nhà?",
    "ar": "ما هي فوائد شرب الماء في الصباح؟",
    "tr": "İstanbul'da gezilecek en güzel yerler nelerdir?",
    "uk": "Як приготувати справжній український борщ?",
    "nl": "Wat is de beste manier om Nederlands te leren?",
}


def test_the_language_of_real_prompts_is_detected() -> None:
    found = {code: language.detect(text) for code, text in PROMPTS.items()}
    assert found == {code: code for code in PROMPTS}
    # Too short, or no language at all: none rather than a guess.
    assert language.detect("hi") is None and language.detect("ok :)") is None
    assert language.detect("12345 67890 + 42 = ?") is None


async def test_a_battle_is_stored_with_its_language_and_older_ones_are_filled_in(
    tmp_path: Path,
) -> None:
    with WireServer() as wire:
        config_path = tmp_path / "arena.toml"
        write_config(config_path, wire, ["m-a", "m-b"], detect_languages="true")
        db = db_url(tmp_path)
        arena = Arena.create(load_config(config_path, env={}, overrides={"db": db}))
        await arena.start()
        try:
            await asyncio.to_thread(language.preload().join)
            battle_id = await arena.battles.start_battle(VOTER)
            async for _ in arena.battles.stream_turn(battle_id, PROMPTS["fr"], VOTER):
                pass
            assert arena.store.battle(battle_id).language == "fr"
            # A battle from before languages were detected, and one with an unclear prompt.
            for prompt in (PROMPTS["de"], "hm"):
                old = await arena.battles.start_battle(VOTER)
                async for _ in arena.battles.stream_turn(old, prompt, VOTER):
                    pass
                with arena.store.session() as s:
                    s.exec(update(BattleRecord).where(BattleRecord.id == old).values(language=None))
                    s.commit()
        finally:
            await arena.stop()
    out = subprocess.run(
        [sys.executable, str(ROOT / "run_arena.py"), "battles", "languages", "--db", db],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "languages detected for 2 battles (1 clear)" in out.stdout
    assert "2 battles done" in out.stderr  # progress
    store = Store(db)
    try:
        with store.session() as s:
            rows = s.exec(select(BattleRecord.language)).all()
        assert sorted(r or "" for r in rows) == ["", "de", "fr"]
    finally:
        store.close()


# -- the release ------------------------------------------------------------------------


def add(
    store: Store,
    a: str,
    b: str,
    winner: str,
    prompt: str,
    *,
    at: datetime,
    anony: bool = True,
    valid: bool = True,
    language_code: str | None = None,
    turns: int = 1,
    answer_a: str = "Sure.",
) -> str:
    battle_id = str(uuid.uuid4())
    store.add_battle(
        BattleRecord(
            id=battle_id,
            created_at=at,
            anony=anony,
            mode="anony" if anony else "named",
            model_a=a,
            model_b=b,
            state="voted",
            turns=turns,
            winner=winner,
            voted_at=at,
            voter_hash="VOTERHASH-" + battle_id[:6],
            ip_hash="IPHASH-" + battle_id[:6],
            valid=valid,
            language=language_code,
            tags=["demo"] if "demo" in prompt else [],
        )
    )
    for turn in range(1, turns + 1):
        for side, answer in (("a", answer_a), ("b", "Of course!")):
            store.add_turn(
                TurnRecord(battle_id=battle_id, turn=turn, side=side, prompt=prompt, answer=answer)
            )
    return battle_id


def test_a_public_release_round_trips_through_verify(tmp_path: Path) -> None:
    db = db_url(tmp_path)
    store = Store(db)
    old = datetime(2026, 1, 5, 14, 37, 12, tzinfo=UTC)
    rng = random.Random(3)
    strength = {"m-a": 2.0, "m-b": 1.0, "m-c": 0.5}
    try:
        for i in range(120):
            a, b = rng.sample(sorted(strength), 2)
            won = rng.random() < strength[a] / (strength[a] + strength[b])
            add(
                store,
                a,
                b,
                "model_a" if won else "model_b",
                " ".join(rng.sample(WORDS, 6)),
                at=old + timedelta(minutes=i),
                language_code="en" if i % 3 else "de",
            )
        # Near-duplicates of one prompt, personal data, a multi-turn coding battle.
        for i, prompt in enumerate(
            [
                "Write me a poem about the sea and the wind, please",
                "write me a poem about the sea and the wind please!",
                "Write me a poem about the sea and the wind, please.",
            ]
        ):
            add(store, "m-a", "m-b", "tie", prompt, at=old + timedelta(hours=3, minutes=i))
        private = add(
            store,
            "m-b",
            "m-c",
            "model_a",
            "My email is jane@example.org and my card 4111 1111 1111 1111, call +44 20 7946 0958",
            at=old,
            answer_a="Noted: jane@example.org, see https://x.io/r?token=abc",
        )
        coding = add(
            store,
            "m-a",
            "m-c",
            "model_b",
            "Fix this python function: def f(x): return x+",
            at=old,
            turns=2,
        )
        # Left out: a named battle, an invalid vote, a vote newer than the delay.
        add(store, "m-a", "m-b", "model_a", "named", at=old, anony=False)
        add(store, "m-a", "m-b", "model_a", "invalid", at=old, valid=False)
        add(store, "m-a", "m-b", "model_a", "too new", at=datetime.now(UTC))
    finally:
        store.close()

    folder = tmp_path / "release"
    out = run("export", "--public", str(folder), "--delay-days", "1", "--db", db, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "125 battles released" in out.stdout
    assert "1 named or side-by-side, 1 invalid, 1 newer than the delay" in out.stdout
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md",
        "battles.jsonl",
        "battles.parquet",
        "leaderboard.json",
    ]

    rows = [json.loads(line) for line in (folder / "battles.jsonl").read_text().splitlines()]
    table = pq.read_table(folder / "battles.parquet").to_pylist()
    assert rows == table  # the two formats hold the same rows
    assert len(rows) == 125 and set(rows[0]) == set(COLUMNS)
    text = (folder / "battles.jsonl").read_text()
    assert "VOTERHASH" not in text and "IPHASH" not in text and "judge" not in text
    assert all(r["tstamp"] % 3600 == 0 for r in rows)
    by_id = {r["question_id"]: r for r in rows}
    scrubbed = by_id[private]
    assert (
        scrubbed["conversation_a"][0]["content"]
        == "My email is [email] and my card [card], call [phone]"
    )
    assert scrubbed["conversation_a"][1]["content"] == "Noted: [email], see [url]"
    assert "jane@example.org" not in text and "4111" not in text
    assert by_id[coding]["categories"] == ["coding", "multi_turn"]
    assert len(by_id[coding]["conversation_a"]) == 4
    poems = [r for r in rows if "poem about the sea" in r["conversation_a"][0]["content"]]
    assert len({r["cluster"] for r in poems}) == 1
    assert len({r["cluster"] for r in rows}) == 125 - 2
    assert {r["language"] for r in rows} == {"en", "de", None}
    assert all(f"language:{r['language']}" in r["categories"] for r in rows if r["language"])

    card = (folder / "README.md").read_text()
    assert "125 battles" in card and "CC-BY-4.0" in card
    assert "1 url, 3 email, 2 card, 0 ip, 2 phone" in card  # the prompt is in both sides
    board = json.loads((folder / "leaderboard.json").read_text())
    assert board["manifest"]["battles_sha256"] in card
    assert [r["model"] for r in board["rows"]][0] == "m-a"

    verified = run(
        "leaderboard",
        "--battles",
        str(folder / "battles.parquet"),
        "--verify",
        str(folder / "leaderboard.json"),
        cwd=tmp_path,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # A board that was changed after the release does not verify.
    board["rows"][0]["rating"] += 25
    (folder / "tampered.json").write_text(json.dumps(board))
    tampered = run(
        "leaderboard",
        "--battles",
        str(folder / "battles.parquet"),
        "--verify",
        str(folder / "tampered.json"),
        cwd=tmp_path,
    )
    assert tampered.returncode != 0 and "m-a: rating" in tampered.stdout + tampered.stderr


def test_export_without_public_says_what_it_does(tmp_path: Path) -> None:
    out = run("export", "--db", db_url(tmp_path), cwd=tmp_path)
    assert out.returncode == 2 and "export --public DIR" in out.stderr
    negative = run("export", "--public", str(tmp_path / "r"), "--delay-days", "-1", cwd=tmp_path)
    assert negative.returncode == 2 and "--delay-days must be 0 or more" in negative.stderr


def test_near_duplicates_share_a_cluster_and_others_do_not() -> None:
    prompts = [
        "How do I bake sourdough bread at home?",
        "how do i bake sourdough bread at home",
        "How do I bake sourdough bread at home??",
        "How do I fix a flat bicycle tire?",
        "Explain the theory of relativity",
        "How do I bake sourdough bread at home?",
    ]
    clusters = near_duplicate_clusters(prompts)
    assert clusters[0] == clusters[1] == clusters[2] == clusters[5] == 0
    assert len({clusters[0], clusters[3], clusters[4]}) == 3


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "run_arena.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def test_a_release_s_board_caps_each_near_duplicate_cluster() -> None:
    from ratings import BattleTable
    from ratings.voters import repeated_prompt_mask

    # 200 battles of distinct prompts and 50 of one cluster of near-duplicates.
    clusters = list(range(200)) + [7] * 50
    table = BattleTable.from_records(
        ["a"] * 250, ["b"] * 250, ["model_a"] * 250, extra={"cluster": [float(c) for c in clusters]}
    )
    keep = repeated_prompt_mask(table, 0.99)
    kept = [c for c, k in zip(clusters, keep, strict=True) if k]
    assert kept.count(7) == 1 and len(kept) == 200  # capped at the 99th percentile: 1


def test_the_category_selector_offers_languages_with_their_votes(tmp_path: Path) -> None:
    from arena.leaderboard import LANGUAGE_MIN_VOTES, leaderboard_view

    store = Store(db_url(tmp_path))
    at = datetime(2026, 1, 5, tzinfo=UTC)
    rng = random.Random(1)
    try:
        for i in range(LANGUAGE_MIN_VOTES + 5):
            add(
                store,
                "m-a",
                "m-b",
                "model_a" if i % 3 else "model_b",
                " ".join(rng.sample(WORDS, 5)),
                at=at,
                language_code="fr",
            )
        for _ in range(3):
            add(
                store,
                "m-a",
                "m-b",
                "model_b",
                " ".join(rng.sample(WORDS, 5)),
                at=at,
                language_code="ja",
            )
        view = leaderboard_view(store, load_config(None, env={}))
    finally:
        store.close()
    choices = dict((value, label) for label, value in view.choices())
    assert choices["Overall"] == "Overall (18 votes)"
    assert choices["language:fr"] == "Language: French (15 votes)"
    assert "language:ja" not in choices  # under the threshold


# -- the board's columns, marks and retired models --------------------------------------


def test_rows_carry_the_rank_spread_and_provisional_marks() -> None:
    from ratings import BattleTable, Settings, build_leaderboard, render

    rng = random.Random(4)
    strength = {"strong": 4.0, "middle": 1.0, "twin": 1.0, "weak": 0.25}
    a, b, w = [], [], []
    for _ in range(3000):
        x, y = rng.sample(sorted(strength), 2)
        a.append(x)
        b.append(y)
        w.append(
            "model_a" if rng.random() < strength[x] / (strength[x] + strength[y]) else "model_b"
        )
    for i in range(6):  # a newcomer with a handful of votes
        a.append("newcomer")
        b.append("middle")
        w.append("model_a" if i % 3 else "model_b")
    table = BattleTable.from_records(a, b, w)
    board = build_leaderboard(
        table,
        Settings(provisional_votes=50, provisional_width=150),
        metadata={"twin": {"url": "https://example.org/twin", "price_in": 0.5, "retired": True}},
    )
    rows = {r.model: r for r in board.rows}
    # strong is confidently first of the settled models; the newcomer's wide interval
    # allows it anywhere, so strong could also be second behind it.
    assert rows["strong"].rank == 1 and rows["strong"].worst_rank == 2
    # middle and twin are equally strong: the intervals allow each to be 2nd to 4th.
    assert rows["middle"].rank == rows["twin"].rank == 2
    assert rows["middle"].worst_rank == rows["twin"].worst_rank == 4
    assert rows["newcomer"].provisional and not rows["strong"].provisional
    assert rows["newcomer"].rank == 1 and rows["newcomer"].worst_rank == 4  # above weak
    assert rows["twin"].retired
    assert rows["twin"].url == "https://example.org/twin" and rows["twin"].price_in == 0.5
    header = next(line for line in render(board, "csv").splitlines() if line.startswith("rank,"))
    assert "worst_rank" in header and "provisional" in header and "retired" in header
    data = board.to_dict()["rows"]
    assert {"worst_rank", "provisional", "url", "price_in", "knowledge_cutoff"} <= set(data[0])


def test_a_retired_model_leaves_the_draw_and_stays_on_the_board(tmp_path: Path) -> None:
    from arena.backends.pool import ModelPool
    from arena.leaderboard import compute_leaderboard
    from arena.ui.leaderboard import table_rows

    with WireServer() as wire:
        config_path = tmp_path / "arena.toml"
        write_config(
            config_path,
            wire,
            ["m-a", "m-b", "m-c"],
            {"m-c": {"retired": "true", "url": '"https://example.org/c"', "price_in": 1.5}},
        )
        config = load_config(config_path, env={}, overrides={"db": db_url(tmp_path)})
    assert "m-c" not in ModelPool(config).backends and "m-c" not in config.public_names
    store = Store(config.settings.db)
    at = datetime(2026, 1, 5, tzinfo=UTC)
    try:
        for i in range(30):
            x, y = [("m-a", "m-b"), ("m-b", "m-c"), ("m-a", "m-c")][i % 3]
            add(store, x, y, "model_a", f"prompt {i} " + " ".join(WORDS[i % 9 : i % 9 + 4]), at=at)
        board = compute_leaderboard(store, config)
    finally:
        store.close()
    rows = {r.model: r for r in board.rows}
    assert rows["m-c"].retired and rows["m-c"].price_in == 1.5
    shown = [row[2] for row in table_rows(board)]
    assert any(
        cell.startswith("[m-c](https://example.org/c)") and "retired" in cell for cell in shown
    )
    assert not any("m-c" in row[2] for row in table_rows(board, retired=False))
    assert all("provisional" in cell for cell in shown)  # 20 votes each, under 100


def test_the_reveal_shows_a_card_of_each_model() -> None:
    from arena.ui.battle import reveal_cards

    a = {
        "name": "m|a",
        "organization": "Org A",
        "license": "MIT",
        "url": "https://a.example",
        "price_in": 0.15,
        "price_out": 0.6,
    }
    b = {
        "name": "m-b",
        "organization": "",
        "license": "",
        "url": "",
        "price_in": None,
        "price_out": None,
    }
    card = reveal_cards(a, b)
    assert "| | Model A: m\\|a | Model B: m-b |" in card
    assert "| Price | $0.15 / $0.6 per M tokens (in / out) |  |" in card
    assert "[model page](https://a.example)" in card and "| Licence | MIT |  |" in card
    assert reveal_cards({"name": "x"}, {"name": "y"}) == ""


# -- sharing a battle after the vote ------------------------------------------------------


def test_a_battle_can_be_shared_after_the_vote_and_never_before(tmp_path: Path) -> None:
    from arena.battles import Reveal
    from arena.ui.battle import _reveal

    db = db_url(tmp_path)
    store = Store(db)
    at = datetime(2026, 1, 5, tzinfo=UTC)
    try:
        voted = add(
            store, "m-a", "m-b", "model_b", "Say <b>hi</b>", at=at, answer_a="<script>x</script>"
        )
        waiting = add(store, "m-a", "m-b", "model_a", "still open", at=at)
        with store.session() as s:
            s.exec(
                update(BattleRecord)
                .where(BattleRecord.id == waiting)
                .values(state="open", winner=None)
            )
            s.commit()
    finally:
        store.close()
    with WireServer() as wire:
        on, off = tmp_path / "on.toml", tmp_path / "off.toml"
        write_config(on, wire, ["m-a", "m-b"])
        write_config(off, wire, ["m-a", "m-b"], share_battles="false")
        with serve(on, db, tmp_path) as (_, url):
            shared = httpx.get(f"{url}share/{voted}")
            assert shared.status_code == 200
            assert "Model A: m-a" in shared.text and "Model B: m-b" in shared.text
            assert "preferred Model B" in shared.text
            assert "&lt;script&gt;x&lt;/script&gt;" in shared.text and "<script>" not in shared.text
            for hidden in (waiting, str(uuid.uuid4()), "not-an-id"):
                refused = httpx.get(f"{url}share/{hidden}")
                assert refused.status_code == 404 and "m-a" not in refused.text
        with serve(off, db, tmp_path, log_name="off.log") as (_, url):
            assert httpx.get(f"{url}share/{voted}").status_code == 404
    reveal = Reveal(voted, "model_b", {"name": "m-a"}, {"name": "m-b"})
    assert f"(/share/{voted})" in _reveal(reveal, share=True)
    assert "/share/" not in _reveal(reveal, share=False)


# -- ratings over time ----------------------------------------------------------------------


def test_ratings_by_week_follow_a_model_that_gets_better() -> None:
    from ratings import BattleTable
    from ratings.history import history_figure, rating_history, week_ends

    rng = random.Random(5)
    start = datetime(2026, 3, 4, 12, tzinfo=UTC).timestamp()  # a Wednesday
    a, b, w, t = [], [], [], []
    for week in range(6):
        for _ in range(400):
            x, y = rng.sample(["rising", "steady", "other"], 2)
            skill = {"rising": 0.5 + week, "steady": 1.0, "other": 1.0}
            a.append(x)
            b.append(y)
            w.append("model_a" if rng.random() < skill[x] / (skill[x] + skill[y]) else "model_b")
            t.append(start + week * 7 * 86400 + rng.random() * 7 * 86400)
    table = BattleTable.from_records(a, b, w, extra={"tstamp": t})
    ends = week_ends(min(t), max(t))
    assert len(ends) == 7 and datetime.fromtimestamp(ends[0], UTC).weekday() == 0
    points = rating_history(table)
    rising = [p for p in sorted(points, key=lambda p: p.at) if p.model == "rising"]
    assert len(rising) == 7 and rising[-1].votes == sum(
        1 for x, y in zip(a, b, strict=True) if "rising" in (x, y)
    )
    assert rising[0].rating < rising[-1].rating - 100  # it climbed
    assert all(p.lower <= p.rating <= p.upper for p in rising)
    assert len(history_figure(points).data) == 6  # a band and a line per model


# -- the coding category ------------------------------------------------------------------

CODING = [
    # (prompts, answers, coding?)
    (["Fix this: ```js\nconst x = ;\n```"], [], True),
    (["def f(x):\n    return x + 1\nprint(f(2))"], [], True),
    (["How do I read a CSV file in Python?"], [], True),
    (["My program crashes with a stack trace about null"], [], True),
    (["Tell me a joke", "Now write it as a bash script"], [], True),  # the second turn
    (["Show me an example"], ["```sql\nSELECT 1;\n```", "```sql\nSELECT 2;\n```"], True),
    (["Write a poem about autumn"], ["Leaves fall...", "```\nLeaves\n```"], True),
    (["Write a poem about autumn"], ["Leaves fall...", "Golden light..."], False),
    (["What did my class learn about the Roman empire?"], [], False),
    (["Plan a three day trip to Lisbon"], ["Day 1: ...", "Day one ..."], False),
]


@pytest.mark.parametrize(("prompts", "answers", "coding"), CODING)
def test_coding_battles_are_told_by_prompts_and_answers(
    prompts: list[str], answers: list[str], coding: bool
) -> None:
    from ratings.categories import is_coding

    assert is_coding(prompts, answers) is coding


async def test_organizer_tags_from_arena_toml_label_battles(tmp_path: Path) -> None:
    with WireServer() as wire:
        config_path = tmp_path / "arena.toml"
        write_config(config_path, wire, ["m-a", "m-b"])
        text = config_path.read_text().replace(
            "[arena]", '[arena]\ntags = { math = "integral|derivative", travel = "\\\\btrip\\\\b" }'
        )
        config_path.write_text(text)
        arena = Arena.create(load_config(config_path, env={}, overrides={"db": db_url(tmp_path)}))
        await arena.start()
        try:
            ids = []
            for prompt in ("What is the integral of x?", "Plan a TRIP to Rome", "Hello there"):
                battle_id = await arena.battles.start_battle(VOTER)
                async for _ in arena.battles.stream_turn(battle_id, prompt, VOTER):
                    pass
                ids.append(battle_id)
            assert [arena.store.battle(i).tags for i in ids] == [["math"], ["travel"], []]
        finally:
            await arena.stop()
        config_path.write_text(text.replace("integral|derivative", "integral("))
        with pytest.raises(ConfigError, match="tag 'math': 'integral\\(' is not a regular"):
            load_config(config_path, env={})


# -- inverse pair weighting -------------------------------------------------------------------


def test_inverse_pair_weights_make_a_skewed_draw_rate_like_a_uniform_one() -> None:
    from ratings import BattleTable, Settings, build_leaderboard

    def battles(per_pair: dict[tuple[str, str], int]) -> BattleTable:
        # A beats B 90% of the time; every other pair is even (not a Bradley–Terry world,
        # so how often each pair is drawn moves the unweighted fit).
        a, b, w = [], [], []
        for (x, y), n in per_pair.items():
            won = round(n * (0.9 if (x, y) == ("A", "B") else 0.5))
            a += [x] * n
            b += [y] * n
            w += ["model_a"] * won + ["model_b"] * (n - won)
        return BattleTable.from_records(a, b, w)

    pairs = [("A", "B"), ("A", "C"), ("A", "D"), ("B", "C"), ("B", "D"), ("C", "D")]
    uniform = battles({p: 2000 for p in pairs})
    skewed = battles({p: 20000 if p == ("A", "B") else 1000 for p in pairs})

    def gap(table: BattleTable, weights: bool) -> float:
        board = build_leaderboard(table, Settings(inverse_pair_weights=weights))
        rows = {r.model: r for r in board.rows}
        assert board.manifest["settings"]["inverse_pair_weights"] is weights
        assert all(r.lower < r.rating < r.upper for r in board.rows)
        return rows["A"].rating - rows["B"].rating

    target = gap(uniform, False)
    assert abs(gap(skewed, True) - target) < 1.0
    assert gap(skewed, False) - target > 50  # the often-drawn pair dominates unweighted
    assert abs(gap(uniform, True) - target) < 1e-6  # uniform draws: weights change nothing
    with pytest.raises(Exception, match="inverse pair weights"):
        Settings(inverse_pair_weights=True, style=True)


# -- hard prompts, labelled by a judge model -----------------------------------------------


def test_a_judge_labels_hard_prompts_in_a_resumable_batch(tmp_path: Path) -> None:
    from arena.hard_prompts import judge_prompt, read_criteria

    assert read_criteria('I think... {"criteria": [1, 3, 9, 3]}') == [1, 3]
    assert read_criteria("no idea") is None
    assert judge_prompt("QUESTION").rstrip().endswith("QUESTION\n</prompt>")

    db = db_url(tmp_path)
    store = Store(db)
    at = datetime(2026, 1, 5, tzinfo=UTC)
    try:
        hard = add(
            store, "m-a", "m-b", "model_a", 'all of them {"criteria": [1,2,3,4,5,6,7]}', at=at
        )
        easy = add(
            store,
            "m-a",
            "m-b",
            "model_b",
            'only one {"criteria": [2]}',
            at=at + timedelta(minutes=1),
        )
        odd = add(
            store, "m-a", "m-b", "tie", "no verdict to read here", at=at + timedelta(minutes=2)
        )
    finally:
        store.close()
    with WireServer() as wire:  # the judge echoes its prompt, the battle's prompt last
        config = tmp_path / "arena.toml"
        write_config(config, wire, ["m-a", "m-b", "m-judge"])
        base = [
            "battles",
            "hard-prompts",
            "--judge",
            "m-judge",
            "--config",
            str(config),
            "--db",
            db,
        ]
        first = run(*base, "--limit", "2", cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        assert "2 battle(s) labelled by m-judge: 1 hard" in first.stdout
        assert "3 battle(s) to label" not in first.stderr and "2 labelled, 0 left" in first.stderr
        asked = len(wire.requests)
        rest = run(*base, cwd=tmp_path)  # resumes: only the battle not labelled yet
        assert "1 battle(s) labelled by m-judge: 0 hard" in rest.stdout
        assert "1 answer(s) unreadable" in rest.stdout and len(wire.requests) == asked + 1
        again = run(*base, "--retry", cwd=tmp_path)  # only the unreadable one again
        assert "1 battle(s) labelled" in again.stdout and len(wire.requests) == asked + 2
        nothing = run(*base, cwd=tmp_path)
        assert "0 battle(s) labelled" in nothing.stdout
    store = Store(db)
    try:
        assert store.battle(hard).tags == ["hard"]
        assert store.battle(easy).tags == [] and store.battle(odd).tags == []
        with store.session() as s:
            labels = s.exec(select(PromptLabelRecord)).all()
        assert sorted(str(r.criteria) for r in labels) == ["None", "[1, 2, 3, 4, 5, 6, 7]", "[2]"]
    finally:
        store.close()
    no_judge = run("battles", "hard-prompts", "--db", db, cwd=tmp_path)
    assert no_judge.returncode == 2 and "--judge MODEL" in no_judge.stderr


def test_the_arena_s_board_caps_near_duplicate_prompts_too(tmp_path: Path) -> None:
    from arena.store.board import battle_table
    from ratings.voters import repeated_prompt_mask

    store = Store(db_url(tmp_path))
    at = datetime(2026, 1, 5, tzinfo=UTC)
    rng = random.Random(8)
    try:
        for _ in range(150):
            add(store, "m-a", "m-b", "model_a", " ".join(rng.sample(WORDS, 8)), at=at)
        for i in range(40):  # one prompt, pasted again and again with small edits
            add(
                store,
                "m-a",
                "m-b",
                "model_b",
                f"Tell me a long joke about penguins{'!' * (i % 4)}",
                at=at + timedelta(seconds=i),
            )
        table = battle_table(store)
    finally:
        store.close()
    clusters = table.column("cluster")
    assert len(set(clusters[-40:])) == 1 and len(set(clusters[:150])) == 150
    keep = repeated_prompt_mask(table, 0.99)
    assert keep[:150].all() and keep[-40:].sum() == 1
