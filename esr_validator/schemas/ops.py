"""Facts about operators that both sides read: which unsupported ops hide no compute.

The sandbox reports fvcore's unsupported-op counter; the trusted side decides which of those
ops may hide an under-count. The table lives here, in the shared schemas, so neither side
imports the other.
"""

from __future__ import annotations

# Ops fvcore lists as unsupported although the official rules price them at 0 anyway
# (element-wise arithmetic, activations, shuffles, cheap reductions): listing them says
# nothing about an under-count. Convolution variants, matmuls, FFTs, bicubic upsampling
# and unknown custom ops remain significant.
ZERO_COST_OPS = frozenset(
    f"aten::{name}{suffix}"
    for name in (
        "add", "sub", "rsub", "mul", "div", "neg", "abs", "pow", "sqrt", "rsqrt", "exp",
        "log", "clamp", "clamp_min", "clamp_max", "minimum", "maximum", "where",
        "gelu", "silu", "sigmoid", "tanh", "hardtanh", "hardswish", "hardsigmoid",
        "leaky_relu", "elu", "prelu", "softplus", "mish", "relu6",
        "pixel_shuffle", "pixel_unshuffle", "repeat_interleave", "repeat", "roll",
        "mean", "sum", "amax", "amin", "var", "std", "softmax", "sort", "topk",
        "fill", "zero", "zeros_like", "ones_like", "rand_like", "randn_like",
    )
    for suffix in ("", "_")
)  # fmt: skip


def significant_unsupported(unsupported: dict[str, int]) -> dict[str, int]:
    """The unsupported ops that may hide real compute (see ``ZERO_COST_OPS``)."""
    return {op: n for op, n in unsupported.items() if op not in ZERO_COST_OPS}
