"""What the battle panel says once a turn is over (arena/web/view.py), from stored rows."""

from __future__ import annotations

import pytest

from arena.store import BattleRecord, TurnRecord
from arena.web.view import turn_view

pytestmark = pytest.mark.no_database  # run once, on SQLite (tests/conftest.py)


def turn(side: str, error: str | None = None, finish: str | None = "stop") -> TurnRecord:
    return TurnRecord(
        battle_id="b",
        turn=1,
        side=side,
        prompt="hi",
        answer="hello",
        error=error,
        finish_reason=finish,
    )


def battle(state: str = "open", turns: int = 1) -> BattleRecord:
    return BattleRecord(
        id="b",
        model_a="Secret-Model-X",
        model_b="Secret-Model-Y",
        voter_hash="v",
        state=state,
        turns=turns,
    )


def test_two_good_answers_wake_the_votes() -> None:
    view = turn_view(battle(), [turn("a"), turn("b")])
    assert view["can_vote"] == "yes" and "Which is better?" in view["status"]


def test_one_failed_answer_says_one_and_both_failed_say_both() -> None:
    # As stored: a failed turn is never counted in the battle's turns.
    one = turn_view(battle("failed", 0), [turn("a", "HTTP 500"), turn("b")])
    both = turn_view(battle("failed", 0), [turn("a", "HTTP 500"), turn("b", "timeout")])
    assert one["status"].startswith("One of the answers failed") and one["can_vote"] == "no"
    assert both["status"].startswith("Both answers failed") and both["can_vote"] == "no"


def test_a_stopped_turn_can_still_be_judged() -> None:
    view = turn_view(battle(), [turn("a", finish="stopped"), turn("b", finish="stopped")])
    assert view["status"].startswith("Stopped.") and view["can_vote"] == "yes"


def test_the_stream_carries_the_panes_as_the_chatbot_takes_them() -> None:
    view = turn_view(battle(), [turn("a"), turn("b")], wire=True)
    assert view["a"][1]["role"] == "assistant"
    assert view["a"][1]["content"] == [{"text": "<p>hello</p>", "type": "text"}]
    assert "Secret-Model" not in str(view)  # no names travel in the stream
