"""``run_arena.py export --public DIR``: a release of the arena's votes that anyone may
download and reproduce the board from, in the shape of the public arena datasets.

One row per anonymous, valid, voted battle older than ``delay_days``: both
conversations (scrubbed of personal data by :mod:`arena.release.scrub`), the models,
the winner, the vote time rounded down to the hour, the language of the first prompt
(ISO 639-1), its categories and its near-duplicate cluster; never a voter's or an
address's hash. Written as ``battles.parquet`` and ``battles.jsonl``, with
``leaderboard.json`` (the board these battles give, with its manifest) and ``README.md``
(the dataset card). ``run_arena.py leaderboard --battles DIR/battles.parquet --verify
DIR/leaderboard.json`` reproduces the board from the release alone.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from arena.duplicates import DUPLICATE_JACCARD, SHINGLE, near_duplicate_clusters
from arena.release.scrub import KINDS, Scrubber
from arena.store import Store
from arena.store.export import export_records
from arena.words import SIDES

__all__ = ["COLUMNS", "Release", "write_release"]

COLUMNS = (
    "question_id",
    "model_a",
    "model_b",
    "winner",
    "tstamp",
    "turn",
    "anony",
    "language",
    "categories",
    "cluster",
    "conversation_a",
    "conversation_b",
)


@dataclass
class Release:
    """What a release holds, for the card and the command's summary."""

    battles: int = 0
    left_out: dict[str, int] = field(default_factory=dict)  # why battles stayed out
    scrubbed: dict[str, int] = field(default_factory=dict)  # personal data replaced
    languages: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)
    clusters: int = 0
    battles_sha256: str = ""
    files: list[str] = field(default_factory=list)


