"""Primitive differentiable functions, and the Tensor methods and operators that call them."""

from ..autograd import Tensor
from ..errors import ShapeError
from .conv import (avg_pool2d, conv1d, conv2d, conv2d_weight_grad, conv_transpose1d,
                   conv_transpose2d, max_pool2d, upsample)
from .crf import crf_log_partition, crf_marginals, crf_nll, crf_score, crf_viterbi
from .elementwise import (
    abs,
    add,
    cast,
    clip,
    cos,
    div,
    elu,
    erf,
    exp,
    expm1,
    leaky_relu,
    log,
    log1p,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    relu,
    sigmoid,
    sign,
    sin,
    softplus,
    sqrt,
    stop_gradient,
    sub,
    tanh,
    to_device,
    where,
)
from .index import gather, getitem, one_hot, scatter_add, take_along_axis
from .linalg import cholesky, det, inv, linear, matmul, slogdet, solve
from .norm import standardize
from .reduce import (
    argmax,
    argmin,
    cumsum,
    log_softmax,
    logsumexp,
    max,
    mean,
    min,
    prod,
    sort,
    sum,
    sum_to,
    topk,
    var,
)
from .shape import (
    concat,
    expand,
    flip,
    pad,
    permute,
    repeat,
    reshape,
    split,
    squeeze,
    stack,
    tile,
    transpose,
    unsqueeze,
)

__all__ = [
    "avg_pool2d", "conv1d", "conv2d", "conv2d_weight_grad", "conv_transpose1d",
    "conv_transpose2d", "max_pool2d", "upsample",
    "crf_log_partition", "crf_marginals", "crf_nll", "crf_score", "crf_viterbi",
    "abs", "add", "argmax", "argmin", "cast", "cholesky", "clip", "concat", "cos", "cumsum",
    "det", "div", "elu", "erf", "exp", "expand", "expm1", "flip", "gather", "getitem", "inv",
    "leaky_relu", "linear", "log", "log1p", "logsumexp", "matmul", "max", "maximum", "mean", "min",
    "log_softmax",
    "minimum", "mul", "neg", "standardize", "one_hot", "pad", "permute", "pow", "prod", "relu",
    "repeat",
    "reshape", "scatter_add", "sigmoid", "sign", "sin", "slogdet", "softplus", "solve", "sort",
    "split", "sqrt", "squeeze", "stack", "stop_gradient", "sub", "sum", "sum_to",
    "take_along_axis", "tanh", "tile", "to_device", "topk", "transpose", "unsqueeze", "var",
    "where",
]


def _flip_args(fn):
    return lambda self, other: fn(other, self)


def _compare(name):
    def method(self, other):
        other = other.data if isinstance(other, Tensor) else other
        if isinstance(other, list | tuple):
            other = self.xp.asarray(other)
        shape = getattr(other, "shape", None)
        if shape is not None and not _broadcasts(self.shape, shape):
            raise ShapeError(f"{name.strip('_')}: shapes {self.shape} and {tuple(shape)} do not "
                             "broadcast")
        return Tensor(getattr(self.data, name)(other))
    return method


def _broadcasts(a: tuple, b: tuple) -> bool:
    return all(m == n or 1 in (m, n) for m, n in zip(reversed(a), reversed(b)))


_METHODS = {
    "__add__": add, "__radd__": _flip_args(add), "__sub__": sub, "__rsub__": _flip_args(sub),
    "__mul__": mul, "__rmul__": _flip_args(mul), "__truediv__": div,
    "__rtruediv__": _flip_args(div), "__pow__": pow, "__rpow__": _flip_args(pow),
    "__matmul__": matmul, "__rmatmul__": _flip_args(matmul), "__neg__": neg,
    "__abs__": abs, "__getitem__": getitem,
    "exp": exp, "log": log, "sqrt": sqrt, "tanh": tanh, "sigmoid": sigmoid, "relu": relu,
    "abs": abs, "clip": clip, "sum": sum, "mean": mean, "var": var, "max": max, "min": min,
    "prod": prod, "logsumexp": logsumexp, "cumsum": cumsum, "argmax": argmax, "argmin": argmin,
    "reshape": reshape, "permute": permute, "transpose": transpose, "expand": expand,
    "squeeze": squeeze, "unsqueeze": unsqueeze, "flip": flip, "matmul": matmul,
    "astype": cast,
}
_COMPARISONS = ["__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"]

for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)
for _name in _COMPARISONS:
    setattr(Tensor, _name, _compare(_name))
Tensor.T = property(lambda self: permute(self, tuple(reversed(range(self.ndim)))))
Tensor.__iter__ = lambda self: (self[i] for i in range(len(self)))
