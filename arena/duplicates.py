"""Near-duplicate prompts: prompts whose character 5-gram sets have a Jaccard similarity
of at least 0.7 share a cluster (after case folding and collapsing whitespace;
identical ones always do). MinHash signatures and locality-sensitive hashing
(``datasketch``) find the candidates, each then checked exactly. It stands in for
LMArena's embedding cosine ≥ 0.7 with no model at run time: it finds copies,
reformattings and small edits, not paraphrases.

:class:`DuplicateIndex` grows as prompts arrive (the arena keeps one per process for its
board); :func:`near_duplicate_clusters` clusters one list at once (the public release).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

__all__ = ["DUPLICATE_JACCARD", "SHINGLE", "DuplicateIndex", "near_duplicate_clusters"]

DUPLICATE_JACCARD = 0.7
SHINGLE = 5
PERMUTATIONS = 64


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def _shingles(text: str) -> set[str]:
    return {text[k : k + SHINGLE] for k in range(max(1, len(text) - SHINGLE + 1))}


class DuplicateIndex:
    """Prompts seen so far, clustered; :meth:`clusters` adds new ones incrementally."""

    def __init__(self, threshold: float = DUPLICATE_JACCARD) -> None:
        from datasketch import MinHashLSH

        self.threshold = threshold
        self._lsh = MinHashLSH(threshold=threshold, num_perm=PERMUTATIONS)
        self._ids: dict[str, int] = {}  # normal text -> its index among distinct texts
        self._texts: list[str] = []  # shingles are recomputed: sets of them cost too much
        self._parent: list[int] = []
        self._lock = threading.Lock()

    def _root(self, i: int) -> int:
        parent = self._parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def _add(self, text: str) -> int:
        from datasketch import MinHash

        i = len(self._parent)
        self._ids[text] = i
        grams = _shingles(text)
        self._texts.append(text)
        self._parent.append(i)
        signature = MinHash(num_perm=PERMUTATIONS, seed=1)
        signature.update_batch([g.encode() for g in grams])
        for j in self._lsh.query(signature):
            other = _shingles(self._texts[j])
            if len(grams & other) >= self.threshold * len(grams | other):
                a, b = self._root(i), self._root(j)
                self._parent[max(a, b)] = min(a, b)  # the cluster keeps its oldest member
        self._lsh.insert(i, signature)
        return i

    def clusters(self, prompts: Sequence[str]) -> list[int]:
        """A cluster id per prompt (the index of its cluster's first distinct prompt
        ever seen by this index)."""
        with self._lock:
            ids = []
            for prompt in prompts:
                text = _normal(prompt)
                i = self._ids.get(text)
                ids.append(self._add(text) if i is None else i)
            return [self._root(i) for i in ids]


def near_duplicate_clusters(
    prompts: Sequence[str], threshold: float = DUPLICATE_JACCARD
) -> list[int]:
    """A cluster id per prompt: the position in ``prompts`` of its cluster's first
    member."""
    ids = DuplicateIndex(threshold).clusters(prompts)
    first: dict[int, int] = {}
    for position, cluster in enumerate(ids):
        first.setdefault(cluster, position)
    return [first[cluster] for cluster in ids]
