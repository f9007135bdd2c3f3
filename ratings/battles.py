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
import pyarrow.compute as pc

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
            values = values.cast(values.type.value_type)
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


def _nulls(array: pa.Array) -> np.ndarray:
    if not array.null_count:
        return np.zeros(len(array), dtype=bool)
    return ~arrow_to_numpy(array.is_valid())


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _winner_codes(winner: pa.ChunkedArray, at: Any) -> np.ndarray:
    encoded = pc.dictionary_encode(winner.cast(pa.string())).combine_chunks()
    labels = encoded.dictionary.to_pylist()
    lookup = np.array(
        [WINNER_LABELS.index(v) if v in WINNER_LABELS else -1 for v in labels], dtype=np.int8
    )
    indices = arrow_to_numpy(encoded.indices)
    nulls = _nulls(encoded)
    codes = np.where(nulls, -1, lookup[np.where(nulls, 0, indices)] if len(lookup) else -1)
    if (codes < 0).any():
        i = _first(codes < 0)
        value = None if nulls[i] else labels[indices[i]]
        raise BattleDataError(
            f"unknown winner label {value!r} in {at(i)}; expected model_a, model_b, tie or "
            "tie (bothbad)"
        )
    return codes.astype(np.int8)


def _factorize(
    a: pa.ChunkedArray, b: pa.ChunkedArray, at: Any
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    n = len(a)
    both = pa.chunked_array(a.chunks + b.chunks, type=pa.string())
    encoded = pc.dictionary_encode(both).combine_chunks()
    names = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    blank_names = np.asarray([not str(x).strip() for x in names], dtype=bool)
    if encoded.null_count or blank_names.any():  # rare: find the first offending battle
        indices = arrow_to_numpy(encoded.indices)
        nulls = _nulls(encoded)
        bad = nulls | blank_names[np.where(nulls, 0, indices)]
        i = _first(bad)
        column, row = ("model_a", i) if i < n else ("model_b", i - n)
        value = None if nulls[i] else names[indices[i]]
        raise BattleDataError(f"missing {column} in {at(row)}: {value!r}")
    order = np.argsort(names)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    codes = rank[arrow_to_numpy(encoded.indices)].astype(np.int32)
    return tuple(str(x) for x in names[order]), codes[:n], codes[n:]


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
