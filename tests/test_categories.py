"""Categories on the arena's own battles: languages (Lingua, on real multilingual
prompts, and the backfill), coding from prompts and answers, organizer tags, hard-prompt
labels by a judge model, near-duplicate clusters and their cap, the category selector."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import select

from arena import language
from arena.app import Arena
from arena.config import load_config
from arena.duplicates import near_duplicate_clusters
from arena.errors import ConfigError
from arena.store import BattleRecord, Store
from arena.store.tables import PromptLabelRecord
from tests.conftest import ROOT, db_url
from tests.records import VOTER, WORDS, add, run
from tests.wire import WireServer, write_config

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
    from arena.store.battle_table import battle_table
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


def test_each_registered_category_is_offered_named_and_selected_from_its_column() -> None:
    """ratings.categories.CATEGORIES is the one place a category is defined: a table
    with the columns lists each, the selector names it, and its mask picks battles."""
    from ratings import BattleTable
    from ratings.categories import CATEGORIES, category_label, category_mask, list_categories
    from ratings.errors import LeaderboardError

    code = "def f(x):\n    return x\n"
    table = BattleTable.from_records(
        ["m1", "m2", "m1"],
        ["m2", "m1", "m2"],
        ["model_a", "tie", "model_b"],
        extra={
            "language": ["fr", "en", "fr"],
            "prompt": ["x" * 2000, code, "hello"],
            "turn": [1, 3, 1],
            "tags": [["law"], [], ["law"]],
        },
    )
    listed = list_categories(table)
    assert listed == [
        "language:en",
        "language:fr",
        "long_prompt",
        "coding",
        "multi_turn",
        "tag:law",
    ]
    assert {name.partition(":")[0] for name in listed} == set(CATEGORIES)
    assert [category_label(n) for n in ("language:fr", "coding", "tag:law")] == [
        "Language: French",
        "Coding",
        "Tag: law",
    ]
    picked = {name: category_mask(table, name).tolist() for name in listed}
    assert picked["language:fr"] == [True, False, True]
    assert picked["long_prompt"] == [True, False, False]
    assert picked["coding"] == [False, True, False]
    assert picked["multi_turn"] == [False, True, False]
    assert picked["tag:law"] == [True, False, True]
    with pytest.raises(LeaderboardError, match="expected language:<code>, long_prompt"):
        category_mask(table, "poetry")
