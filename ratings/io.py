"""Reading battle files: LMSYS ``clean_battle`` JSON arrays, JSONL, CSV and Parquet.

Every reader refuses a truncated or malformed file, or an unknown winner label, with
an error that names the line (text files) or row (Parquet) and the offending value.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from ratings.battles import BattleTable
from ratings.errors import BattleDataError

__all__ = ["read_battles"]

_LEFT_RIGHT = {"left": "model_a", "right": "model_b", "tie": "tie"}


def read_battles(path: str | Path) -> BattleTable:
    """Read a battle file, choosing the format by its suffix and first character.

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
            return _read_parquet(path)
        if suffix == ".csv":
            return _read_csv(path)
        return _read_json(path)
    except BattleDataError as exc:
        raise BattleDataError(f"{path}: {exc}") from None


def _read_json(path: Path) -> BattleTable:
    text = path.read_text(encoding="utf-8", errors="strict")
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BattleDataError(f"malformed JSON at line {exc.lineno}: {exc.msg}") from None
        return _from_dicts(records, lines=_record_lines(text, len(records)), where="line")
    records, lines = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise BattleDataError(
                f"malformed JSON on line {number}: {exc.msg}: {line[:80]!r}"
            ) from None
        lines.append(number)
    return _from_dicts(records, lines=lines, where="line")


def _record_lines(text: str, count: int) -> list[int]:
    """Best-effort line number of each record in a JSON array, for error messages:
    the line of each top-level object's opening brace."""
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


def _from_dicts(records: Any, *, lines: list[int], where: str) -> BattleTable:
    if not isinstance(records, list):
        raise BattleDataError("expected a JSON array of battle objects")
    model_a, model_b, winner, anony = [], [], [], []
    for record, line in zip(records, lines, strict=True):
        if not isinstance(record, dict):
            raise BattleDataError(f"{where} {line}: expected an object, got {record!r:.80}")
        missing = [k for k in ("model_a", "model_b", "winner") if k not in record]
        if missing:
            raise BattleDataError(f"{where} {line}: missing field {', '.join(missing)}")
        model_a.append(record["model_a"])
        model_b.append(record["model_b"])
        winner.append(record["winner"])
        anony.append(bool(record.get("anony", True)))
    return _table(model_a, model_b, winner, anony, lines, where)


def _table(
    model_a: list[Any],
    model_b: list[Any],
    winner: list[Any],
    anony: list[Any] | None,
    positions: list[int],
    where: str,
) -> BattleTable:
    return BattleTable.from_records(
        model_a, model_b, winner, anony, where=where, positions=positions
    )


def _read_csv(path: Path) -> BattleTable:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        if {"model_a", "model_b", "winner"} <= set(header):
            columns, labels = ("model_a", "model_b"), None
        elif {"left", "right", "winner"} <= set(header):
            columns, labels = ("left", "right"), _LEFT_RIGHT
        else:
            raise BattleDataError(
                f"line 1: CSV header {header} has neither model_a, model_b, winner "
                "nor left, right, winner"
            )
        model_a, model_b, winner, anony, lines = [], [], [], [], []
        for row in reader:
            line = reader.line_num
            if None in row or any(row.get(c) is None for c in (*columns, "winner")):
                raise BattleDataError(f"line {line}: wrong number of fields (truncated?)")
            label = row["winner"]
            if labels is not None:
                if label not in labels:
                    raise BattleDataError(
                        f"unknown winner label {label!r} in line {line}; "
                        "expected left, right or tie"
                    )
                label = labels[label]
            model_a.append(row[columns[0]])
            model_b.append(row[columns[1]])
            winner.append(label)
            anony.append(row.get("anony", "true").strip().lower() not in ("false", "0"))
            lines.append(line)
    return _table(model_a, model_b, winner, anony, lines, "line")


def _read_parquet(path: Path) -> BattleTable:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise BattleDataError(
            "reading Parquet needs pyarrow: pip install 'arena[parquet]'"
        ) from None
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise BattleDataError(f"cannot read Parquet: {exc}") from None
    missing = [c for c in ("model_a", "model_b", "winner") if c not in table.column_names]
    if missing:
        raise BattleDataError(f"Parquet file lacks column {', '.join(missing)}")
    columns = {c: table.column(c).to_pylist() for c in ("model_a", "model_b", "winner")}
    anony = table.column("anony").to_pylist() if "anony" in table.column_names else None
    n = table.num_rows
    return _table(
        columns["model_a"],
        columns["model_b"],
        columns["winner"],
        anony,
        list(range(1, n + 1)),
        "row",
    )
