"""A table of battles, the one input of every rating method.

Battles are held as integer arrays (model indices and outcome codes) so that a fit
on millions of battles never loops in Python. Readers for battle files live in
:mod:`ratings.io`; the arena builds the same table from its database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ratings.errors import BattleDataError

__all__ = ["WINNER_LABELS", "BattleTable", "MODEL_A", "MODEL_B", "TIE", "TIE_BOTHBAD"]

MODEL_A, MODEL_B, TIE, TIE_BOTHBAD = 0, 1, 2, 3
WINNER_LABELS: tuple[str, ...] = ("model_a", "model_b", "tie", "tie (bothbad)")
_CODE = {label: code for code, label in enumerate(WINNER_LABELS)}


@dataclass(frozen=True)
class BattleTable:
    """Battles as arrays.

    Attributes:
        models: model names, sorted; indices in ``a`` and ``b`` point into it.
        a: shape (n_battles,), index of the model shown as A.
        b: shape (n_battles,), index of the model shown as B.
        outcome: shape (n_battles,), 0 = A won, 1 = B won, 2 = tie, 3 = tie (both bad).
        anony: shape (n_battles,), whether the battle was anonymous.
    """

    models: tuple[str, ...]
    a: np.ndarray
    b: np.ndarray
    outcome: np.ndarray
    anony: np.ndarray = field(repr=False)

    @classmethod
    def from_records(
        cls,
        model_a: Sequence[str],
        model_b: Sequence[str],
        winner: Sequence[str],
        anony: Sequence[bool] | None = None,
        *,
        where: str = "row",
        positions: Sequence[int] | None = None,
    ) -> BattleTable:
        """Build a table from parallel columns, refusing bad labels by position.

        Args:
            model_a, model_b: model names per battle.
            winner: ``model_a | model_b | tie | tie (bothbad)`` per battle.
            anony: per battle, whether it was anonymous (all True when absent).
            where: the word for a position in errors ("row", "line").
            positions: the line or row number of each record, for errors (1.. by default).

        Raises:
            BattleDataError: an unknown winner label, a missing name, or a battle of
                a model against itself, naming the position and the value.
        """
        n = len(winner)

        def at(i: int) -> str:
            return f"{where} {positions[i] if positions is not None else i + 1}"

        if not (len(model_a) == len(model_b) == n):
            raise BattleDataError("model_a, model_b and winner columns differ in length")
        codes = np.empty(n, dtype=np.int8)
        for i, label in enumerate(winner):
            code = _CODE.get(label) if isinstance(label, str) else None
            if code is None:
                raise BattleDataError(
                    f"unknown winner label {label!r} in {at(i)}; expected "
                    "model_a, model_b, tie or tie (bothbad)"
                )
            codes[i] = code
        for column, values in (("model_a", model_a), ("model_b", model_b)):
            for i, name in enumerate(values):
                if not isinstance(name, str) or not name.strip():
                    raise BattleDataError(f"missing {column} in {at(i)}: {name!r}")
        names, inverse = np.unique(
            np.asarray([*model_a, *model_b], dtype=object), return_inverse=True
        )
        a, b = inverse[:n].astype(np.int32), inverse[n:].astype(np.int32)
        anon = np.ones(n, dtype=bool) if anony is None else np.asarray(anony, dtype=bool)
        return cls(tuple(str(m) for m in names), a, b, codes, anon)

    def __len__(self) -> int:
        return int(self.outcome.shape[0])

    def select(self, mask: np.ndarray) -> BattleTable:
        """The battles where ``mask`` is true, with unused models dropped."""
        a, b = self.a[mask], self.b[mask]
        used = np.unique(np.concatenate([a, b]))
        remap = np.full(len(self.models), -1, dtype=np.int32)
        remap[used] = np.arange(used.size, dtype=np.int32)
        return BattleTable(
            tuple(self.models[i] for i in used),
            remap[a],
            remap[b],
            self.outcome[mask],
            self.anony[mask],
        )

    def sha256(self) -> str:
        """SHA-256 of the canonical battle set: one ``model_a\\tmodel_b\\twinner`` line per
        battle, in order, so that the same battles give the same digest from any source."""
        digest = hashlib.sha256()
        names = np.asarray(self.models, dtype=object)
        labels = np.asarray(WINNER_LABELS, dtype=object)
        chunk = 100_000
        for start in range(0, len(self), chunk):
            sl = slice(start, start + chunk)
            lines = names[self.a[sl]] + "\t" + names[self.b[sl]] + "\t" + labels[self.outcome[sl]]
            digest.update(("\n".join(lines) + "\n").encode())
        return digest.hexdigest()
