"""Keeping votes honest: identity leaks, rate limits and caps, prompt moderation.

Anomalous voters and repeated prompts are handled where the ratings are computed
(:mod:`ratings.voters`, :mod:`ratings.leaderboard`), since they weigh votes, not
requests.
"""

from arena.integrity.leaks import KNOWN_IDENTITIES, Leak, find_leaks, identity_terms
from arena.integrity.limits import Limits
from arena.integrity.moderation import Moderator, make_moderator

__all__ = [
    "KNOWN_IDENTITIES",
    "Leak",
    "Limits",
    "Moderator",
    "find_leaks",
    "identity_terms",
    "make_moderator",
]
