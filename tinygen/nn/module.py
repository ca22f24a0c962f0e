"""Modules: objects that own parameters, buffers and submodules, found by attribute assignment.

``self.weight = Parameter(...)`` registers a trainable tensor, ``self.encoder = Linear(...)`` a
submodule, ``self.register_buffer("running_mean", t)`` non-trainable state saved with the model.
From these three dictionaries every module can list its parameters by dotted name
(``encoder.weight``), save and load them (:meth:`Module.state_dict`), move them between devices,
switch train/eval mode, and let you read any intermediate value (:meth:`Module.capture`).

Containers: a plain Python list or dict holding modules is *not* registered (its parameters
would silently be missed by the optimizer), so assigning one raises an error that tells you to
wrap it in :class:`ModuleList` or :class:`ModuleDict`.

Extra losses (Keras' ``add_loss``): a module may call ``self.add_loss(t)`` in forward; they pile
up until ``model.pop_losses()`` collects and clears them, so a training loop calls it after every
forward (validation too). :func:`functional_call` runs a module with some parameters replaced by
other tensors, e.g. to differentiate through a weight update.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..autograd import Tensor, as_tensor
from ..errors import DTypeError, ShapeError, TinygenError

__all__ = ["LoadResult", "Module", "ModuleDict", "ModuleList", "Parameter", "Sequential",
           "functional_call"]


class Parameter(Tensor):
    """A trainable tensor: a leaf that requires a gradient. Assigning one as an attribute of a
    :class:`Module` registers it under that name."""

    __slots__ = ("row_parts",)

    def __init__(self, data, requires_grad: bool = True):
        data = data.data if isinstance(data, Tensor) else as_tensor(data).data
        if data.dtype.kind not in "fc":
            raise DTypeError(f"Parameter: needs a floating array, got dtype {data.dtype}")
        super().__init__(data, requires_grad=requires_grad)
        # (rows, leaf) pairs of a row-sparse lookup (``Embedding(sparse=True)``): each leaf
        # holds copies of the rows used by one forward; its ``.grad`` is this parameter's
        # gradient at those rows (see :meth:`row_grad`)
        self.row_parts: list = []

    def row_grad(self):
        """The row-sparse gradient gathered by ``Embedding(sparse=True)`` lookups since the
        last ``zero_grad``: (sorted unique row ids, their summed gradient rows), or None."""
        parts = [(rows, leaf.grad.data) for rows, leaf in self.row_parts if leaf.grad is not None]
        if not parts:
            return None
        xp = self.xp
        rows = xp.concatenate([r for r, _ in parts])
        values = xp.concatenate([g for _, g in parts])
        if len(parts) == 1:
            return rows, values
        unique, inverse = xp.unique(rows, return_inverse=True)
        summed = xp.zeros((len(unique),) + values.shape[1:], values.dtype)
        backend.scatter_add(xp, summed, inverse.reshape(-1), values)
        return unique, summed

    def __repr__(self) -> str:
        return "parameter" + super().__repr__()[len("tensor"):]


class LoadResult(NamedTuple):
    """What :meth:`Module.load_state_dict` skipped (only non-empty with ``strict=False``)."""

    missing: list[str]
    unexpected: list[str]


class _Handle:
    """Returned by :meth:`Module.register_forward_hook`; ``remove()`` (or leaving a ``with``
    block) unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, hooks: dict):
        self.hooks, self.id = hooks, next(self._ids)

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self) -> _Handle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


_MISSING = object()


@contextlib.contextmanager
def _substitute(module: Module, name: str, value) -> Iterator[None]:
    """Make ``module.<name>`` return ``value`` for a while, without touching the registered
    parameter: an instance attribute is looked up before ``__getattr__`` reaches
    ``_parameters``. Restores whatever was there before, so substitutions nest."""
    d = module.__dict__
    old = d.get(name, _MISSING)
    d[name] = value
    try:
        yield
    finally:
        if old is _MISSING:
            d.pop(name, None)
        else:
            d[name] = old


