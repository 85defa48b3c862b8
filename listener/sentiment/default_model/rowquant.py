"""Int8 matrix products whose activations are quantised one row (one token) at a time.

The default model runs its 36 weight matrices in int8. ONNX Runtime's usual
recipe, ``quantize_dynamic``, computes one activation scale over the whole batch
tensor, padding included, so a mention's label depended on which mentions shared
its batch (2-3 % of labels). ``MatMulNBits`` quantises per row but multiplied at
half the speed here (its 8-bit kernels are far slower than its 4-bit ones).

This rewrite keeps both properties, batch independence and speed. Each ``MatMul``
with a constant weight ``W`` (``K`` inputs, ``N`` outputs) becomes:

- the activation viewed as a matrix of rows (one per token), each row quantised
  to uint8 with its own scale (``QuantizeLinear`` along axis 0): symmetric around
  128, or, where calibration shows every value is at least -0.17 (the inputs of
  the feed-forward output, which come out of GELU, whose minimum is -0.17),
  shifted by +0.17 onto 0..255, which gives them the full 8 bits;
- ``W`` in int8 with a scale per output column, multiplied by
  ``MatMulIntegerToFloat`` (integer accumulation, then the column scales), times
  the row scale; the bias and the shift's correction are one constant vector;
- the :data:`OUTLIER_CHANNELS` input channels with the largest activations (BERT's
  LayerNorm and GELU outputs each have one or two channels 3-4 times larger than
  the rest, always the same ones) leave the int8 product: their weight rows are
  zeroed there, the row scale ignores them, and a float32 product with those rows
  alone adds them back. Without this the outliers set every row's scale and
  coarsen all other channels (labels kept: 99.05 % of val instead of 99.40 %).

Calibration only has to find those channels, which are the same whatever the
text, so it runs on token sequences drawn at random from the vocabulary: no data
set is needed, and the result is the same on every machine.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

OUTLIER_CHANNELS = 2
"""Input channels per matrix product kept in float32 (the largest by calibrated magnitude)."""
GELU_MIN = 0.17
"""GELU's output is never below -0.1700; inputs that never go lower are shifted by this onto uint8's 0..255."""
VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})
"""x86 CPU flags (``/proc/cpuinfo``) of the instructions that multiply uint8 by int8 in 32 bits."""
MIN_CHANNELS_TO_SPLIT = 16
"""Narrower inputs (the tests' tiny models) keep every channel in the int8 product."""
_EPS = 1e-8


def unsigned_weights(cpu_flags: str | None = None) -> bool:
    """Whether this CPU should get its weights as uint8 around 128 rather than int8 (the same values).

    With VNNI, ONNX Runtime multiplies uint8 by int8 in 32 bits (``vpdpbusd``): int8 weights are exact and
    fastest. Without it (AVX2 only, as on many AMD EPYC and older Intel servers) it adds pairs of products
    in 16 bits and saturates (``vpmaddubsw``: 255 x 127 twice is more than 32,767): measured here, labels
    kept 99.15 % of float32's on val instead of 99.35 %, and a product of the tests' small model came out
    18 % off. uint8 by uint8 is widened to 16 bits before it is multiplied and never saturates, about a
    sixth slower on such a CPU. ``cpu_flags``: the flags line to read (default: this CPU's).
    """
    flags = _this_cpu_flags() if cpu_flags is None else cpu_flags
    return not (VNNI_FLAGS & set(flags.replace(":", " ").split()))


@functools.cache
def _this_cpu_flags() -> str:
    """This CPU's flags line (read once: every start-up's build check asks for it)."""
    try:
        return next((line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")), "")
    except OSError:  # not Linux: the kernels that never saturate
        return ""


@dataclass(frozen=True)
class _Site:
    """One activation tensor feeding one or more quantised products: how it is quantised."""

    prefix: str
    shifted: bool
    outliers: np.ndarray | None


def quantise_rows(source: Path, target: Path, calibration: Sequence[Sequence[int]],
                  unsigned: bool | None = None) -> Path:
    """Rewrite the float32 ONNX model ``source`` into ``target`` (see the module's docstring).

    ``calibration`` is a list of token id sequences (special tokens included) used
    to find each input's outlier channels and whether it is a GELU output. ``unsigned``: weights as uint8
    around 128 (default: :func:`unsigned_weights` for this CPU); the products' values are the same.
    """
    import onnx

    model = onnx.load(str(source))
    weights = {item.name: item for item in model.graph.initializer}
    products = [node for node in model.graph.node if _is_weight_product(node, weights)]
    stats = _calibrate(model, sorted({node.input[0] for node in products}), calibration)
    _rewrite(model, weights, stats, unsigned_weights() if unsigned is None else unsigned)
    onnx.save(model, str(target))
    return target


def _is_weight_product(node: Any, weights: dict[str, Any]) -> bool:
    # the tensor's declared shape: no need to read its data to know it is a matrix
    return node.op_type == "MatMul" and node.input[1] in weights and len(weights[node.input[1]].dims) == 2


def _calibrate(
    model: Any, inputs: list[str], calibration: Sequence[Sequence[int]]
) -> dict[str, tuple[np.ndarray, float]]:
    """Per input tensor: each channel's largest magnitude and the smallest value, over real tokens."""
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    for name in inputs:
        probe.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(
        probe.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"]
    )
    feeds = {item.name for item in session.get_inputs()}
    magnitude: dict[str, np.ndarray] = {}
    lowest: dict[str, float] = {}
    for start in range(0, len(calibration), 32):
        batch = calibration[start : start + 32]
        width = max(len(ids) for ids in batch)
        input_ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feed = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}
        outputs = session.run(inputs, {name: value for name, value in feed.items() if name in feeds})
        real = mask.astype(bool)
        for name, value in zip(inputs, outputs, strict=True):
            tokens = value[real] if value.shape[:2] == real.shape else value.reshape(-1, value.shape[-1])
            magnitude[name] = np.maximum(magnitude.get(name, 0.0), np.abs(tokens).max(axis=0))
            lowest[name] = min(lowest.get(name, 0.0), float(tokens.min()))
    return {name: (magnitude[name], lowest[name]) for name in inputs}


class _Graph:
    """Collects the nodes and constants of the rewritten graph."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.constants: list[Any] = []

    def const(self, name: str, value: Any, dtype: Any = np.float32) -> str:
        from onnx import numpy_helper

        self.constants.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def add(self, op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        from onnx import helper

        domain = attributes.pop("domain", None)
        self.nodes.append(helper.make_node(op, inputs, [output], domain=domain, **attributes))
        return output


def _rewrite(model: Any, weights: dict[str, Any], stats: dict[str, tuple[np.ndarray, float]],
             unsigned: bool) -> None:
    from onnx import helper, numpy_helper

    graph = _Graph()
    graph.const("rq_eps", _EPS)
    graph.const("rq_inv127", 1 / 127.0)
    graph.const("rq_inv255", 1 / 255.0)
    graph.const("rq_zero", 0.0)
    graph.const("rq_one", 1.0)
    graph.const("rq_128", 128.0)
    graph.const("rq_zp", 128, np.uint8)
    graph.const("rq_start", [0], np.int64)
    graph.const("rq_all_but_last", [-1], np.int64)
    consumers: dict[str, list[Any]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    sites: dict[str, _Site] = {}
    folded: set[int] = set()
    for node in model.graph.node:
        if id(node) in folded:
            continue
        if not _is_weight_product(node, weights):
            graph.nodes.append(node)
            continue
        activation = node.input[0]
        weight = numpy_helper.to_array(weights[node.input[1]]).astype(np.float32)
        if activation not in sites:
            sites[activation] = _quantise_activation(graph, activation, weight.shape[0], *stats[activation], len(sites))
        site = sites[activation]
        bias_add = _bias_add(node, consumers, weights)
        bias = None
        if bias_add is not None:
            folded.add(id(bias_add))
            bias = numpy_helper.to_array(weights[_bias_name(bias_add, node.output[0])]).astype(np.float32)
        output = bias_add.output[0] if bias_add is not None else node.output[0]
        _product(graph, site, weight, bias, output, f"{site.prefix}w{len(graph.nodes)}_", unsigned)
    del model.graph.node[:]
    model.graph.node.extend(graph.nodes)
    used = {name for node in model.graph.node for name in node.input}
    kept = [item for item in list(model.graph.initializer) + graph.constants if item.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    if not any(item.domain == "com.microsoft" for item in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))


def _bias_name(add: Any, product_output: str) -> str:
    return add.input[1] if add.input[0] == product_output else add.input[0]


def _bias_add(node: Any, consumers: dict[str, list[Any]], weights: dict[str, Any]) -> Any | None:
    """The ``Add`` of a constant vector that alone consumes the product's output, if there is one."""
    users = consumers.get(node.output[0], [])
    if len(users) != 1 or users[0].op_type != "Add" or len(users[0].input) != 2:
        return None
    other = _bias_name(users[0], node.output[0])
    if other not in weights or len(weights[other].dims) != 1:
        return None
    return users[0]


def _quantise_activation(
    graph: _Graph, activation: str, channels: int, magnitude: np.ndarray, lowest: float, number: int
) -> _Site:
    """Nodes that turn ``activation`` into uint8 rows (``{prefix}q``) with a scale per row (``{prefix}scale``)."""
    prefix = f"rq{number}_"
    shifted = lowest >= -GELU_MIN
    outliers = None
    if channels >= MIN_CHANNELS_TO_SPLIT and OUTLIER_CHANNELS:
        outliers = np.sort(np.argsort(magnitude)[::-1][:OUTLIER_CHANNELS]).astype(np.int64)
    source = activation
    if shifted:
        source = graph.add("Add", [source, graph.const(prefix + "shift", GELU_MIN)], prefix + "shifted")
    # the leading shape (batch, tokens), to give the products' outputs their shape back
    shape = graph.add("Shape", [activation], prefix + "shape")
    graph.add("Slice", [shape, "rq_start", "rq_all_but_last"], prefix + "lead")
    rows = graph.add("Reshape", [source, graph.const(prefix + "rows_shape", [-1, channels], np.int64)], prefix + "rows")
    magnitudes = rows if shifted else graph.add("Abs", [rows], prefix + "abs")
    if outliers is not None:
        graph.add(
            "Gather", [rows, graph.const(prefix + "outliers", outliers, np.int64)], prefix + "outlier_values", axis=1
        )
        keep = np.ones(channels, dtype=np.float32)
        keep[outliers] = 0.0
        magnitudes = graph.add("Mul", [magnitudes, graph.const(prefix + "keep", keep)], prefix + "kept")
    largest = graph.add("ReduceMax", [magnitudes], prefix + "largest", axes=[1], keepdims=0)
    step = graph.add("Mul", [largest, "rq_inv255" if shifted else "rq_inv127"], prefix + "step")
    scale = graph.add("Max", [step, "rq_eps"], prefix + "scale")
    if shifted:
        # outlier channels saturate here; their int8 weight rows are zero, so they add nothing
        graph.add("QuantizeLinear", [rows, scale], prefix + "q", axis=0)
    else:
        zero = graph.add("Mul", [scale, "rq_zero"], prefix + "zero")
        centre = graph.add("Add", [zero, "rq_128"], prefix + "centre")
        zero_point = graph.add("Cast", [centre], prefix + "zero_point", to=2)  # uint8
        graph.add("QuantizeLinear", [rows, scale, zero_point], prefix + "q", axis=0)
    graph.add("Unsqueeze", [scale, graph.const(prefix + "column", [-1], np.int64)], prefix + "scale_column")
    return _Site(prefix=prefix, shifted=shifted, outliers=outliers)


def _product(graph: _Graph, site: _Site, weight: np.ndarray, bias: np.ndarray | None, output: str, prefix: str,
             unsigned: bool) -> None:
    """``output = activation @ weight (+ bias)`` from the site's uint8 rows, with the outliers in float32."""
    in_int8 = weight.copy()
    if site.outliers is not None:
        in_int8[site.outliers] = 0.0
    column_scale = np.abs(in_int8).max(axis=0) / 127.0
    column_scale[column_scale == 0] = 1.0
    quantised = np.clip(np.round(in_int8 / column_scale), -127, 127).astype(np.int8)
    constant = np.zeros(weight.shape[1], dtype=np.float32) if bias is None else bias.copy()
    if site.shifted:
        # the rows were shifted by +GELU_MIN: take GELU_MIN times each column's weights back off
        as_used = quantised.astype(np.float32) * column_scale
        if site.outliers is not None:
            as_used[site.outliers] = weight[site.outliers]
        constant -= GELU_MIN * as_used.sum(axis=0)
    zero_point = "" if site.shifted else "rq_zp"  # "": an optional input left out
    if unsigned:
        # The same int8 values held as uint8 around 128 (b_zero_point 128): the same products, computed by
        # kernels that never saturate (see unsigned_weights).
        weight_input = graph.const(prefix + "w", (quantised.astype(np.int16) + 128).astype(np.uint8), np.uint8)
        zero_points = [zero_point, "rq_zp"]
    else:
        weight_input = graph.const(prefix + "w", quantised, np.int8)
        zero_points = [zero_point] if zero_point else []
    scaled = graph.add(
        "MatMulIntegerToFloat",
        [
            site.prefix + "q",
            weight_input,
            "rq_one",
            graph.const(prefix + "column_scale", column_scale),
            *zero_points,
        ],
        prefix + "columns",
        domain="com.microsoft",
    )
    result = graph.add("Mul", [scaled, site.prefix + "scale_column"], prefix + "rows_out")
    if site.outliers is not None:
        outlier_part = graph.add(
            "MatMul",
            [site.prefix + "outlier_values", graph.const(prefix + "outlier_w", weight[site.outliers])],
            prefix + "outlier_part",
        )
        constant_part = graph.add("Add", [outlier_part, graph.const(prefix + "constant", constant)], prefix + "extra")
        result = graph.add("Add", [result, constant_part], prefix + "sum")
    elif np.any(constant != 0):
        result = graph.add("Add", [result, graph.const(prefix + "constant", constant)], prefix + "sum")
    shape = graph.add(
        "Concat",
        [site.prefix + "lead", graph.const(prefix + "width", [weight.shape[1]], np.int64)],
        prefix + "out_shape",
        axis=0,
    )
    graph.add("Reshape", [result, shape], output)
