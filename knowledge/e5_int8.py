"""int8 matrix products for embedding passages fast (ingest's ``ingest_precision: int8``).

``MatMulNBits``, which runs the model's 4-bit products, reaches about 45 GMAC/s on a batch of
a few hundred tokens on one Zen 4 core; ``MatMulInteger`` (u8 x s8, the CPU's int8
dot-product instructions) about 140. Three things keep the int8 products close to the
4-bit ones (passage cosine to the model's exact 4-bit products 0.9997, against 0.99995
for ``MatMulNBits``' int8 activations and 0.9992 for the earlier one-scale-per-run int8):

- each token's activations get their own scale, so one token's wide range does not
  coarsen every other token's steps;
- the products whose input comes out of a LayerNorm (``qkv``, ``fi``, the head), where a few channels
  run up to ten times the others, are *smoothed* (SmoothQuant): those channels are divided
  down before quantising and their weight rows multiplied up by the same factors, which
  are set from the channels' largest magnitudes over :data:`PROBE_TEXTS` (fixed text, so
  a text's vector never depends on what else was ingested);
- the weights are the model's own 4-bit values re-scaled per output column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from onnx import TensorProto, helper

from knowledge.e5_file import dequantise

#: the products run in int8 (all of the transformer's; the latent-terms head's too)
INT8_PRODUCTS = ("qkv", "ao", "fi", "fo")
#: the products whose input is smoothed (a LayerNorm's output, with outlier channels;
#: ``states``: the final one, the latent-terms head's input)
SMOOTHED = ("qkv", "fi", "states")
#: SmoothQuant's migration strength: how much of a channel's range moves to the weights
#: (0.75 gave passage cosine 0.99975 to the exact products, 0.5 0.99973, 0.3 0.99962)
MIGRATION = 0.75
#: shop-like passages in both languages whose activations set the smoothing factors
PROBE_TEXTS = (
    "How long does delivery take? Orders placed before 4 pm ship the same day; most "
    "arrive in two to three working days, remote areas may take up to a week.",
    "Can I change my delivery address after paying? Yes, while the order has not been "
    "packed: message us with the order number and the new address.",
    "Storage: keep the tea sealed, away from light, heat and strong smells. Opened "
    "packs keep their aroma for about three months in the fridge.",
    "Membership points: every 1 yuan spent earns 1 point; 100 points take 5 yuan off an "
    "order. Points expire after 12 months and cannot be exchanged for cash.",
    "Returns and refunds: unopened items can be returned within 7 days of delivery; "
    "refunds reach the original payment method in 3-5 working days.",
    "Brewing green tea: use water at about 80 °C, 3 g of leaves for 150 ml, and steep "
    "for 1-2 minutes; later infusions can steep a little longer.",
    "下单后多久发货？下午4点前付款的订单当天发出，一般两到三个工作日送达，偏远地区可能需要一周。",
    "收到的商品有破损怎么办？请在签收后48小时内拍照联系客服，我们会为您补发或退款。",
    "茶叶怎么保存？密封、避光、防潮、远离异味，开封后建议冷藏，三个月内喝完风味最好。",
    "会员积分怎么算？每消费1元得1积分，100积分可抵扣5元，积分有效期12个月，不能兑换现金。",
    "支持哪些付款方式？微信支付、支付宝和银行卡都可以，企业客户可以申请对公转账和开具发票。",
    "绿茶怎么泡？水温80度左右，150毫升水放3克茶叶，第一泡一到两分钟，之后可以适当延长。",
)


class GraphBuilder(Protocol):
    """What :func:`int8_product` needs of ``knowledge.e5_graph``'s graph builder."""

    def op(self, kind: str, inputs: list[str], output: str, **attributes: Any) -> str: ...

    def constant(self, name: str, value: np.ndarray) -> str: ...

    def shared(self, name: str, value: np.ndarray) -> str: ...

    def add(self, source: str, value: np.ndarray | str) -> str: ...


def int8_product(
    graph: GraphBuilder,
    source: str,
    blocks: np.ndarray,
    bias: np.ndarray | None,
    name: str,
    reach: np.ndarray | None = None,
) -> str:
    """``source @ W.T (+ bias)`` in int8, one activation scale per token; ``reach`` (the
    input channels' largest magnitudes) smooths the input first."""
    weights = dequantise(blocks).T  # (inputs, outputs)
    op = graph.op
    if reach is not None:
        smooth = (
            np.maximum(reach, 1e-5) ** MIGRATION
            / np.maximum(np.abs(weights).max(axis=1), 1e-5) ** (1 - MIGRATION)
        ).astype(np.float32)
        weights = weights * smooth[:, None]
        source = op("Mul", [source, graph.constant(name + ".smooth", 1 / smooth)], name + ".in")
    scale = np.maximum(np.abs(weights).max(axis=0), 1e-12) / 127
    quantised = np.clip(np.round(weights / scale), -127, 127).astype(np.int8)
    rows = f"{name}.rows"
    shape = op("Shape", [source], name + ".shape", start=0, end=-1)
    flat = graph.constant(name + ".flat", np.array([-1, weights.shape[0]], dtype=np.int64))
    op("Reshape", [source, flat], rows)
    axis1 = graph.shared("axis1", np.array([1], dtype=np.int64))
    top = op("ReduceMax", [op("Abs", [rows], rows + ".abs"), axis1], rows + ".max", keepdims=0)
    top = op("Max", [top, graph.shared("tiny", np.array(1e-12, np.float32))], rows + ".top")
    steps = op("Mul", [top, graph.shared("1/127", np.array(1 / 127, np.float32))], rows + ".s")
    middle = helper.make_tensor("zp", TensorProto.UINT8, [1], [128])
    zero = op("ConstantOfShape", [op("Shape", [steps], rows + ".n")], rows + ".zp", value=middle)
    quantised_rows = op("QuantizeLinear", [rows, steps, zero], rows + ".q", axis=0)
    products = op(
        "MatMulInteger",
        [
            quantised_rows,
            graph.constant(name + ".q8", quantised),
            graph.shared("128", np.array(128, np.uint8)),
        ],
        name + ".i32",
    )
    floats = op("Cast", [products], name + ".f", to=TensorProto.FLOAT)
    column = op("Unsqueeze", [steps, axis1], rows + ".col")
    both = op("Mul", [column, graph.constant(name + ".s8", scale[None, :])], name + ".scale")
    flat_out = op("Mul", [floats, both], name + ".flatout")
    width = graph.constant(name + ".n", np.array([weights.shape[1]], dtype=np.int64))
    out_shape = op("Concat", [shape, width], name + ".outshape", axis=0)
    op("Reshape", [flat_out, out_shape], name)
    return name if bias is None else graph.add(name, bias)


def channel_reach(
    names: Sequence[str], inputs: Sequence[np.ndarray], mask: np.ndarray
) -> dict[str, np.ndarray]:
    """Each smoothed product's input channels' largest magnitude over the real tokens of
    a probe run (``inputs[i]`` is ``names[i]``'s input, ``(batch, tokens, channels)``)."""
    real = mask.astype(bool)
    return {
        name: np.abs(values[real]).max(axis=0)
        for name, values in zip(names, inputs, strict=True)
        if name.rsplit(".", 1)[-1] in SMOOTHED
    }
