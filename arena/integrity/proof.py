"""Proof of work: a browser solves a small ALTCHA challenge before its votes count.

Gradio's API is public, so a script can send prompts and vote at the pace the rate
limits allow. The page therefore solves an ALTCHA challenge (the ``altcha`` package's
v2 scheme, iterated SHA-256, solved in the page's own script: no third-party service)
when it loads and again every ``proof_every`` votes. A solved challenge gives the
browser a signed cookie, ``arena_proof``, good for its next ``proof_every`` votes.
A vote cast without one is stored, but flagged (``valid = false``, reason "no proof of
work") and so left out of the default board; nothing is refused, so a voter whose page
had not finished solving loses nothing but that vote's weight.

A challenge is bound to the browser (its keyed hash) and to how many votes it had cast
when the challenge was made, so replaying a solved challenge never renews a proof.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import altcha

from arena.config import ArenaSettings

__all__ = [
    "NO_PROOF",
    "PROOF_COOKIE",
    "PROOF_HEADER",
    "ProofError",
    "ProofOfWork",
    "proof_enabled",
]

PROOF_COOKIE = "arena_proof"
# The verified proof's first counted vote travels to the handlers in this header.
PROOF_HEADER = "x-arena-proof"
ALGORITHM = "SHA-256"  # one SHA-256 per try: a page solves it in plain script anywhere
CHALLENGE_S = 600  # a challenge must be solved within ten minutes
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# How a flagged vote's reason starts (after any other flag and "; "): the admin view
# counts the share of such votes (arena/integrity/proof_watch.py).
NO_PROOF = "no proof of work"


class ProofError(ValueError):
    """A solution that does not prove the work (wrong, expired, another browser's)."""


def proof_enabled(settings: ArenaSettings) -> bool:
    """``proof_of_work``: on, off, or auto (on when the arena listens beyond this
    machine; behind a proxy on the same machine, set it on)."""
    if settings.proof_of_work == "auto":
        return settings.host not in LOOPBACK
    return settings.proof_of_work == "on"


@dataclass(frozen=True)
class ProofOfWork:
    """Challenges, their verification, and the proof cookie, under the arena's secret."""

    key: bytes

    def _sub(self, label: str) -> bytes:
        return hashlib.sha256(f"arena proof {label}:".encode() + self.key).digest()

    def challenge(self, browser: str, votes: int, work: int) -> dict[str, Any]:
        """A challenge for ``browser`` (its id), which has cast ``votes`` votes: finding
        its answer takes between ``work`` / 2 and ``work`` hashes."""
        made = altcha.create_challenge(
            ALGORITHM,
            1,
            counter=secrets.randbelow(max(1, work // 2)) + work // 2,
            expires_at=int(time.time()) + CHALLENGE_S,
            data={"browser": self._tag(browser), "votes": votes},
            hmac_secret=self._sub("challenge"),
            hmac_key_secret=self._sub("key"),
        )
        return made.to_dict()

    def _tag(self, browser: str) -> str:
        return hmac.new(self._sub("browser"), browser.encode(), hashlib.sha256).hexdigest()[:32]

    def verify(self, payload: str, browser: str) -> int:
        """The vote count the solved challenge was made at.

        Raises:
            ProofError: the solution is wrong, expired, tampered with, or another
                browser's.
        """
        result = altcha.verify_solution(
            payload, self._sub("challenge"), hmac_key_secret=self._sub("key")
        )
        if not result.verified:
            why = "expired" if result.expired else "not a solution of a challenge from here"
            raise ProofError(f"the proof of work is {why}; the page will try again")
        data = altcha.Payload.from_base64(payload).challenge.parameters.data or {}
        if data.get("browser") != self._tag(browser) or not isinstance(data.get("votes"), int):
            raise ProofError("that proof of work was solved for another browser")
        return int(data["votes"])

    def cookie(self, browser: str, votes: int) -> str:
        """The proof cookie's value: good from vote ``votes`` + 1 on."""
        return f"{votes}.{self._signature(browser, votes)}"

    def read(self, cookie: str | None, browser: str) -> int | None:
        """The vote count a proof cookie of ``browser`` was made at, or None."""
        if not cookie or "." not in cookie:
            return None
        votes, _, signature = cookie.partition(".")
        if not (votes.isascii() and votes.isdigit()):  # "²".isdigit(), and int("²") raises
            return None
        expected = self._signature(browser, int(votes)).encode()
        if hmac.compare_digest(signature.encode(errors="replace"), expected):
            return int(votes)
        return None

    def _signature(self, browser: str, votes: int) -> str:
        message = f"{browser}:{votes}".encode()
        return hmac.new(self._sub("cookie"), message, hashlib.sha256).hexdigest()[:32]

    @staticmethod
    def missing(proof: int | None, votes: int, every: int) -> str | None:
        """Why the next vote of a browser that has cast ``votes`` is not covered by its
        proof (made at vote count ``proof``, good for ``every`` votes), or None."""
        if proof is None:
            return f"{NO_PROOF}: the vote came from a client that never solved one"
        if votes - proof >= every:
            return f"{NO_PROOF}: the last one covered {every} votes"
        return None