class Module:
    """Base class of layers and models: subclass it, assign parameters and submodules in
    ``__init__`` (after ``super().__init__()``), and write ``forward``. Calling the module runs
    ``forward`` and then the forward hooks."""

    training: bool

    def __init__(self) -> None:
        self.__dict__.update(_parameters={}, _buffers={}, _modules={}, _forward_hooks={},
                             _losses=[], training=True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define one")

    def __call__(self, *args, **kwargs):
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            replaced = hook(self, args, out)
            if replaced is not None:
                out = replaced
        return out

    # -- registration ---------------------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if "_parameters" not in d:
            raise TinygenError(f"{type(self).__name__}: call super().__init__() in __init__ "
                               f"before assigning attributes (while setting {name!r})")
        params, buffers, modules = d["_parameters"], d["_buffers"], d["_modules"]
        if isinstance(value, Parameter):
            target = params
        elif isinstance(value, Module):
            target = modules
        elif name in buffers and (value is None or isinstance(value, Tensor)):
            target = buffers
        elif name in params and isinstance(value, Tensor):
            raise TinygenError(f"{type(self).__name__}.{name} is a Parameter; assign a "
                               f"Parameter(...), or change its values in place with "
                               f".{name}.data[...] = ...")
        else:
            target = None
            _reject_containers(type(self).__name__, name, value)
        for store in (params, buffers, modules):
            if store is not target:
                store.pop(name, None)
        if target is None:
            object.__setattr__(self, name, value)
        else:
            d.pop(name, None)
            target[name] = value

    def __getattr__(self, name: str) -> Any:  # only called when normal lookup fails
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            store = d.get(key)
            if store is not None and name in store:
                return store[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for key in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__[key]:
                del self.__dict__[key][name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, tensor: Tensor | None) -> None:
        """Register non-trainable state (e.g. BatchNorm's running mean): it moves with
        :meth:`to` and is saved in :meth:`state_dict`, but is not a parameter."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TinygenError(f"register_buffer: {name!r} must be a Tensor or None, got "
                               f"{type(tensor).__name__}")
        _check_name(name)
        self.__dict__.pop(name, None)
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers[name] = tensor

    # -- walking the tree -----------------------------------------------------------------

    def named_modules(self, prefix: str = "") -> list[tuple[str, Module]]:
        """(dotted name, module) for this module ("" by default) and every submodule, each
        module once (the first name it is reached by)."""
        seen: set[int] = set()
        out: list[tuple[str, Module]] = []

        def walk(m: Module, name: str) -> None:
            if id(m) in seen:
                return
            seen.add(id(m))
            out.append((name, m))
            for key, child in m._modules.items():
                if child is not None:
                    walk(child, f"{name}.{key}" if name else key)

        walk(self, prefix)
        return out

    def modules(self) -> list[Module]:
        return [m for _, m in self.named_modules()]

    def children(self) -> list[Module]:
        """The direct submodules."""
        out: list[Module] = []
        for m in self._modules.values():
            if m is not None and all(m is not o for o in out):
                out.append(m)
        return out

    def _named(self, store: str) -> list[tuple[str, Tensor]]:
        seen: set[int] = set()
        out = []
        for prefix, m in self.named_modules():
            for key, t in m.__dict__[store].items():
                if t is not None and id(t) not in seen:
                    seen.add(id(t))
                    out.append((f"{prefix}.{key}" if prefix else key, t))
        return out

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs; a parameter shared by two modules appears once."""
        return self._named("_parameters")

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self) -> list[tuple[str, Tensor]]:
        return self._named("_buffers")

    def buffers(self) -> list[Tensor]:
        return [b for _, b in self.named_buffers()]

    # -- state ----------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Tensor]:
        """Every parameter and buffer by dotted name, as *copies* (so a saved state does not
        change when training goes on)."""
        return {name: Tensor(t.data.copy())
                for name, t in self.named_parameters() + self.named_buffers()}

    def load_state_dict(self, state: dict, strict: bool = True) -> LoadResult:
        """Copy the values of ``state`` into the parameters and buffers, in place (on their
        device and dtype). Nothing is copied if anything is wrong: a mis-shaped entry always
        raises :class:`ShapeError`; with ``strict`` missing or unexpected names raise
        :class:`TinygenError`. Every problem is listed in one message."""
        own = dict(self.named_parameters() + self.named_buffers())
        missing = [n for n in own if n not in state]
        unexpected = [n for n in state if n not in own]
        shapes = {n: tuple(getattr(v, "shape", np.shape(v))) for n, v in state.items()}
        mis_shaped = [f"{n}: model has {own[n].shape}, state has {shapes[n]}"
                      for n in own if n in state and shapes[n] != own[n].shape]
        problems = []
        if mis_shaped:
            problems.append("mis-shaped: " + "; ".join(mis_shaped))
        if strict and missing:
            problems.append("missing (in the model, not in the state): " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected (in the state, not in the model): "
                            + ", ".join(unexpected))
        if problems:
            error = ShapeError if mis_shaped else TinygenError
            raise error(f"load_state_dict into {type(self).__name__}: nothing loaded, because"
                        + "".join("\n  " + p for p in problems))
        for name, t in own.items():
            if name in state:
                value = state[name]
                value = value.data if isinstance(value, Tensor) else value
                if not hasattr(value, "dtype"):
                    value = np.asarray(value)
                t.data[...] = backend.to_device(value, t.device)
        return LoadResult(missing, unexpected)

    def train(self, mode: bool = True) -> Module:
        """Switch this module and all submodules to training mode (or eval if not ``mode``)."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode: Dropout is the identity, BatchNorm uses its running statistics."""
        return self.train(False)

    def to(self, device: str | None = None, dtype=None) -> Module:
        """Move (and/or cast) every parameter, buffer and gradient in place; returns self."""
        if device is not None:
            device = backend.check_device(device)
        dtype = None if dtype is None else np.dtype(dtype)

        def convert(array):
            if device is not None:
                array = backend.to_device(array, device)
            if dtype is not None and array.dtype.kind in "fc":
                array = array.astype(dtype, copy=False)
            return array

        for t in self.parameters() + self.buffers():
            t.data = convert(t.data)
            if t.grad is not None:
                t.grad = Tensor(convert(t.grad.data))
        return self

    def zero_grad(self) -> None:
        """Forget the gradients of all parameters (``.grad = None``)."""
        for p in self.parameters():
            p.grad = None

    def requires_grad_(self, flag: bool = True) -> Module:
        """Freeze (``False``) or unfreeze all parameters, e.g. the critic while training a
        generator."""
        for p in self.parameters():
            p.requires_grad = flag
        return self

    # -- reading intermediate values and extra losses --------------------------------------

    def register_forward_hook(self, fn: Callable) -> _Handle:
        """Call ``fn(module, inputs, output)`` after every forward of this module; if it
        returns something other than None, that replaces the output. Returns a handle whose
        ``remove()`` unregisters it."""
        handle = _Handle(self._forward_hooks)
        self._forward_hooks[handle.id] = fn
        return handle

    @contextlib.contextmanager
    def capture(self, *names: str) -> Iterator[dict[str, Any]]:
        """``with model.capture("encoder", "head.0") as seen: model(x)`` fills ``seen`` with the
        outputs of those submodules (dotted names as in :meth:`named_modules`; the last output
        if a module runs several times)."""
        by_name = dict(self.named_modules())
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise TinygenError(f"capture: no submodule named {', '.join(map(repr, unknown))} in "
                               f"{type(self).__name__}; available: "
                               f"{', '.join(n for n in by_name if n) or 'none'}")
        seen: dict[str, Any] = {}
        handles = [by_name[n].register_forward_hook(
            lambda m, inputs, out, n=n: seen.__setitem__(n, out)) for n in names]
        try:
            yield seen
        finally:
            for h in handles:
                h.remove()

    def add_loss(self, loss) -> None:
        """Add an extra loss term during forward (a regulariser, an auxiliary loss), as in
        Keras; the training loop collects them with :meth:`pop_losses`."""
        loss = as_tensor(loss)
        if loss.size != 1:
            raise ShapeError(f"add_loss: expected a single-value loss, got shape {loss.shape}; "
                             "reduce it (e.g. .sum() or .mean()) first")
        self._losses.append(loss)

    def pop_losses(self) -> list[Tensor]:
        """The losses added by this module and all submodules since the last call, which
        clears them. Call it after every forward, or they keep accumulating."""
        out = []
        for m in self.modules():
            out.extend(m._losses)
            m._losses.clear()
        return out

    # -- printing and errors --------------------------------------------------------------

    def extra_repr(self) -> str:
        """The settings shown between the parentheses, e.g. ``in_features=4, out_features=3``."""
        return ""

    def _describe(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ")
                 for name, m in self._modules.items() if m is not None]
        if not lines:
            return self._describe()
        extra = [self.extra_repr()] if self.extra_repr() else []
        return f"{type(self).__name__}(\n  " + "\n  ".join(extra + lines) + "\n)"

    def _expect(self, ok: bool, got: tuple, expected: str, what: str = "input") -> None:
        """Raise a ShapeError naming this layer, the shape it got and the one it expects."""
        if not ok:
            raise ShapeError(f"{self._describe()}: expected {what} of shape {expected}, "
                             f"got {tuple(got)}")


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name or "." in name:
        raise TinygenError(f"invalid name {name!r}: names must be non-empty strings without '.'")


def _reject_containers(owner: str, name: str, value: Any) -> None:
    """A list/tuple/dict holding modules or parameters would not be registered: say so."""
    if isinstance(value, list | tuple):
        items, kind = value, "ModuleList"
    elif isinstance(value, dict):
        items, kind = value.values(), "ModuleDict"
    else:
        return
    if any(isinstance(v, Module | Parameter) for v in items):
        raise TinygenError(f"{owner}.{name}: a plain {type(value).__name__} of modules or "
                           f"parameters is not registered (the optimizer would never see its "
                           f"parameters); wrap it: self.{name} = nn.{kind}(...)")


class ModuleList(Module):
    """A list of modules, registered under the names "0", "1", ...; index, iterate, append."""

    def __init__(self, modules: Iterable[Module] = ()):
        super().__init__()
        self.extend(modules)

    def _add(self, key: str, module: Module) -> None:
        if not isinstance(module, Module):
            raise TinygenError(f"{type(self).__name__}: expected a Module, got "
                               f"{type(module).__name__}")
        _check_name(key)
        self._modules[key] = module

    def append(self, module: Module) -> ModuleList:
        self._add(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def __getitem__(self, index: int | slice):
        if isinstance(index, slice):
            return ModuleList(list(self._modules.values())[index])
        return list(self._modules.values())[index]

    def __setitem__(self, index: int, module: Module) -> None:
        self._add(list(self._modules)[index], module)


class ModuleDict(Module):
    """A dict of modules registered under its (string) keys."""

    def __init__(self, modules: dict[str, Module] | None = None):
        super().__init__()
        for key, m in (modules or {}).items():
            self[key] = m

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(module, Module):
            raise TinygenError(f"ModuleDict: expected a Module for {key!r}, got "
                               f"{type(module).__name__}")
        _check_name(key)
        self._modules[key] = module

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def values(self) -> Iterable[Module]:
        return self._modules.values()

    def items(self) -> Iterable[tuple[str, Module]]:
        return self._modules.items()


class Sequential(ModuleList):
    """Modules applied one after the other: ``Sequential(Linear(4, 8), ReLU(), Linear(8, 1))``.
    Pass one dict instead to name the steps (``Sequential({"encoder": ..., "head": ...})``)."""

    def __init__(self, *modules: Module | dict[str, Module]):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):
            for key, m in modules[0].items():
                self._add(key, m)
        else:
            self.extend(modules)

    def forward(self, x):
        for m in self:
            x = m(x)
        return x


def functional_call(module: Module, tensors: dict[str, Tensor], *args, **kwargs):
    """Run ``module(*args, **kwargs)`` with some parameters or buffers (by dotted name) replaced
    by the given tensors, leaving the module unchanged. The output is then a differentiable
    function of those tensors: used for gradient checks, and for tricks that differentiate
    through an update of the weights (e.g. MAML's gradient of a gradient step)."""
    owners = dict(module.named_modules())
    known = {n for n, _ in module.named_parameters() + module.named_buffers()}
    unknown = [n for n in tensors if n not in known]
    if unknown:
        raise TinygenError(f"functional_call: {type(module).__name__} has no parameter or buffer "
                           f"named {', '.join(map(repr, unknown))}; known: {', '.join(known)}")
    with contextlib.ExitStack() as stack:
        for name, t in tensors.items():
            prefix, _, attr = name.rpartition(".")
            stack.enter_context(_substitute(owners[prefix], attr, as_tensor(t)))
        return module(*args, **kwargs)
