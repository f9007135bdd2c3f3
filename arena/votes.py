"""The vote: a battle's one verdict, with the caps it passes and the flags it carries,
then the reveal of both models.

A vote over its browser's or address's daily cap is refused; a vote is counted but
flagged (left out of the default board) when its battle's answers leaked a model's
identity (arena/integrity/verdicts.py) or its browser's proof of work did not cover it
(arena/integrity/proof.py). :meth:`VoteService.proof_needed` is the one statement of
the proof's rule: the page asks it (``GET /api/proof``) and the vote applies it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from arena.config import Config
from arena.gate import Gate, Voter
from arena.integrity.proof import ProofOfWork, proof_enabled
from arena.integrity.verdicts import LeakVerdicts
from arena.store import BattleRecord, Store

__all__ = ["EPOCH", "Reveal", "VoteService"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # votes since then: all of a browser's votes


@dataclass(frozen=True)
class Reveal:
    """Shown after the vote."""

    battle_id: str
    winner: str
    model_a: dict[str, Any]  # ModelSpec.public(): name, organization, licence, link, price
    model_b: dict[str, Any]


class VoteService:
    def __init__(
        self, config: Callable[[], Config], store: Store, gate: Gate, leaks: LeakVerdicts
    ) -> None:
        self._config = config
        self.store = store
        self.gate = gate
        self.leaks = leaks  # noted by the turns as they end (arena/battles.py)

    def proof_needed(self, voter: Voter) -> int | None:
        """Whether the voter's next vote needs a new proof of work: None when the arena
        asks for none or the browser's proof covers it; else the votes the browser has
        cast, which a new challenge is bound to. Runs on the store's thread."""
        missing, cast = self._proof(voter)
        return None if missing is None else cast

    def _proof(self, voter: Voter) -> tuple[str | None, int]:
        """Why the voter's next vote is not covered by a proof (or None), and the votes
        the browser has cast."""
        settings = self._config().settings
        if not proof_enabled(settings):
            return None, 0
        cast = self.store.votes_since("voter_hash", self.gate.hash(voter.session), EPOCH)
        return ProofOfWork.missing(voter.proof, cast, settings.proof_every), cast

    async def vote(self, battle_id: str, winner: str, voter: Voter) -> Reveal:
        """Record the battle's one vote and reveal both models.

        ``winner`` is one of :class:`arena.words.Vote`. Voting again with the same
        choice returns the same reveal (a double click counts once).

        Raises:
            LimitError: the browser or address is over its daily cap.
            BattleStateError: see :meth:`arena.store.Store.record_vote`.
        """
        settings = self._config().settings
        voter_hash, ip_hash = self.gate.hashes(voter)

        def record() -> BattleRecord:  # one trip to the store's thread
            self.gate.limits.vote(settings, voter_hash, ip_hash)
            flags = [self.leaks.of(self.store, battle_id), self._proof(voter)[0]]
            reason = "; ".join(flag for flag in flags if flag) or None
            return self.store.record_vote(battle_id, winner, voter_hash, reason)

        battle = await self.store.run(record)
        return Reveal(battle.id, winner, self._public(battle.model_a), self._public(battle.model_b))

    def _public(self, name: str) -> dict[str, Any]:
        try:
            return self._config().model(name).public()
        except Exception:  # a model since removed from the config: its name is all we know
            return {"name": name, "kind": "", "organization": "", "license": ""}
