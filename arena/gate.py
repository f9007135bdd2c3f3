"""The gate every conversation passes, battle or direct chat alike: who the voter is
(keyed hashes of their browser and address), the terms of use, and each prompt's
admission (its text, the voter's rate limits, the moderation hook)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from arena.config import Config
from arena.errors import BattleStateError, PromptError
from arena.identity import Identity, load_secret
from arena.integrity import Limits, Moderator, make_moderator
from arena.store import Store

__all__ = ["Gate", "Voter", "check_prompt", "pick_first"]


@dataclass(frozen=True)
class Voter:
    """Who is voting, as the web layer knows them (hashed before storage): ``session``
    is the browser's id (:mod:`arena.identity`), or its page session without one."""

    session: str
    ip: str = ""
    proof: int | None = None  # the vote count its proof of work was made at, if any


class Gate:
    """Identity, consent and admission over the arena's current configuration.

    Args:
        config: the configuration in force (read at each call, so a reload applies).
        identity: the keyed hashes; by default from the configured secret.
    """

    def __init__(
        self, config: Callable[[], Config], store: Store, identity: Identity | None = None
    ) -> None:
        self.config = config
        self.store = store
        settings = config().settings
        self.identity = identity or Identity(
            load_secret(settings.secret, settings.secret_file, settings.db)
        )
        self.limits = Limits(store)
        self._moderator: tuple[tuple[str, str], Moderator | None] | None = None

    def hash(self, value: str) -> str:
        """How a browser id or an address is stored."""
        return self.identity.hash(value)

    def hashes(self, voter: Voter) -> tuple[str, str]:
        """The voter's browser and IP address as stored: keyed hashes ("" for no IP)."""
        return self.hash(voter.session), self.hash(voter.ip) if voter.ip else ""

    def accept_terms(self, voter: Voter, *, remembered: bool = False) -> None:
        """Record that this browser accepted the terms of use."""
        self.store.record_consent(self.hash(voter.session), remembered=remembered)

    def check_terms(self, voter: Voter) -> None:
        """Raise :class:`BattleStateError` unless the voter accepted the terms (or there
        are none). On the store's thread."""
        if self.config().settings.terms and not self.store.has_consent(self.hash(voter.session)):
            raise BattleStateError("please read and accept the terms of use first")

    async def admit(self, prompt: str, voter: Voter) -> None:
        """Check a prompt before any model sees it: its text, this voter's rate limits,
        then the moderation hook if one is configured.

        Raises:
            PromptError: the text is refused (empty, too long, invalid, moderated).
            LimitError: the voter sent too many prompts in the last minute.
        """
        settings = self.config().settings
        check_prompt(prompt, settings.max_prompt_chars)
        if settings.prompts_per_minute > 0 or settings.ip_prompts_per_minute > 0:
            # The windows are in the database (shared by every process): its thread.
            await self.store.run(self.limits.prompt, settings, *self.hashes(voter))
        source = (settings.moderation, settings.moderation_key_env)
        if self._moderator is None or self._moderator[0] != source:  # new or reloaded
            self._moderator = (source, make_moderator(settings))
        if self._moderator[1] is not None:
            await self._moderator[1].check(prompt)


def check_prompt(prompt: str, limit: int) -> str:
    """The prompt to send, or :class:`PromptError` saying why not (never cut silently).

    Refused: empty or whitespace-only; over ``limit`` characters; invalid Unicode
    (unpaired surrogates, which no database can store) and control characters other
    than tab and newline (NUL cannot be stored in PostgreSQL text)."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise PromptError("the prompt is empty; write something for the two models to answer")
    if len(prompt) > limit:
        raise PromptError(
            f"the prompt has {len(prompt):,} characters; the limit is {limit:,}. Shorten it and "
            "send again"
        )
    bad = _BAD_CHARACTER.search(prompt)
    if bad:
        code = ord(bad.group(0))
        what = (
            "an invalid character (an unpaired surrogate, not valid Unicode)"
            if 0xD800 <= code <= 0xDFFF
            else "a control character"
        )
        raise PromptError(
            f"the prompt holds {what}, U+{code:04X}, at character {bad.start() + 1:,}; "
            "remove it (or paste the text again as plain text) and send again"
        )
    return prompt


_BAD_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def pick_first(config: Config) -> str:
    """What to say when no model was picked (by name)."""
    if not config.public_names:
        return (
            "this arena offers no model by name (every model is anonymous-only): "
            "the Battle tab is the way in"
        )
    return "pick a model first"
