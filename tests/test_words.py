"""The domain's words (arena/words.py): one definition that the store, the ratings, the
page and its script all read."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path

import pytest

from arena.errors import BattleStateError
from arena.server import ARENA_JS
from arena.store import BattleRecord, Store
from arena.web.view import turn_view
from arena.words import BattleState, Mode, Vote, page_words, votable
from ratings import WINNER_LABELS
from tests.conftest import db_url

VOTER = "voter-hash"


def test_the_votes_are_the_labels_the_ratings_read_in_their_order() -> None:
    assert tuple(Vote) == WINNER_LABELS
    assert [v.api_name for v in Vote] == ["model_a", "model_b", "tie", "tie_bothbad"]
    assert [v.shortcut for v in Vote] == ["1", "2", "3", "4"]
    assert Mode("anony") is Mode.ANONY and BattleState("voted") is BattleState.VOTED


@pytest.mark.parametrize(
    ("state", "turns", "streaming"),
    list(itertools.product(list(BattleState), (0, 1, 2), (False, True))),
)
def test_the_page_offers_the_vote_exactly_when_the_store_takes_it(
    tmp_path: Path, state: BattleState, turns: int, streaming: bool
) -> None:
    """One votable rule: the view's "can_vote" and the store's conditional claim agree
    on every combination of state, turns and streaming."""
    store = Store(db_url(tmp_path))
    battle = BattleRecord(
        id=str(uuid.uuid4()),
        model_a="x",
        model_b="y",
        voter_hash=VOTER,
        state=state,
        turns=turns,
        streaming=streaming,
        winner=Vote.A if state == BattleState.VOTED else None,
    )
    store.add_battle(battle)
    shown = turn_view(store.battle(battle.id), [])["can_vote"]
    try:
        taken = store.record_vote(battle.id, Vote.B, VOTER).winner == Vote.B
    except BattleStateError:
        taken = False
    assert votable(battle) == taken
    assert shown == ("yes" if taken else "no")


def test_the_pages_script_reads_the_servers_words() -> None:
    words = page_words()
    assert [v["vote"] for v in words["votes"]] == list(Vote)
    assert ARENA_JS.startswith("window.arenaWords = ")
    script = ARENA_JS.split("\n", 1)[1]
    # No vote key or stream event name is restated in the script itself.
    for vote in words["votes"]:
        assert f'"vote-{vote["key"]}"' not in script
    for event in words["events"].values():
        assert f'=== "{event}"' not in script
    assert '["a", "b"]' not in script  # the sides come from window.arenaWords too
