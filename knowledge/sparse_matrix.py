"""Every chunk's latent terms as one padded matrix, scored through an inverted index."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from knowledge.embeddings import SparseTerms


@dataclass(frozen=True, slots=True)
class SparseMatrix:
    """Padded top-k latent terms: row ``i`` is ``ids[i]`` weighted by ``weights[i]``.

    Scoring goes through an inverted index (postings sorted by term, with each
    term's offset into them), so a query touches only the chunks that share
    one of its terms.
    """

    ids: np.ndarray
    weights: np.ndarray
    _offsets: np.ndarray = field(init=False, repr=False, compare=False)
    _rows: np.ndarray = field(init=False, repr=False, compare=False)
    _values: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        flat = self.weights.ravel() > 0
        terms = self.ids.ravel()[flat]
        order = np.argsort(terms, kind="stable")
        rows = np.repeat(np.arange(self.ids.shape[0], dtype=np.int32), self.ids.shape[1])[flat]
        sorted_terms = terms[order]
        top = int(sorted_terms[-1]) + 1 if sorted_terms.size else 0
        offsets = np.searchsorted(sorted_terms, np.arange(top + 1)).astype(np.int64)
        object.__setattr__(self, "_offsets", offsets)
        object.__setattr__(self, "_rows", rows[order])
        object.__setattr__(self, "_values", self.weights.ravel()[flat][order])

    @classmethod
    def stack(cls, rows: list[SparseTerms]) -> SparseMatrix:
        width = max((len(ids) for ids, _ in rows), default=1)
        ids = np.zeros((len(rows), width), dtype=np.int32)
        weights = np.zeros((len(rows), width), dtype=np.float32)
        for i, (row_ids, row_weights) in enumerate(rows):
            ids[i, : len(row_ids)] = row_ids
            weights[i, : len(row_weights)] = row_weights
        return cls(ids, weights)

    def row(self, i: int) -> SparseTerms:
        return self.ids[i], self.weights[i]

    def scores(self, query: SparseTerms, rows: np.ndarray) -> np.ndarray:
        """Dot product of ``query`` with each of ``rows``."""
        terms, weights = query
        known = terms < self._offsets.size - 1
        terms, weights = terms[known], weights[known]
        starts = self._offsets[terms]
        lengths = self._offsets[terms + 1] - starts
        if not lengths.sum():
            return np.zeros(rows.size, dtype=np.float32)
        hits = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        totals = np.bincount(
            self._rows[hits],
            weights=self._values[hits] * np.repeat(weights, lengths),
            minlength=self.ids.shape[0],
        )
        result: np.ndarray = totals[rows].astype(np.float32)
        return result
