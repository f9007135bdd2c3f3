"""The language of a prompt, detected locally by Lingua (``lingua-language-detector``:
accurate on short text, no model downloaded at run time).

Lingua's high-accuracy models take 3-5 s and 550 MB to load for the 30 languages
below, so the arena loads them once per process. Lingua holds Python's interpreter
lock the whole time it loads, which freezes every other thread and the event loop
(2.9 s with no answer from the server, measured): the web server loads them
(:func:`load`) before it takes its first request. Elsewhere :func:`preload` loads
them in a background thread (a reload that turns detection on, the tests); a
battle that starts before they are loaded is stored without a language, and
``run_arena.py battles languages`` fills it in later. A prompt whose language is
not clear (too short, or between two languages) gets none.
"""

from __future__ import annotations

import threading
from typing import Any

from arena.words import Side

__all__ = ["LANGUAGES", "detect", "load", "preload", "ready"]

# The languages most prompts of public arenas are in (LMArena's and ComparIA's data),
# by Lingua's names; a prompt in another language is left without one.
LANGUAGES = (
    "ENGLISH CHINESE RUSSIAN SPANISH GERMAN FRENCH JAPANESE KOREAN PORTUGUESE ITALIAN "
    "POLISH VIETNAMESE ARABIC TURKISH INDONESIAN PERSIAN UKRAINIAN DUTCH HINDI CZECH "
    "SWEDISH GREEK HEBREW THAI BENGALI ROMANIAN HUNGARIAN DANISH FINNISH BOKMAL"
).split()
MIN_CHARS = 8  # shorter prompts ("hi", "ok") say nothing about their language
MIN_DISTANCE = 0.1  # Lingua's margin between the best two languages, else none

_detector: Any = None
_lock = threading.Lock()


def load() -> Any:
    """Load the models now (once per process); returns the detector."""
    global _detector
    with _lock:
        if _detector is None:
            from lingua import Language, LanguageDetectorBuilder

            languages = [getattr(Language, name) for name in LANGUAGES]
            detector = (
                LanguageDetectorBuilder.from_languages(*languages)
                .with_minimum_relative_distance(MIN_DISTANCE)
                .with_preloaded_language_models()
                .build()
            )
            _detector = detector
    return _detector


def preload() -> threading.Thread:
    """Load the models in a daemon thread; returns it (join it to wait)."""
    thread = threading.Thread(target=load, name="load lingua", daemon=True)
    thread.start()
    return thread


def ready() -> bool:
    return _detector is not None


def detect(text: str, *, wait: bool = True) -> str | None:
    """The ISO 639-1 code of ``text``'s language (``"en"``, ``"zh"``...), or None when
    it is not clear; with ``wait`` False, None also while the models still load."""
    if len(text.strip()) < MIN_CHARS:
        return None
    detector = load() if wait else _detector
    if detector is None:
        return None
    found = detector.detect_language_of(text[:2000])
    return None if found is None else str(found.iso_code_639_1.name).lower()


def backfill(
    store: Any, *, everything: bool = False, say: Any = print, page: int = 1000
) -> dict[str, int]:
    """Detect the language of the first prompt of every battle without one (with
    ``everything``, of every battle), in pages, saying how far it got."""
    from sqlalchemy import update
    from sqlmodel import select

    from arena.store.tables import BattleRecord, TurnRecord

    done = {"battles": 0, "found": 0}
    last = ""
    say("loading the language models (a few seconds)")
    load()
    while True:
        query = (
            select(BattleRecord.id, TurnRecord.prompt)
            .join(TurnRecord, TurnRecord.battle_id == BattleRecord.id)  # type: ignore[arg-type]
            .where(TurnRecord.turn == 1, TurnRecord.side == Side.A, BattleRecord.id > last)
            .order_by(BattleRecord.id)
            .limit(page)
        )
        if not everything:
            query = query.where(BattleRecord.language == None)  # noqa: E711
        with store.session() as s:
            rows = s.exec(query).all()
            if not rows:
                break
            for battle_id, prompt in rows:
                found = detect(prompt)
                done["found"] += found is not None
                s.exec(
                    update(BattleRecord).where(BattleRecord.id == battle_id).values(language=found)
                )
            s.commit()
        last = rows[-1][0]
        done["battles"] += len(rows)
        say(f"{done['battles']:,} battles done")
    return done
