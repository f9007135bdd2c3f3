"""Persistence: SQLModel tables and the :class:`Store` over them."""

from arena.store.db import VOTE_LABELS, Store, make_engine
from arena.store.tables import (
    BattleRecord,
    ConsentRecord,
    FeedbackRecord,
    MetaRecord,
    TurnRecord,
)

__all__ = [
    "VOTE_LABELS",
    "BattleRecord",
    "ConsentRecord",
    "FeedbackRecord",
    "MetaRecord",
    "Store",
    "TurnRecord",
    "make_engine",
]
