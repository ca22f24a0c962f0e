"""Tensors, the graph they record, and reverse-mode differentiation of any order.

The whole idea in one screen (after micrograd and HIPS/autograd):

* A *primitive* computes its result on plain arrays and calls :func:`apply` with, for each
  input, a *VJP*: a function ``vjp(g, out)`` that maps the output's gradient ``g`` to that
  input's gradient **using Tensor ops**. Because the VJP is itself made of differentiable ops,
  running it while recording (``create_graph=True``) builds a graph of the gradient, so
  gradients of gradients come for free, to any order.
* :func:`apply` records a :class:`Node` only when some input requires a gradient and
  recording is on (it is off inside :func:`no_grad`).
* :func:`grad` and :meth:`Tensor.backward` walk the graph in reverse topological order with an
  explicit stack (no recursion limit), sum gradients that meet at a tensor, and undo
  broadcasting in exactly one place (:func:`_fit_to`): a VJP may return a gradient of the
  broadcast shape; it is summed back to the input's shape here.

Gradient accumulation: ``backward()`` *adds* into ``.grad`` of leaf tensors (tensors that
require a gradient and were not computed by an op), like PyTorch; call ``zero_grad`` or set
``.grad = None`` between steps. After a walk the graph is freed unless ``retain_graph=True``
(the default when ``create_graph=True``); walking a freed graph again raises an error.

Dtypes: the default floating dtype is float32 (:func:`set_default_dtype` changes it);
float64 works end to end. Two tensors promote as NumPy's ``result_type`` does (float32 with
float64 gives float64). A Python scalar next to a tensor follows NumPy 2's rule for Python
scalars (:func:`scalar_dtype`), except that a float meeting a bool or integer tensor gives the
default floating dtype. Gradients always have the dtype of the tensor they belong to.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from . import backend
from .errors import AnomalyError, DTypeError, ShapeError, TinygenError


class _Modes(threading.local):
    """Grad and anomaly modes, per thread: ``no_grad()`` in one thread (an evaluation, a data
    worker) never switches recording off in another. Class attributes are each thread's
    starting values."""

    grad_enabled = True
    anomaly = False
    backward_of: str | None = None  # the node whose VJP is running (for anomaly messages)


_mode = _Modes()
_default_dtype = np.dtype(np.float32)  # one setting for the whole process


def set_default_dtype(dtype) -> None:
    """Set the dtype that new floating tensors get (float32 or float64)."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise DTypeError(f"set_default_dtype: expected float32 or float64, got {dtype}")
    global _default_dtype
    _default_dtype = dtype


def get_default_dtype() -> np.dtype:
    return _default_dtype


@contextlib.contextmanager
def _set(attr: str, value: bool) -> Iterator[None]:
    old = getattr(_mode, attr)
    setattr(_mode, attr, value)
    try:
        yield
    finally:
        setattr(_mode, attr, old)


def no_grad():
    """Context in which ops record no graph (evaluation, optimizer updates)."""
    return _set("grad_enabled", False)


def enable_grad(enabled: bool = True):
    """Context that switches graph recording on (or to ``enabled``)."""
    return _set("grad_enabled", enabled)


def is_grad_enabled() -> bool:
    return _mode.grad_enabled


def detect_anomaly():
    """Context that raises :class:`AnomalyError` at the first op whose forward or backward
    produces NaN or Inf, naming that op."""
    return _set("anomaly", True)


def _check_finite(op: str, array) -> None:
    if array.dtype.kind in "fc" and not bool(backend.xp_of(array).isfinite(array).all()):
        where = f"shape {tuple(array.shape)}"
        if _mode.backward_of is None:
            raise AnomalyError(f"{op}: forward produced NaN or Inf ({where})")
        if op != _mode.backward_of:
            where += f", in the '{op}' of its gradient formula"
        raise AnomalyError(f"{_mode.backward_of}: backward produced NaN or Inf ({where})")


class Node:
    """How a tensor was made: the op's name and, per input needing a gradient, its VJP."""

    __slots__ = ("op", "parents")

    def __init__(self, op: str, parents: list[tuple[Tensor, Callable]]):
        self.op = op
        self.parents: list[tuple[Tensor, Callable]] | None = parents


