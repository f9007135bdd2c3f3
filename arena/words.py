"""The arena's domain words, defined once: sides, votes, battle states and modes,
feedback, a turn's events and the page's stream events.

Each is a ``StrEnum`` whose values are the strings the database, the API and the
exports have always held, so nothing is migrated and a value compares equal to its
string. The page's own script reads the names it needs from :func:`page_words`, which
the server puts in front of it (arena/server.py), so the script and the server cannot
drift apart.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol

__all__ = [
    "SIDES",
    "BattleState",
    "Feedback",
    "Mode",
    "Side",
    "StreamEvent",
    "TurnEvent",
    "Vote",
    "page_words",
    "votable",
]


class Side(StrEnum):
    """A battle's two sides (a direct chat has only ``A``)."""

    A = "a"
    B = "b"

    @property
    def label(self) -> str:
        """How the page names it: Model A, Model B."""
        return self.value.upper()


SIDES: tuple[Side, ...] = tuple(Side)


class Vote(StrEnum):
    """A voter's verdict, as stored in ``battles.winner`` and sent to ``/api/vote``."""

    A = "model_a"
    B = "model_b"
    TIE = "tie"
    BOTH_BAD = "tie (bothbad)"

    @property
    def label(self) -> str:
        """The button's text."""
        return _VOTE_LABEL[self]

    @property
    def key(self) -> str:
        """The button's element id suffix (``battle-vote-a``) and class (``vote-a``)."""
        return _VOTE_KEY[self]

    @property
    def shortcut(self) -> str:
        """The keyboard key that presses the button."""
        return str(list(Vote).index(self) + 1)

    @property
    def api_name(self) -> str:
        """The Gradio API event's name (after the side-by-side panel's ``sbs_``):
        ``model_a``, ``model_b``, ``tie``, ``tie_bothbad``."""
        return self.value.replace(" (bothbad)", "_bothbad")

    @property
    def verdict(self) -> str:
        """What the share page says of it."""
        return _VOTE_VERDICT[self]


_VOTE_LABEL = {
    Vote.A: "A is better",
    Vote.B: "B is better",
    Vote.TIE: "Tie",
    Vote.BOTH_BAD: "Both are bad",
}
_VOTE_KEY = {Vote.A: "a", Vote.B: "b", Vote.TIE: "tie", Vote.BOTH_BAD: "bad"}
_VOTE_VERDICT = {
    Vote.A: "the voter preferred Model A",
    Vote.B: "the voter preferred Model B",
    Vote.TIE: "the voter called it a tie",
    Vote.BOTH_BAD: "the voter found both answers bad",
}
# The ratings read what the store writes: the same labels in the same order, which
# tests/test_words.py checks against ratings.WINNER_LABELS.


class BattleState(StrEnum):
    OPEN = "open"  # answers may come, then a vote
    VOTED = "voted"
    FAILED = "failed"  # an answer failed: no vote is taken


class Mode(StrEnum):
    ANONY = "anony"  # two anonymous models, named after the vote
    NAMED = "named"  # side by side, the voter chose both
    DIRECT = "direct"  # a chat with one model


class Feedback(StrEnum):
    """What a voter may say of a direct chat's answer."""

    UPVOTE = "upvote"
    DOWNVOTE = "downvote"
    FLAG = "flag"

    @property
    def label(self) -> str:
        """The button's text."""
        return {"upvote": "👍 Upvote", "downvote": "👎 Downvote", "flag": "🚩 Flag"}[self]

    @property
    def thanks(self) -> str:
        """What the voter is told once it is recorded."""
        return {
            "upvote": "Thanks, upvote recorded.",
            "downvote": "Thanks, downvote recorded.",
            "flag": "Flagged for review. Thank you.",
        }[self]


class TurnEvent(StrEnum):
    """What an answer tells its turn as it streams (arena/answers.py)."""

    FIRST = "first"  # the first chunk
    CHUNK = "chunk"  # every later one
    DONE = "done"  # the answer is stored


class StreamEvent(StrEnum):
    """The server-sent events of a turn, as the page's script reads them."""

    LINE = "line"  # the arena is full: the place in line
    START = "start"  # the turn started: the battle and both panes
    REFUSED = "refused"  # nothing started: why
    DONE = "done"  # the turn is stored: what the page shows next


class _Votable(Protocol):
    state: str
    turns: int
    streaming: bool


def votable(battle: _Votable) -> bool:
    """Whether a battle takes a vote now: open, answered at least once, and not
    streaming. The store's claim of the vote holds the same rule as SQL
    (``Store.record_vote``); tests/test_words.py checks that the two agree."""
    return battle.state == BattleState.OPEN and battle.turns >= 1 and not battle.streaming


def page_words() -> dict[str, Any]:
    """The names the page's script uses, as the server defines them."""
    return {
        "sides": [str(s) for s in SIDES],
        "votes": [{"vote": str(v), "key": v.key, "shortcut": v.shortcut} for v in Vote],
        "events": {e.name.lower(): str(e) for e in StreamEvent},
    }
