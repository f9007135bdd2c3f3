"""A table of battles, the one input of every rating method.

Battles are held as integer arrays (model indices and outcome codes) so that a fit
on millions of battles never loops in Python. Optional per-battle columns ride along
in ``extra``: ``tstamp`` (unix seconds), ``valid`` (bool), ``language``, ``turn``,
``tags`` (tuples of strings), ``prompt``, and style features per side
(``len_a``/``len_b``, ``headers_a``/``headers_b``, ``lists_a``/``lists_b``,
``bold_a``/``bold_b``). Readers for battle files live in :mod:`ratings.io`; the
arena builds the same table from its database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from ratings.errors import BattleDataError

__all__ = ["MODEL_A", "MODEL_B", "TIE", "TIE_BOTHBAD", "WINNER_LABELS", "BattleTable"]

MODEL_A, MODEL_B, TIE, TIE_BOTHBAD = 0, 1, 2, 3
WINNER_LABELS: tuple[str, ...] = ("model_a", "model_b", "tie", "tie (bothbad)")


@dataclass(frozen=True)
class BattleTable:
    """Battles as arrays.

    Attributes:
        models: model names, sorted; indices in ``a`` and ``b`` point into it.
        a: shape (n_battles,), index of the model shown as A.
        b: shape (n_battles,), index of the model shown as B.
        outcome: shape (n_battles,), 0 = A won, 1 = B won, 2 = tie, 3 = tie (both bad).
        anony: shape (n_battles,), whether the battle was anonymous.
        extra: optional per-battle columns, each of shape (n_battles,).
    """

    models: tuple[str, ...]
    a: np.ndarray
    b: np.ndarray
    outcome: np.ndarray
    anony: np.ndarray = field(repr=False)
    extra: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def from_records(
        cls,
        model_a: Sequence[Any] | pa.Array | pa.ChunkedArray,
        model_b: Sequence[Any] | pa.Array | pa.ChunkedArray,
        winner: Sequence[Any] | pa.Array | pa.ChunkedArray,
        anony: Sequence[bool] | np.ndarray | None = None,
        *,
        extra: Mapping[str, Any] | None = None,
        where: str = "row",
        positions: Sequence[int] | None = None,
    ) -> BattleTable:
        """Build a table from parallel columns, refusing bad values by position.

        Args:
            model_a, model_b: model names per battle.
            winner: ``model_a | model_b | tie | tie (bothbad)`` per battle.
            anony: per battle, whether it was anonymous (all True when absent).
            extra: optional columns (see the module docstring), one value per battle.
            where: the word for a position in errors ("row", "line").
            positions: the line or row number of each record, for errors (1.. by default).

        Raises:
            BattleDataError: an unknown winner label or a missing model name, naming
                the position and the value.
        """

        def at(i: int) -> str:
            return f"{where} {positions[i] if positions is not None else i + 1}"

        n = len(winner)
        if not (len(model_a) == len(model_b) == n):
            raise BattleDataError("model_a, model_b and winner columns differ in length")
        outcome = _winner_codes(_arrow(winner), at)
        models, a, b = _factorize(_arrow(model_a), _arrow(model_b), at)
        anon = np.ones(n, dtype=bool) if anony is None else np.asarray(anony, dtype=bool)
        columns = {k: _column(k, v, n) for k, v in (extra or {}).items() if v is not None}
        return cls(models, a, b, outcome, anon, columns)

    def __len__(self) -> int:
        return int(self.outcome.shape[0])

    def column(self, name: str) -> np.ndarray | None:
        return self.extra.get(name)

    def select(self, mask: np.ndarray) -> BattleTable:
        """The battles where ``mask`` is true, with unused models dropped."""
        if mask.all() and len(self):
            m = len(self.models)
            if (np.bincount(self.a, minlength=m) + np.bincount(self.b, minlength=m)).all():
                return self
        a, b = self.a[mask], self.b[mask]
        m = len(self.models)
        used = np.flatnonzero(np.bincount(a, minlength=m) + np.bincount(b, minlength=m))
        remap = np.full(len(self.models), -1, dtype=np.int32)
        remap[used] = np.arange(used.size, dtype=np.int32)
        return BattleTable(
            tuple(self.models[i] for i in used),
            remap[a],
            remap[b],
            self.outcome[mask],
            self.anony[mask],
            {k: v[mask] for k, v in self.extra.items()},
        )

    def sha256(self) -> str:
        """SHA-256 of the canonical battle set, the same from any source.

        Canonical form: the sorted model names as JSON, then three little-endian
        arrays in battle order: ``a`` and ``b`` (int32 indices into those names) and
        the outcome codes (int8: 0 model_a, 1 model_b, 2 tie, 3 tie (bothbad)).
        """
        digest = hashlib.sha256(json.dumps(list(self.models)).encode())
        for array, kind in ((self.a, "<i4"), (self.b, "<i4"), (self.outcome, "i1")):
            digest.update(np.ascontiguousarray(array, dtype=kind).tobytes())
        return digest.hexdigest()


def _arrow(values: Any) -> pa.ChunkedArray:
    if isinstance(values, pa.Array):
        values = pa.chunked_array([values])
    if isinstance(values, pa.ChunkedArray):
        if pa.types.is_dictionary(values.type):
            value_type = values.type.value_type
            if pa.types.is_string(value_type) or pa.types.is_large_string(value_type):
                return values  # kept encoded: see _encoded
            values = values.cast(value_type)
        if not pa.types.is_string(values.type):
            try:
                values = values.cast(pa.string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise BattleDataError(f"expected text, got {values.type}") from None
        return values
    values = values if isinstance(values, np.ndarray) else list(values)
    if len(values) <= SMALL:
        return pa.chunked_array([_small_strings(values)], type=pa.string())
    try:
        return pa.chunked_array([pa.array(values, type=pa.string())], type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Mixed types (a number where a name belongs): keep them for the error message.
        return pa.chunked_array([pa.array([_text(v) for v in values], type=pa.string())])


# Up to this many values, text columns are built from buffers: pa.array on Python
# objects makes pyarrow import pandas (0.25 s) wherever pandas is installed, which is
# most of a small board's start-up; past it, pa.array's C loop is worth that once.
SMALL = 50_000


def _text(v: Any) -> str | None:
    return None if v is None else v if isinstance(v, str) else repr(v)


def _small_strings(values: Sequence[Any]) -> pa.Array:
    """``values`` (text, None, or anything else shown by its repr) as a string array."""
    data = [b"" if t is None else t.encode("utf-8", "replace") for t in map(_text, values)]
    n = len(data)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum([len(d) for d in data], out=offsets[1:])
    valid = np.array([v is not None for v in values], dtype=bool)
    nulls = int(n - valid.sum())
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(b"".join(data)), bitmap, nulls
    )


def arrow_to_numpy(array: pa.Array) -> np.ndarray:
    """A fixed-width Arrow array's values as a numpy view (null slots hold garbage).

    pyarrow's own ``to_numpy`` imports pandas, which costs 0.15 s of every start.
    """
    if pa.types.is_boolean(array.type):  # bit-packed: unpack
        bits = np.frombuffer(array.buffers()[1], dtype=np.uint8)
        return np.unpackbits(bits, bitorder="little")[
            array.offset : array.offset + len(array)
        ].astype(bool)
    dtype = _NUMPY_TYPES[str(array.type)]
    data = np.frombuffer(array.buffers()[1], dtype=dtype, count=len(array) + array.offset)
    return data[array.offset :]


_NUMPY_TYPES = {
    "int8": np.int8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "uint8": np.uint8,
    "uint16": np.uint16,
    "uint32": np.uint32,
    "uint64": np.uint64,
    "float": np.float32,
    "double": np.float64,
}


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _encoded(
    chunks: Sequence[pa.Array], *, sort: bool = False
) -> tuple[list[Any], np.ndarray, np.ndarray | None]:
    """A text column as (its distinct values, sorted with ``sort``; each row's index
    into them, int32; the null mask, or None when no row is null).

    A column read dictionary-encoded (Parquet keeps text so) is used as it is: its small
    dictionaries are merged in Python, and each row's index is one gather from its
    chunk's indices, written in place: no pass over the strings, no temporary arrays,
    and no ``pyarrow.compute`` (whose import costs 0.03 s)."""
    if not (chunks and all(pa.types.is_dictionary(c.type) for c in chunks)):
        import pyarrow.compute as pc

        text = pa.chunked_array([c.cast(pa.string()) for c in chunks], type=pa.string())
        chunks = pc.dictionary_encode(text).chunks
    distinct: dict[Any, int] = {}
    local = [
        [distinct.setdefault(v, len(distinct)) for v in chunk.dictionary.to_pylist()]
        for chunk in chunks
    ]
    labels = list(distinct)
    relabel = np.arange(len(labels), dtype=np.int32)
    if sort and labels:
        order = np.argsort(np.asarray([str(x) for x in labels], dtype=object))
        relabel[order] = np.arange(len(labels), dtype=np.int32)
        labels = [labels[k] for k in order]
    out = np.empty(sum(len(c) for c in chunks), dtype=np.int32)
    nulls: np.ndarray | None = None
    at = 0
    for chunk, codes in zip(chunks, local, strict=True):
        # A null slot's index may point anywhere: the appended 0 keeps it in range.
        mapping = np.append(relabel[np.asarray(codes, dtype=np.int64)], 0).astype(np.int32)
        indices = arrow_to_numpy(chunk.indices)
        if chunk.null_count:
            if nulls is None:
                nulls = np.zeros(out.size, dtype=bool)
            missing = ~arrow_to_numpy(chunk.is_valid())
            nulls[at : at + len(chunk)] = missing
            indices = np.where(missing, len(mapping) - 1, indices)
        np.take(mapping, indices, out=out[at : at + len(chunk)])
        at += len(chunk)
    return labels, out, nulls


def _winner_codes(winner: pa.ChunkedArray, at: Any) -> np.ndarray:
    labels, indices, nulls = _encoded(winner.chunks)
    lookup = np.array(
        [WINNER_LABELS.index(v) if v in WINNER_LABELS else -1 for v in labels] or [-1],
        dtype=np.int8,
    )
    codes = lookup[indices]
    if nulls is not None:
        codes[nulls] = -1
    if (codes < 0).any():
        i = _first(codes < 0)
        value = None if nulls is not None and nulls[i] else labels[indices[i]]
        raise BattleDataError(
            f"unknown winner label {value!r} in {at(i)}; expected model_a, model_b, tie or "
            "tie (bothbad)"
        )
    return codes


def _factorize(
    a: pa.ChunkedArray, b: pa.ChunkedArray, at: Any
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    n = len(a)
    labels, codes, nulls = _encoded(a.chunks + b.chunks, sort=True)
    names = [str(x) if x is not None else "" for x in labels]
    blank_names = np.asarray([not x.strip() for x in names] or [False], dtype=bool)
    if nulls is not None or blank_names.any():  # rare: find the first offending battle
        bad = blank_names[codes] | (nulls if nulls is not None else False)
        if bad.any():
            i = _first(bad)
            column, row = ("model_a", i) if i < n else ("model_b", i - n)
            value = None if nulls is not None and nulls[i] else names[codes[i]]
            raise BattleDataError(f"missing {column} in {at(row)}: {value!r}")
    return tuple(names), codes[:n], codes[n:]


def _column(name: str, values: Any, n: int) -> np.ndarray:
    if isinstance(values, pa.ChunkedArray | pa.Array):
        values = values.to_pylist()
    if name in ("language", "tags", "prompt"):
        array = np.empty(len(values), dtype=object)
        for i, value in enumerate(values):  # element-wise: tuples must stay tuples
            array[i] = value
    else:
        array = np.asarray(values)
    if array.shape != (n,):
        raise BattleDataError(f"column {name} has {array.shape[0]} values for {n} battles")
    return array