class Tensor:
    """An n-dimensional array (NumPy or CuPy) that can record how it was computed.

    ``data`` is the array, ``grad`` the accumulated gradient (a Tensor or None),
    ``requires_grad`` whether gradients flow to it. Operators (+, -, *, /, **, @, [], ...) and
    methods (``sum``, ``reshape``, ...) are the functions of :mod:`tinygen.ops`.
    """

    __slots__ = ("data", "grad", "requires_grad", "_node", "__weakref__")
    __array_ufunc__ = None  # make NumPy defer to Tensor's reflected operators

    def __init__(self, data, requires_grad: bool = False):
        if not isinstance(data, np.ndarray) and backend.device_of(data) == "cpu":
            data = np.asarray(data)
        if requires_grad and data.dtype.kind not in "fc":
            raise DTypeError(f"tensor: only floating tensors can require gradients, "
                             f"got {data.dtype}")
        self.data = data
        self.grad: Tensor | None = None
        self.requires_grad = bool(requires_grad)
        self._node: Node | None = None

    # -- plain properties -------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: int(self.data.size))
    dtype = property(lambda self: self.data.dtype)
    device = property(lambda self: backend.device_of(self.data))
    xp = property(lambda self: backend.xp_of(self.data))
    is_leaf = property(lambda self: self._node is None)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise ShapeError("len: a 0-d tensor has no length")
        return self.shape[0]

    def __repr__(self) -> str:
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self._node is not None:
            extra += f", op={self._node.op}"
        dev = "" if self.device == "cpu" else ", device='cuda'"
        return f"tensor({backend.to_numpy(self.data)!r}{dev}{extra})"

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ShapeError(f"bool: a tensor of shape {self.shape} has no single truth value")
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __hash__(self) -> int:
        return id(self)

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (a copy from the GPU; no gradient)."""
        return backend.to_numpy(self.data)

    def item(self):
        """The single value of a one-element tensor as a Python number."""
        if self.size != 1:
            raise ShapeError(f"item: expected a tensor with one element, got shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def detach(self) -> Tensor:
        """The same values, cut from the graph (shares memory)."""
        return Tensor(self.data)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        if flag and self.dtype.kind not in "fc":
            raise DTypeError(f"requires_grad_: only floating tensors can require gradients, "
                             f"got {self.dtype}")
        self.requires_grad = flag
        return self

    def to(self, device: str) -> Tensor:
        """This tensor on ``device`` ("cpu" or "cuda"); differentiable across the move."""
        from .ops.elementwise import to_device
        return to_device(self, device)

    def backward(self, gradient=None, create_graph: bool = False,
                 retain_graph: bool | None = None) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires a gradient.

        ``gradient`` is the upstream gradient (required unless ``self`` has one element).
        Gradients are *added* to existing ``.grad`` values. With ``create_graph=True`` the
        stored gradients carry a graph themselves, so they can be differentiated again.
        """
        if not self.requires_grad:
            raise TinygenError("backward: this tensor does not require grad (no input to it "
                               "requires grad, or it was computed under no_grad())")
        roots, seeds = _seeds([self], None if gradient is None else [gradient], "backward")
        grads = _walk(roots, seeds, None, create_graph,
                      create_graph if retain_graph is None else retain_graph)
        handed_out: set[int] = set()
        for leaf, g in grads.items():
            if leaf.grad is not None:
                g = leaf.grad + g
            elif not create_graph and (g.data.base is not None or id(g.data) in handed_out):
                g = Tensor(g.data.copy())  # own, writeable memory: never a view shared by leaves
            handed_out.add(id(g.data))
            leaf.grad = g


def as_array(value, dtype=None, xp=np):
    """An array from a Python number, list, array or Tensor (ints stay ints, floats get the
    default dtype unless ``dtype`` says otherwise)."""
    if isinstance(value, Tensor):
        value = value.data
    try:
        if dtype is None and not hasattr(value, "dtype"):
            probe = np.asarray(value)
            dtype = _default_dtype if probe.dtype.kind == "f" else probe.dtype
            if probe.dtype.kind == "c":
                dtype = probe.dtype
        return xp.asarray(value, dtype=dtype)
    except ValueError:
        problem = ragged_problem(value) if isinstance(value, list | tuple) else None
        if problem is None:
            raise
        raise ShapeError(f"tensor: ragged nested list: {problem}; every list at one depth "
                         "must have the same length") from None


