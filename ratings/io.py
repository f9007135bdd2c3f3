"""Reading battle files: LMSYS ``clean_battle`` JSON arrays, JSONL, CSV and Parquet.

Every reader refuses a truncated or malformed file, or an unknown winner label, with
an error that names the line (text files) or row (Parquet) and the offending value.
Optional columns are kept when present: ``anony``, ``tstamp``, ``language``, ``turn``,
``is_valid``/``valid``, ``category_tags``/``tags``, style features as flat columns
(``len_a``, ``headers_a``, ``lists_a``, ``bold_a`` and their ``_b`` twins) or in LMSYS
``conv_metadata``, and the first prompt from ``conversation_a``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Collection, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ratings.battles import BattleTable, arrow_to_numpy
from ratings.errors import BattleDataError

__all__ = ["OPTIONAL_COLUMNS", "STYLE_COLUMNS", "read_battles"]

_LEFT_RIGHT = {"left": "model_a", "right": "model_b", "tie": "tie"}
STYLE_COLUMNS = ("len", "headers", "lists", "bold")
_NUMERIC = {"tstamp": float, "turn": int}
_FLAT = [f"{f}_{s}" for f in STYLE_COLUMNS for s in "ab"]
_META = {  # LMSYS conv_metadata key -> our feature
    "sum_assistant_{}_tokens": "len",
    "header_count_{}": "headers",
    "list_count_{}": "lists",
    "bold_count_{}": "bold",
}


OPTIONAL_COLUMNS = (
    "anony",
    "valid",
    "tstamp",
    "language",
    "turn",
    "tags",
    "prompt",
    "cluster",
    *_FLAT,
)


def read_battles(
    path: str | Path, *, keep: Collection[str] | None = None, progress: bool = False
) -> BattleTable:
    """Read a battle file, choosing the format by its suffix and first character.

    ``keep`` names the optional columns to keep (:data:`OPTIONAL_COLUMNS`; all by
    default). A plain fit needs only ``anony`` and ``valid``; leaving the rest out
    makes a large Parquet file quicker to read. ``progress`` shows a progress bar on
    standard error while a large JSONL or CSV file is parsed.

    ``.parquet`` is Parquet; ``.csv`` is CSV with ``model_a, model_b, winner`` or
    ``left, right, winner`` (winner ``left | right | tie``); anything else is JSON: an
    array of objects when it starts with ``[``, else one object per line (JSONL).

    Raises:
        BattleDataError: the file is missing, truncated or malformed, or holds an
            unknown winner label; the message names the file and the line or row.
    """
    path = Path(path)
    if not path.is_file():
        raise BattleDataError(f"battle file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            table = _read_parquet(path, keep)
        else:
            table = (_read_csv if suffix == ".csv" else _read_json)(path, progress)
    except BattleDataError as exc:
        raise BattleDataError(f"{path}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise BattleDataError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    if keep is not None:
        table = replace(table, extra={k: v for k, v in table.extra.items() if k in keep})
    return table


_PROGRESS_BYTES = 20_000_000  # smaller files parse in a second or two


def _lines(lines: Iterable[str], size: int, progress: bool) -> Iterable[str]:
    if not progress or size < _PROGRESS_BYTES:
        return lines
    from tqdm import tqdm

    bar = tqdm(total=size, unit="B", unit_scale=True, desc="reading", leave=False)

    def counted() -> Iterator[str]:
        for line in lines:
            bar.update(len(line) + 1)
            yield line
        bar.close()

    return counted()


def _read_json(path: Path, progress: bool = False) -> BattleTable:
    text = path.read_text(encoding="utf-8", errors="strict")
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BattleDataError(f"malformed JSON at line {exc.lineno}: {exc.msg}") from None
        if not isinstance(records, list):
            raise BattleDataError("expected a JSON array of battle objects")
        return _from_dicts(records, _record_lines(text, len(records)))
    records, lines = [], []
    for number, line in enumerate(_lines(text.splitlines(), len(text), progress), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise BattleDataError(
                f"malformed JSON on line {number}: {exc.msg}: {line[:80]!r}"
            ) from None
        lines.append(number)
    return _from_dicts(records, lines)


def _record_lines(text: str, count: int) -> list[int]:
    """Line of each top-level object's opening brace in a JSON array (for errors)."""
    lines, depth, line, in_string, escaped = [], 0, 1, False, False
    for char in text:
        if char == "\n":
            line += 1
        elif in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            if depth == 1 and char == "{":
                lines.append(line)
            depth += 1
        elif char in "]}":
            depth -= 1
    return lines if len(lines) == count else list(range(1, count + 1))


def _from_dicts(records: list[Any], lines: list[int]) -> BattleTable:
    # An arena export (/api/admin/battles) also holds failed and unvoted battles, chats
    # and feedback, each row saying its kind in "record": only votes are battles here.
    kept = [
        (r, line)
        for r, line in zip(records, lines, strict=True)
        if not (isinstance(r, dict) and r.get("record", "vote") != "vote")
    ]
    records, lines = [r for r, _ in kept], [line for _, line in kept]
    for record, line in zip(records, lines, strict=True):
        if not isinstance(record, dict):
            raise BattleDataError(f"line {line}: expected an object, got {record!r:.80}")
        missing = [k for k in ("model_a", "model_b", "winner") if k not in record]
        if missing:
            raise BattleDataError(f"line {line}: missing field {', '.join(missing)}")
    first = records[0] if records else {}
    columns = {k: [r.get(k) for r in records] for k in first}
    if "conv_metadata" in first:
        for key, feature in _META.items():
            for side in "ab":
                columns[f"{feature}_{side}"] = [
                    _count((r.get("conv_metadata") or {}).get(key.format(side))) for r in records
                ]
    if "conversation_a" in first:
        columns["prompt"] = [_first_prompt(r.get("conversation_a")) for r in records]
    return _table(columns, lines, "line")


def _count(value: Any) -> float:
    if isinstance(value, dict):
        return float(sum(value.values()))
    return float(value or 0)


def _first_prompt(conversation: Any) -> str:
    for message in conversation or []:
        if isinstance(message, dict) and message.get("role") == "user":
            return str(message.get("content", ""))
    return ""


def _table(columns: dict[str, list[Any]], positions: list[int], where: str) -> BattleTable:
    extra: dict[str, Any] = {}
    for name, kind in _NUMERIC.items():
        if name in columns:
            extra[name] = np.asarray(
                [kind(v) if v not in (None, "") else np.nan for v in columns[name]], dtype=float
            )
    for name in _FLAT:
        if name in columns:
            extra[name] = np.asarray([float(v or 0) for v in columns[name]], dtype=float)
    for source in ("is_valid", "valid"):
        if source in columns:
            extra["valid"] = np.asarray([_truth(v) for v in columns[source]], dtype=bool)
    for source in ("category_tags", "tags"):
        if source in columns:
            extra["tags"] = [tuple(_tags(v)) for v in columns[source]]
    for name in ("language", "prompt"):
        if name in columns:
            extra[name] = [str(v or "") for v in columns[name]]
    anony = [_truth(v) for v in columns["anony"]] if "anony" in columns else None
    return BattleTable.from_records(
        columns["model_a"],
        columns["model_b"],
        columns["winner"],
        anony,
        extra=extra,
        where=where,
        positions=positions,
    )


def _truth(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "")
    return bool(value) if value is not None else True


def _tags(value: Any) -> list[str]:
    if isinstance(value, dict):  # LMSYS category_tag: {"criteria_v0.1": {...}, ...}
        return [k for k, v in value.items() if v]
    if isinstance(value, str):
        return [t for t in value.split(";") if t]
    return [str(v) for v in value or []]


def _read_csv(path: Path, progress: bool = False) -> BattleTable:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(_lines(handle, path.stat().st_size, progress))
        header = reader.fieldnames or []
        if {"model_a", "model_b", "winner"} <= set(header):
            names, labels = ("model_a", "model_b"), None
        elif {"left", "right", "winner"} <= set(header):
            names, labels = ("left", "right"), _LEFT_RIGHT
        else:
            raise BattleDataError(
                f"line 1: CSV header {header} has neither model_a, model_b, winner "
                "nor left, right, winner"
            )
        columns: dict[str, list[Any]] = {k: [] for k in header}
        lines = []
        for row in reader:
            line = reader.line_num
            if None in row or any(row.get(c) is None for c in (*names, "winner")):
                raise BattleDataError(f"line {line}: wrong number of fields (truncated?)")
            if labels is not None:
                if row["winner"] not in labels:
                    raise BattleDataError(
                        f"unknown winner label {row['winner']!r} in line {line}; "
                        "expected left, right or tie"
                    )
                row["winner"] = labels[row["winner"]]
            for k in header:
                columns[k].append(row[k])
            lines.append(line)
    columns["model_a"], columns["model_b"] = columns[names[0]], columns[names[1]]
    return _table(columns, lines, "line")


def _read_parquet(path: Path, keep: Collection[str] | None = None) -> BattleTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    wanted = {
        "model_a",
        "model_b",
        "winner",
        "anony",
        "tstamp",
        "turn",
        "is_valid",
        "valid",
        "language",
        "cluster",
        *_FLAT,
    }
    if keep is not None:
        wanted &= {"model_a", "model_b", "winner", "is_valid", *keep}
    try:
        handle = pq.ParquetFile(path)  # not read_table: that loads the dataset layer and pandas
        present = set(handle.schema_arrow.names)
        # The text columns as Parquet keeps them, dictionary-encoded: no string is decoded
        # (a quarter of a 2M-battle board's time went to decoding and re-encoding them).
        text = [
            c
            for c in ("model_a", "model_b", "winner")
            if c in present
            and (
                pa.types.is_string(t := handle.schema_arrow.field(c).type)
                or pa.types.is_large_string(t)
            )
        ]
        if text:
            handle = pq.ParquetFile(path, read_dictionary=text)
        table = handle.read(columns=sorted(present & wanted))
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise BattleDataError(f"cannot read Parquet: {exc}") from None
    missing = [c for c in ("model_a", "model_b", "winner") if c not in present]
    if missing:
        raise BattleDataError(f"Parquet file lacks column {', '.join(missing)}")
    present = set(table.column_names)

    def numbers(name: str, kind: type) -> np.ndarray:
        # Zero-copy float64 views: pyarrow's copying conversions import pandas (0.2 s).
        column = table.column(name).combine_chunks().cast(pa.float64())
        if column.null_count:  # rare
            import pyarrow.compute as pc  # 0.03 s to import: only when needed

            column = pc.fill_null(column, np.nan)
        return arrow_to_numpy(column).astype(kind)

    extra: dict[str, Any] = {}
    for name in ("tstamp", "turn", "cluster", *_FLAT):
        if name in present:
            extra[name] = numbers(name, float)
    for source in ("is_valid", "valid"):
        if source in present:
            extra["valid"] = numbers(source, bool)
    if "language" in present:
        extra["language"] = table.column("language").to_pylist()
    anony = numbers("anony", bool) if "anony" in present else None
    return BattleTable.from_records(
        table.column("model_a"),
        table.column("model_b"),
        table.column("winner"),
        anony,
        extra=extra,
        where="row",
    )
