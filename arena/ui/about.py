"""The About tab: what the arena is, how ratings are computed, what is stored."""

from __future__ import annotations

from arena.config import Config

__all__ = ["about_text"]


def about_text(config: Config) -> str:
    return f"""\
## What this is

An open arena that ranks language models by blind, pairwise human votes. You write a
prompt; two anonymous models answer side by side; you vote; only then do you see who
they were. Static benchmarks can be gamed; thousands of blind human judgements are much
harder to fake. {len(config.models)} models take part here.

## How ratings are computed

Each anonymous vote is one battle. The leaderboard fits a **Bradley–Terry model**: model
i beats model j with probability σ(θᵢ − θⱼ), and the strengths θ are the exact
maximum-likelihood answer over all votes (a tie, or "both are bad", counts as half a win
for each side). Ratings are shown on an Elo-like scale, 400·log₁₀(strength) + 1000, with
95% confidence intervals. A model's **rank** is 1 + the number of models that are
confidently better (whose lower bound is above its upper bound), so models whose
intervals overlap share a rank. **Style control** holds answer length and markdown
(headers, lists, bold) equal, so a model cannot climb just by writing longer, fancier
answers. Votes from the Side-by-side tab, where you choose the models, are not counted
on the default board.

## Privacy: exactly what is stored about you

- Your prompts and both models' answers, with timings and token counts.
- Your vote, and which models were in the battle.
- A **keyed hash** of a random id your browser keeps in a cookie, and a keyed hash of
  your IP address. They keep one vote per battle, hold the prompt and vote limits across
  reloads, and help spot abuse. Neither the id nor your IP address is stored in the
  clear. The key (HMAC-SHA-256) is a secret kept outside the database, so a copy of the
  database alone cannot be matched against IP addresses; the organizer, who holds the
  key, could test a guessed address against the stored hashes.
- Whether this browser accepted the terms of use, and when.

Cookies: `arena_voter` (the random id above, signed so that no one can pass as your
browser; HttpOnly, kept one year; clearing it makes you a new voter) and, where the
arena runs on several servers, `arena_route` (which server answers you). The page also
keeps, in your browser's local storage, that you accepted the terms. No analytics,
and the page loads nothing from any other address: not a font, not a script, and not
an image a prompt or an answer names (it is shown as a link with its address, which
opens only if you click it), so a model's owner cannot learn from its answers who
reads them. Do not put private or sensitive information in your prompts: they may be
published, with the votes, for research.

## What is published, and when

The organizer may publish the votes as an open dataset ("public release"): for each
anonymous battle that was voted and counted, both conversations, the two models, the
vote, the language of the first prompt, its categories, and the hour of the vote,
published at the earliest the number of days after the vote the organizer chooses.
Before release, e-mail addresses, phone numbers, IP addresses, card numbers and links
carrying passwords or tokens are replaced by placeholders; names and anything written
in plain words are not detected. The release never includes your browser id, your IP
address or a hash of either, so its rows cannot be linked to one another by voter. The
prompts and answers are released under {config.settings.release_licence}.
"""