def ragged_problem(value, path: str = "data") -> str | None:
    """Where nested lists stop being rectangular, e.g. "data[1] has shape (1,) but data[0]
    has shape (2,)"; None if they are rectangular."""
    shapes = []
    for i, item in enumerate(value):
        if isinstance(item, list | tuple):
            problem = ragged_problem(item, f"{path}[{i}]")
            if problem is not None:
                return problem
            shapes.append(np.shape(np.asarray(item, dtype=object)) if item else (0,))
        else:
            shapes.append(tuple(getattr(item, "shape", ())))
        if shapes[i] != shapes[0]:
            return f"{path}[{i}] has shape {shapes[i]} but {path}[0] has shape {shapes[0]}"
    return None


def scalar_dtype(value, like: np.dtype, op: str = "as_tensor") -> np.dtype:
    """The dtype of a Python scalar next to a tensor of dtype ``like``: the dtype their result
    has. NumPy 2's rule for Python scalars (NEP 50): the scalar adopts the tensor's dtype
    unless it is of a higher kind (bool < int < float < complex). So a bool tensor with an int
    gives the default integer (int64), an integer tensor with a float gives tinygen's default
    float (NumPy: float64), a float tensor keeps its dtype. NumPy scalars count as Python
    scalars. An int that the integer dtype cannot hold (uint8 with 300 or −1) is a DTypeError
    naming ``op`` (NumPy 2 raises OverflowError)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return like
    if isinstance(value, int):
        if like.kind == "b":
            return np.asarray(0).dtype
        if like.kind in "iu" and not np.iinfo(like).min <= value <= np.iinfo(like).max:
            info = np.iinfo(like)
            raise DTypeError(f"{op}: the Python int {value} does not fit a {like} tensor "
                             f"(range [{info.min}, {info.max}]); cast the tensor first, e.g. "
                             f"x.astype('int64')")
        return like
    if isinstance(value, float | complex):
        base = _default_dtype if like.kind in "biu" else like
        return np.promote_types(base, np.complex64) if isinstance(value, complex) else base
    raise DTypeError(f"{op}: expected a number, got {type(value).__name__}")


def as_tensor(value, like: Tensor | None = None, op: str = "as_tensor") -> Tensor:
    """``value`` as a Tensor. A Python (or NumPy) scalar next to ``like`` takes its device and
    the dtype :func:`scalar_dtype` gives; anything else must hold numbers (DTypeError naming
    ``op`` otherwise, e.g. for None)."""
    if isinstance(value, Tensor):
        return value
    if like is not None and isinstance(value, int | float | complex | np.generic) \
            and not isinstance(value, np.ndarray):
        return Tensor(like.xp.asarray(value, dtype=scalar_dtype(value, like.dtype, op)))
    array = as_array(value)
    if array.dtype.kind not in "biufc":
        raise DTypeError(f"{op}: expected numbers, got {type(value).__name__} "
                         f"(dtype {array.dtype})")
    return Tensor(array)


def apply(op: str, data, parents: Sequence[tuple[Tensor, Callable]]) -> Tensor:
    """Wrap the array ``data`` computed by primitive ``op``; record a node if needed.

    ``parents`` pairs each input with its VJP ``vjp(g, out) -> Tensor``; only inputs that
    require a gradient are kept, so VJPs of constant inputs are never run.
    """
    if _mode.anomaly:
        _check_finite(op, data)
    out = Tensor(data)
    if _mode.grad_enabled:
        live = [(t, f) for t, f in parents if t.requires_grad]
        if live:
            out.requires_grad = True
            out._node = Node(op, live)
    return out


def _fit_to(g: Tensor, t: Tensor, op: str) -> Tensor:
    """Undo broadcasting (the one place it is done) and restore ``t``'s dtype."""
    if g.data.shape != t.data.shape:
        from .ops.reduce import sum_to
        try:
            g = sum_to(g, t.shape)
        except ShapeError as e:
            raise ShapeError(f"{op}: backward gave a gradient of shape {g.shape} for an input "
                             f"of shape {t.shape}") from e
    if g.data.dtype != t.data.dtype:
        from .ops.elementwise import cast
        g = cast(g, t.dtype)
    return g


def _topological(roots: Sequence[Tensor]) -> list[Tensor]:
    """Tensors reachable from ``roots`` through recorded nodes, inputs before outputs."""
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(r, False) for r in roots]
    while stack:
        t, children_done = stack.pop()
        if children_done:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        node = t._node
        if node is not None:
            if node.parents is None:
                raise TinygenError(
                    f"backward through the graph of '{node.op}' a second time, but it was freed "
                    "after the first pass; pass retain_graph=True the first time")
            stack.extend((p, False) for p, _ in node.parents if id(p) not in seen)
    return order


