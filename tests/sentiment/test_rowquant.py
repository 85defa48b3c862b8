"""The per-row int8 rewrite of matrix products (listener/sentiment/default_model/rowquant.py).

A small hand-built graph, embedding -> MatMul -> GELU -> MatMul, with one input
channel thirty times larger than the rest, as BERT's LayerNorm outputs have.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from listener.sentiment.default_model.rowquant import GELU_MIN, quantise_rows, unsigned_weights

VOCAB, WIDTH, HIDDEN, OUT = 200, 32, 64, 8
OUTLIER = 5


def _model(path: Path) -> Path:
    rng = np.random.default_rng(7)
    embeddings = rng.normal(0, 1, (VOCAB, WIDTH)).astype(np.float32)
    embeddings[:, OUTLIER] *= 30.0
    first = rng.normal(0, 0.2, (WIDTH, HIDDEN)).astype(np.float32)
    first[OUTLIER] /= 30.0  # the model has learnt to read the large channel with small weights
    second = rng.normal(0, 0.2, (HIDDEN, OUT)).astype(np.float32)
    constants = [
        numpy_helper.from_array(embeddings, "embeddings"),
        numpy_helper.from_array(first, "first"),
        numpy_helper.from_array(rng.normal(0, 0.1, HIDDEN).astype(np.float32), "first_bias"),
        numpy_helper.from_array(second, "second"),
        numpy_helper.from_array(rng.normal(0, 0.1, OUT).astype(np.float32), "second_bias"),
        numpy_helper.from_array(np.array(np.sqrt(2.0), np.float32), "root2"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array(0.5, np.float32), "half"),
    ]
    nodes = [
        helper.make_node("Gather", ["embeddings", "input_ids"], ["x"]),
        helper.make_node("MatMul", ["x", "first"], ["h0"]),
        helper.make_node("Add", ["h0", "first_bias"], ["h"]),
        # GELU written out, as the exporter writes it: h * 0.5 * (1 + erf(h / sqrt 2))
        helper.make_node("Div", ["h", "root2"], ["h_scaled"]),
        helper.make_node("Erf", ["h_scaled"], ["h_erf"]),
        helper.make_node("Add", ["h_erf", "one"], ["h_erf1"]),
        helper.make_node("Mul", ["h", "h_erf1"], ["h_mul"]),
        helper.make_node("Mul", ["h_mul", "half"], ["g"]),
        helper.make_node("MatMul", ["g", "second"], ["o0"]),
        helper.make_node("Add", ["o0", "second_bias"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "tokens", OUT])],
        constants,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return path


def _run(path: Path, ids: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("rowquant")
    fp32 = _model(directory / "fp32.onnx")
    calibration = [list(np.random.default_rng(1).integers(0, VOCAB, size=12)) for _ in range(20)]
    # uint8 weights: the format whose kernels never saturate, so the figures below hold on any CPU
    return fp32, quantise_rows(fp32, directory / "int8.onnx", calibration, unsigned=True)


def _constants(path: Path) -> dict[str, np.ndarray]:
    return {item.name: numpy_helper.to_array(item) for item in onnx.load(str(path)).graph.initializer}


def test_products_run_in_int8_and_stay_close_to_float32(models: tuple[Path, Path]) -> None:
    fp32, int8 = models
    ops = [node.op_type for node in onnx.load(str(int8)).graph.node]
    assert ops.count("MatMulIntegerToFloat") == 2
    ids = np.random.default_rng(2).integers(0, VOCAB, size=(6, 10))
    expected, got = _run(fp32, ids), _run(int8, ids)
    # within 3 % of the outputs' spread everywhere (8.6 % with every channel in int8; 18 % with int8 weights
    # on a CPU without VNNI, whose uint8 x int8 kernel saturates)
    assert np.abs(got - expected).max() < 0.03 * np.abs(expected).max()


def test_the_large_channel_is_found_and_kept_out_of_the_int8_product(models: tuple[Path, Path]) -> None:
    """Left in, channel 5 would set every row's scale and leave the other channels a few steps each."""
    _, int8 = models
    constants = _constants(int8)
    assert OUTLIER in constants["rq0_outliers"].tolist()
    weights = next(value for name, value in constants.items() if name.startswith("rq0_") and name.endswith("_w"))
    # the int8 rows of the split channels are zero: held as uint8 around 128 (rowquant.UNSIGNED_WEIGHTS)
    assert weights.dtype == np.uint8 and (weights[OUTLIER] == 128).all()


def test_gelu_outputs_are_shifted_onto_the_full_uint8_range_and_others_are_not(models: tuple[Path, Path]) -> None:
    _, int8 = models
    constants = _constants(int8)
    assert "rq0_shift" not in constants  # the embedding output goes far below zero
    assert float(constants["rq1_shift"]) == pytest.approx(GELU_MIN)


def test_a_rows_result_is_the_same_whatever_rows_run_beside_it(models: tuple[Path, Path]) -> None:
    _, int8 = models
    ids = np.random.default_rng(3).integers(0, VOCAB, size=(5, 9))
    together = _run(int8, ids)
    for row in range(len(ids)):
        alone = _run(int8, ids[row : row + 1])
        assert np.array_equal(alone[0], together[row])
    loud = ids.copy()
    loud[0] = 0  # a neighbour of other tokens entirely
    assert np.array_equal(_run(int8, loud)[1:], together[1:])


def test_int8_weights_hold_the_same_values_for_cpus_with_vnni(models: tuple[Path, Path], tmp_path: Path) -> None:
    fp32, unsigned = models
    calibration = [list(np.random.default_rng(1).integers(0, VOCAB, size=12)) for _ in range(20)]
    signed = quantise_rows(fp32, tmp_path / "signed.onnx", calibration, unsigned=False)
    as_uint8, as_int8 = _constants(unsigned), _constants(signed)
    weights = sorted(name for name in as_int8 if name.endswith("_w") and not name.endswith("outlier_w"))
    assert len(weights) == 2
    for name in weights:
        assert as_int8[name].dtype == np.int8 and as_uint8[name].dtype == np.uint8
        assert np.array_equal(as_int8[name].astype(np.int16) + 128, as_uint8[name].astype(np.int16))


@pytest.mark.parametrize(("flags", "unsigned"), [
    ("flags\t\t: fpu sse2 avx avx2 fma bmi2", True),  # AVX2 only (an AMD EPYC before Zen 4): saturates
    ("flags\t\t: fpu avx2 avx512f avx512bw avx512_vnni", False),
    ("flags\t\t: fpu avx2 avx_vnni", False),
    ("", True),  # unknown: the kernels that never saturate
])
def test_a_cpu_without_vnni_gets_the_weights_that_never_saturate(flags: str, unsigned: bool) -> None:
    assert unsigned_weights(flags) is unsigned
