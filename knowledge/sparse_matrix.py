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

    def take(self, rows: np.ndarray) -> SparseMatrix:
        """The matrix of ``rows`` alone (row ``k`` is this one's ``rows[k]``): a question
        searched among one language's chunks then walks only their postings, about
        half of all, since a common term's list otherwise spans both languages."""
        return SparseMatrix(self.ids[rows], self.weights[rows])

    def scores(self, query: SparseTerms, rows: np.ndarray | None = None) -> np.ndarray:
        """Dot product of ``query`` with each of ``rows`` (default: every row).

        A question's terms reach a good share of all postings at 10,000 chunks (over a
        third of a million), so the work is a few numpy passes over them: each term's
        postings are copied out as slices (contiguous), not gathered through an index
        array built for every posting."""
        terms, weights = query
        known = terms < self._offsets.size - 1
        terms, weights = terms[known], weights[known]
        starts = self._offsets[terms]
        ends = self._offsets[terms + 1]
        spans = [(s, e) for s, e in zip(starts.tolist(), ends.tolist(), strict=True) if e > s]
        if not spans:
            return np.zeros(self.ids.shape[0] if rows is None else rows.size, dtype=np.float32)
        values = np.concatenate([self._values[s:e] for s, e in spans])
        values *= np.repeat(weights, ends - starts)
        totals = np.bincount(
            np.concatenate([self._rows[s:e] for s, e in spans]),
            weights=values,
            minlength=self.ids.shape[0],
        )
        result: np.ndarray = (totals if rows is None else totals[rows]).astype(np.float32)
        return result