def _walk(roots: list[Tensor], seeds: list[Tensor], targets: list[Tensor] | None,
          create_graph: bool, retain_graph: bool) -> dict[Tensor, Tensor]:
    """Reverse-mode sweep. Returns gradients of ``targets`` (or of every leaf if None)."""
    order = _topological(roots)
    if targets is None:
        wanted = {id(t) for t in order if t._node is None}
        useful = None
    else:
        wanted = {id(t) for t in targets}
        useful = set(wanted)  # tensors from which a target can be reached
        for t in order:
            if t._node is not None and any(id(p) in useful for p, _ in t._node.parents):
                useful.add(id(t))
    grads: dict[int, Tensor] = {}
    for r, s in zip(roots, seeds, strict=True):
        grads[id(r)] = s if id(r) not in grads else grads[id(r)] + s
    result: dict[Tensor, Tensor] = {}
    with enable_grad(create_graph):
        for k in range(len(order) - 1, -1, -1):
            t, order[k] = order[k], None  # the list must not keep a tensor (and its array)
            g = grads.pop(id(t), None)  # alive once its node has run: memory is freed as we go
            node = t._node
            if g is not None and id(t) in wanted:
                result[t] = g
            if node is None:
                continue
            if g is not None:
                outer = _mode.backward_of  # not None when this walk is a grad() inside a VJP
                _mode.backward_of = node.op
                try:
                    for p, vjp in node.parents:
                        if useful is not None and id(p) not in useful:
                            continue
                        gp = vjp(g, t)
                        if gp is None:
                            continue
                        if type(gp) is not Tensor:
                            gp = as_tensor(gp, like=p)
                        gp = _fit_to(gp, p, node.op)
                        if _mode.anomaly:
                            _check_finite(node.op, gp.data)
                        grads[id(p)] = gp if id(p) not in grads else grads[id(p)] + gp
                finally:
                    _mode.backward_of = outer
            if not retain_graph:
                node.parents = None
    return result


def _seeds(outputs: Sequence[Tensor], grad_outputs, who: str) -> tuple[list, list]:
    seeds = []
    for i, out in enumerate(outputs):
        g = None if grad_outputs is None else grad_outputs[i]
        if g is None:
            if out.size != 1:
                raise ShapeError(f"{who}: output {i} has shape {out.shape}, not one element; "
                                 "pass the upstream gradient (grad_outputs / gradient)")
            g = Tensor(out.xp.ones(out.shape, dtype=out.dtype))
        g = as_tensor(g, like=out)
        if g.shape != out.shape:
            raise ShapeError(f"{who}: gradient of shape {g.shape} given for output {i} of "
                             f"shape {out.shape}; expected the same shape")
        seeds.append(g)
    return list(outputs), seeds


def grad(outputs, inputs, grad_outputs=None, create_graph: bool = False,
         retain_graph: bool | None = None, allow_unused: bool = False):
    """Gradients of ``outputs`` with respect to ``inputs`` (does not touch ``.grad``).

    ``outputs`` and ``inputs`` are a Tensor or a sequence of Tensors; the result is a Tensor
    or a tuple to match ``inputs``. ``grad_outputs`` are the upstream gradients (default: 1 for
    one-element outputs). With ``create_graph=True`` the result is itself differentiable:
    ``grad(grad(y, x, create_graph=True), x)`` is the second derivative. An input that the
    outputs do not depend on raises an error unless ``allow_unused=True``, when its gradient
    is None.
    """
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    if isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise TinygenError(f"grad: input {i} does not require grad; create it with "
                               "requires_grad=True")
    live = [i for i, o in enumerate(outputs) if o.requires_grad]
    found: dict[Tensor, Tensor] = {}
    if live:
        roots, seeds = _seeds([outputs[i] for i in live],
                              None if grad_outputs is None else [grad_outputs[i] for i in live],
                              "grad")
        found = _walk(roots, seeds, inputs, create_graph,
                      create_graph if retain_graph is None else retain_graph)
    result = []
    for i, x in enumerate(inputs):
        g = found.get(x)
        if g is None and not allow_unused:
            raise TinygenError(f"grad: input {i} (shape {x.shape}) is not used to compute the "
                               "outputs; pass allow_unused=True to get None for it")
        result.append(g)
    return result[0] if single else tuple(result)