def write_release(
    store: Store,
    folder: str | Path,
    *,
    delay_days: float = 0,
    licence: str = "CC-BY-4.0",
    now: datetime | None = None,
    campaign_alpha: float | None = None,
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> Release:
    """Write the release of ``store`` into ``folder`` (see the module docstring). With
    ``campaign_alpha``, the votes of suspected rigging campaigns at that level
    (:mod:`ratings.campaigns`, as the board's ``exclude_campaigns``) are left out, and
    the card counts them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    now = now or datetime.now(UTC)
    until = (now - timedelta(days=delay_days)).timestamp()
    release = Release(
        left_out={"named or side-by-side": 0, "invalid": 0, "newer than the delay": 0}
    )
    browsers, addresses = _campaigns(store, campaign_alpha)
    if campaign_alpha is not None:
        release.left_out["suspected rigging campaign"] = 0
    scrub = Scrubber()
    rows: list[dict[str, Any]] = []
    for record in export_records(store, ("vote",)):
        if not record["anony"]:
            release.left_out["named or side-by-side"] += 1
        elif not record["is_valid"]:
            release.left_out["invalid"] += 1
        elif record["judge"] in browsers or (record["ip_hash"] or None) in addresses:
            release.left_out["suspected rigging campaign"] += 1
        elif record["tstamp"] > until:
            release.left_out["newer than the delay"] += 1
        else:
            rows.append(_public(record, scrub))
            if len(rows) % 10_000 == 0:
                say(f"read and scrubbed {len(rows):,} battles")
    say(f"{len(rows):,} battles to release; finding near-duplicate prompts")
    prompts = [_first_prompt(r) for r in rows]
    for row, cluster in zip(rows, near_duplicate_clusters(prompts), strict=True):
        row["cluster"] = cluster
    _add_categories(rows, prompts)
    release.battles = len(rows)
    release.scrubbed = {k: scrub.counts.get(k, 0) for k in KINDS}
    release.clusters = len({r["cluster"] for r in rows})
    for row in rows:
        language = row["language"] or "unknown"
        release.languages[language] = release.languages.get(language, 0) + 1
        for name in row["categories"]:
            release.categories[name] = release.categories.get(name, 0) + 1
    say("writing battles.parquet and battles.jsonl")
    _write_parquet(rows, folder / "battles.parquet")
    with (folder / "battles.jsonl").open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    board = _board(folder / "battles.parquet", now, delay_days, licence)
    (folder / "leaderboard.json").write_text(board, encoding="utf-8")
    release.battles_sha256 = json.loads(board)["manifest"].get("battles_sha256", "")
    (folder / "README.md").write_text(_card(release, now, delay_days, licence), encoding="utf-8")
    release.files = ["battles.parquet", "battles.jsonl", "leaderboard.json", "README.md"]
    say(f"release written to {folder}: {release.battles:,} battles")
    return release


def _campaigns(store: Store, alpha: float | None) -> tuple[set[str], set[str]]:
    """The browsers and addresses of the suspected campaigns (none when ``alpha`` is)."""
    if alpha is None:
        return set(), set()
    from arena.store.battle_table import battle_table
    from ratings import Settings
    from ratings.campaigns import suspected_campaigns
    from ratings.leaderboard import select_battles

    table = select_battles(battle_table(store, details=False), Settings(repeat_quantile=1.0))
    found = suspected_campaigns(table, alpha=alpha) if len(table) else []
    return {b for c in found for b in c.browsers}, {a for c in found for a in c.addresses}


def _public(record: dict[str, Any], scrub: Scrubber) -> dict[str, Any]:
    hour = int(record["tstamp"] // 3600 * 3600)
    return {
        "question_id": record["question_id"],
        "model_a": record["model_a"],
        "model_b": record["model_b"],
        "winner": record["winner"],
        "tstamp": float(hour),
        "turn": record["turn"],
        "anony": True,
        "language": record.get("language") or None,
        "categories": [f"tag:{t}" for t in record.get("tags") or ()],
        "cluster": 0,
        "conversation_a": [_message(m, scrub) for m in record["conversation_a"]],
        "conversation_b": [_message(m, scrub) for m in record["conversation_b"]],
    }


def _message(message: dict[str, str], scrub: Scrubber) -> dict[str, str]:
    return {"role": message["role"], "content": scrub(message["content"])}


def _first_prompt(row: dict[str, Any]) -> str:
    return next((m["content"] for m in row["conversation_a"] if m["role"] == "user"), "")


def _add_categories(rows: list[dict[str, Any]], prompts: Sequence[str]) -> None:
    from ratings.categories import LONG_PROMPT_CHARS, is_coding

    for row, prompt in zip(rows, prompts, strict=True):
        found = [f"language:{row['language']}"] if row["language"] else []
        asked = [m["content"] for m in row["conversation_a"] if m["role"] == "user"]
        answered = [
            m["content"]
            for side in SIDES
            for m in row[f"conversation_{side}"]
            if m["role"] == "assistant"
        ]
        if is_coding(asked, answered):
            found.append("coding")
        if len(prompt) >= LONG_PROMPT_CHARS:
            found.append("long_prompt")
        if row["turn"] > 1:
            found.append("multi_turn")
        row["categories"] = found + row["categories"]


def _write_parquet(rows: Iterable[dict[str, Any]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    schema = pa.schema(
        [
            ("question_id", pa.string()),
            ("model_a", pa.string()),
            ("model_b", pa.string()),
            ("winner", pa.string()),
            ("tstamp", pa.float64()),
            ("turn", pa.int64()),
            ("anony", pa.bool_()),
            ("language", pa.string()),
            ("categories", pa.list_(pa.string())),
            ("cluster", pa.int64()),
            ("conversation_a", pa.list_(message)),
            ("conversation_b", pa.list_(message)),
        ]
    )
    rows = list(rows)
    table = pa.table({name: [r[name] for r in rows] for name in COLUMNS}, schema=schema)
    pq.write_table(table, path)


def _board(battles: Path, now: datetime, delay_days: float, licence: str) -> str:
    """The board the released file gives, read back through the ratings' own reader:
    ``leaderboard --battles battles.parquet --verify leaderboard.json`` must agree."""
    from ratings import build_leaderboard, render
    from ratings.io import read_battles

    board = build_leaderboard(read_battles(battles))
    board.manifest["source"] = "public release"
    board.manifest["release"] = {
        "created": now.isoformat(timespec="seconds"),
        "delay_days": delay_days,
        "licence": licence,
        "file_sha256": hashlib.sha256(battles.read_bytes()).hexdigest(),
    }
    return render(board, "json")


def _campaign_note(release: Release) -> str:
    n = release.left_out.get("suspected rigging campaign")
    if n is None:
        return ""
    return (
        f"\n{n:,} vote(s) of suspected rigging campaigns were left out: browsers or addresses "
        "whose votes lifted one model over its neighbours far beyond what the ratings "
        "predict (the arena's campaign screen, exclude_campaigns; its docs/ratings.md).\n"
    )


def _card(release: Release, now: datetime, delay_days: float, licence: str) -> str:
    languages = ", ".join(
        f"{k} {v:,}" for k, v in sorted(release.languages.items(), key=lambda kv: -kv[1])
    )
    categories = ", ".join(f"{k} {v:,}" for k, v in sorted(release.categories.items())) or "none"
    left_out = ", ".join(f"{v:,} {k}" for k, v in release.left_out.items())
    scrubbed = ", ".join(f"{v:,} {k}" for k, v in release.scrubbed.items())
    return f"""# Arena battles: public release

Created {now.strftime("%Y-%m-%d %H:%M UTC")}. {release.battles:,} battles, each an anonymous,
valid vote between two models on the same prompt, cast at least {delay_days:g} day(s) before
the release.

## Files

- `battles.parquet` and `battles.jsonl`: the same rows, one per battle.
- `leaderboard.json`: the board these battles give, with its manifest (method, settings,
  software versions, the SHA-256 of the battle set). Reproduce it from this release alone:
  `python run_arena.py leaderboard --battles battles.parquet --verify leaderboard.json`.

## Schema

| column | type | meaning |
|---|---|---|
| `question_id` | string | the battle's id |
| `model_a`, `model_b` | string | the two models (in the order shown to the voter) |
| `winner` | string | `model_a`, `model_b`, `tie` or `tie (bothbad)` |
| `tstamp` | float | the vote's time, unix seconds, rounded down to the hour |
| `turn` | int | turns in the battle |
| `anony` | bool | always true: only anonymous battles are released |
| `language` | string | ISO 639-1 code of the first prompt's language (Lingua), null when unclear |
| `categories` | list of string | `language:xx`, `coding`, `long_prompt`, `multi_turn`, `tag:NAME` |
| `cluster` | int | near-duplicate cluster of the first prompt: the row number of its \
first member (Jaccard ≥ {DUPLICATE_JACCARD} on character {SHINGLE}-grams, by MinHash) |
| `conversation_a`, `conversation_b` | list of {{role, content}} | each side's conversation |

## Counts

- Battles: {release.battles:,}; near-duplicate clusters: {release.clusters:,}.
- Languages: {languages or "none detected"}.
- Categories: {categories}.
- Left out: {left_out}.
- Battle set SHA-256 (as the board's manifest computes it): `{release.battles_sha256}`.

## How it was filtered

Only anonymous battles (models unknown to the voter until the vote) that the arena's
integrity checks kept valid, and only votes at least {delay_days:g} day(s) old. No voter
identifier, IP address or hash of either is included. Times are rounded down to the hour.
{_campaign_note(release)}
Personal data and secrets were scrubbed from prompts and answers by pattern: {scrubbed}
replaced by `[url]`, `[secret]`, `[email]`, `[iban]`, `[card]`, `[ssn]`, `[ip]`, `[phone]`
(URLs only when they carry credentials or tokens; secrets: API keys and tokens of known
providers' shapes, JWTs, `Bearer`/`Basic` credentials, private keys, random-looking values
given to a key, token or password; IBANs only when their check digits hold, card numbers
only when they pass the Luhn check, US social security numbers as `123-45-6789`). Names,
postal addresses, passwords people chose, other national id numbers and anything written
in free words are not detected: do not use this data to identify anyone.

## Licence

The prompts and answers are released under {licence}. Model answers may also be subject to
the terms of the models that wrote them.
"""
