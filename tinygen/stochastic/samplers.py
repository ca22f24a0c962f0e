r"""Samplers for an energy U(x) with density p(x) ∝ exp(−U(x)): Langevin dynamics (ULA), the
Metropolis-adjusted Langevin algorithm (MALA), and the replay buffer an energy model's
training keeps its chains in.

From the "energy view of GANs" posts (MEG and the EBM trained with Langevin dynamics). With a
step ε and n ~ N(0, I), the **unadjusted Langevin algorithm** moves

    x' = x − (ε/2)·∇U(x) + √ε·n,

a discretised diffusion whose stationary law is p only as ε → 0; at a finite ε it is biased
(for U = x²/(2σ²) its stationary variance is σ²/(1 − ε/(4σ²)), not σ²). **MALA** treats x' as
a proposal q(x'|x) = N(x'; x − (ε/2)∇U(x), εI) and accepts it with probability

    α = min(1, exp(−U(x') + U(x)) · q(x|x') / q(x'|x)),

the Metropolis–Hastings rule, so p is left exactly invariant for every ε (the step size
then only trades acceptance against distance moved).

``energy`` is any callable from a batch x (a Tensor of shape (N, ...)) to N energies (shape
(N,) or (N, 1)); gradients come from :func:`tinygen.grad`, on the device of x. Each chain
(row of x) is independent: MALA accepts or rejects row by row.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import backend
from ..autograd import Tensor, enable_grad, grad
from ..errors import ArgumentError, ShapeError
from ..ops import args as A
from ..random import Generator, default_generator

Energy = Callable[[Tensor], Tensor]


def _check_energy(op: str, energy) -> Energy:
    if not callable(energy):
        raise ArgumentError(f"{op}: energy must be a callable from a batch x (N, ...) to N "
                            f"energies, got {A.describe(energy)}")
    return energy


def _check_x(op: str, x) -> Tensor:
    t = A.floating(op, x, "x")
    if t.ndim < 1 or t.shape[0] == 0:
        raise ShapeError(f"{op}: x must be a batch of chains, shape (N, ...) with N ≥ 1, got "
                         f"{A.describe(t)}")
    return Tensor(t.data)


def _check_step(op: str, step) -> float:
    eps = A.number(op, step, "step")
    if not (eps > 0 and math.isfinite(eps)):
        raise ArgumentError(f"{op}: step must be a positive finite number (the ε of "
                            f"x − (ε/2)∇U + √ε·n), got {step!r}")
    return eps


def _generator(generator: Generator | None, x: Tensor) -> Generator:
    if generator is None:
        return default_generator(x.device)
    if not isinstance(generator, Generator):
        raise ArgumentError(f"samplers: generator must be a tinygen.Generator or None, got "
                            f"{A.describe(generator)}")
    return generator


def energy_and_grad(energy: Energy, x) -> tuple[Tensor, Tensor]:
    """U(x) (N,) and ∇ₓU(x) (x's shape) for a batch, both detached (no graph kept)."""
    energy = _check_energy("energy_and_grad", energy)
    x = _check_x("energy_and_grad", x)
    xt = Tensor(x.data, requires_grad=True)
    with enable_grad():
        u = energy(xt)
        if not isinstance(u, Tensor) or u.shape not in ((x.shape[0],), (x.shape[0], 1)):
            raise ShapeError(f"energy_and_grad: energy(x) for x of shape {x.shape} must be a "
                             f"tensor of {x.shape[0]} energies, shape ({x.shape[0]},) or "
                             f"({x.shape[0]}, 1); got {A.describe(u)}")
        g = grad(u.sum(), xt, allow_unused=True)
    data = u.data.reshape(x.shape[0])
    gdata = g.data if g is not None else x.xp.zeros_like(x.data)
    return Tensor(data.copy()), Tensor(gdata)


def langevin_step(energy: Energy, x, step: float, generator: Generator | None = None) -> Tensor:
    """One ULA move of every chain: x − (ε/2)∇U(x) + √ε·n."""
    energy, x = _check_energy("langevin_step", energy), _check_x("langevin_step", x)
    eps = _check_step("langevin_step", step)
    gen = _generator(generator, x)
    _, g = energy_and_grad(energy, x)
    noise = gen.normal(x.shape, dtype=x.dtype).data
    return Tensor(x.data - 0.5 * eps * g.data + math.sqrt(eps) * noise)


def langevin(energy: Energy, x, step: float, n_steps: int,
             generator: Generator | None = None) -> Tensor:
    """``n_steps`` ULA moves from x; the chains' final positions."""
    n_steps = A.integer("langevin", n_steps, "n_steps", minimum=0)
    x = _check_x("langevin", x)
    for _ in range(n_steps):
        x = langevin_step(energy, x, step, generator)
    return x


def _log_q(xp, to, frm, grad_frm, eps: float):
    """log q(to | frm) up to a constant: −‖to − frm + (ε/2)∇U(frm)‖²/(2ε), per chain."""
    d = (to - frm + 0.5 * eps * grad_frm).reshape(to.shape[0], -1)
    return -(d * d).sum(axis=1) / (2.0 * eps)


def mala_log_acceptance(energy: Energy, x, y, step: float) -> Tensor:
    """log of the MH ratio for moving each chain from x to the proposal y (before min(0, ·)):
    U(x) − U(y) + log q(x|y) − log q(y|x)."""
    eps = _check_step("mala_log_acceptance", step)
    x, y = _check_x("mala_log_acceptance", x), _check_x("mala_log_acceptance", y)
    if x.shape != y.shape:
        raise ShapeError(f"mala_log_acceptance: x {x.shape} and y {y.shape} must have the same "
                         "shape")
    ux, gx = energy_and_grad(energy, x)
    uy, gy = energy_and_grad(energy, y)
    xp = x.xp
    return Tensor(ux.data - uy.data + _log_q(xp, x.data, y.data, gy.data, eps)
                  - _log_q(xp, y.data, x.data, gx.data, eps))


def mala_step(energy: Energy, x, step: float,
              generator: Generator | None = None) -> tuple[Tensor, Tensor]:
    """One MALA move of every chain: propose x' = x − (ε/2)∇U(x) + √ε·n, accept with
    probability min(1, exp(U(x) − U(x')) q(x|x')/q(x'|x)). Returns (new x, accepted (N,)
    booleans)."""
    energy, x = _check_energy("mala_step", energy), _check_x("mala_step", x)
    eps = _check_step("mala_step", step)
    gen = _generator(generator, x)
    xp = x.xp
    ux, gx = energy_and_grad(energy, x)
    y = x.data - 0.5 * eps * gx.data + math.sqrt(eps) * gen.normal(x.shape, dtype=x.dtype).data
    uy, gy = energy_and_grad(energy, Tensor(y))
    log_alpha = (ux.data - uy.data + _log_q(xp, x.data, y, gy.data, eps)
                 - _log_q(xp, y, x.data, gx.data, eps))
    u = gen.uniform(x.shape[0], dtype=np.float64).data
    accept = xp.log(u) < log_alpha  # NaN (an overflow at y) rejects
    keep = accept.reshape((-1,) + (1,) * (x.ndim - 1))
    return Tensor(xp.where(keep, y, x.data)), Tensor(accept)


@dataclass
class MalaResult:
    """Where MALA's chains ended, and the fraction of proposals accepted per chain."""

    x: Tensor
    acceptance: Tensor  # (N,) fraction of accepted moves per chain

    @property
    def acceptance_rate(self) -> float:
        """The mean acceptance over all chains and steps."""
        return float(self.acceptance.data.mean())


def mala(energy: Energy, x, step: float, n_steps: int,
         generator: Generator | None = None) -> MalaResult:
    """``n_steps`` MALA moves from x: the final positions and the acceptance per chain."""
    n_steps = A.integer("mala", n_steps, "n_steps", minimum=1)
    x = _check_x("mala", x)
    count = x.xp.zeros(x.shape[0])
    for _ in range(n_steps):
        x, accepted = mala_step(energy, x, step, generator)
        count = count + accepted.data
    return MalaResult(x, Tensor(count / n_steps))


class ReplayBuffer:
    """The persistent chains of an energy model (Du & Mordatch 2019): a store of the last
    ``capacity`` samples; a batch is drawn from it except for a fraction ``fresh`` of
    points (about 5%) drawn anew from ``init``, so chains both persist across training steps
    (and mix for long) and keep being restarted (so the buffer does not freeze)."""

    def __init__(self, capacity: int, init: Callable[[int], Tensor], fresh: float = 0.05,
                 generator: Generator | None = None):
        self.capacity = A.integer("ReplayBuffer", capacity, "capacity", minimum=1)
        fresh = A.number("ReplayBuffer", fresh, "fresh")
        if not 0.0 <= fresh <= 1.0:
            raise ArgumentError(f"ReplayBuffer: fresh must be a fraction in [0, 1], got {fresh}")
        if not callable(init):
            raise ArgumentError(f"ReplayBuffer: init must be a callable n -> (n, ...) fresh "
                                f"starting points, got {A.describe(init)}")
        self.fresh, self.init = fresh, init
        self.generator = generator if generator is not None else default_generator()
        self._data = None  # (size, ...) array, oldest first
        self._last_fresh = 0

    def __len__(self) -> int:
        return 0 if self._data is None else int(self._data.shape[0])

    def sample(self, n: int) -> Tensor:
        """n starting points: each fresh from ``init`` with probability ``fresh`` (always, while
        the buffer is empty), else a stored sample chosen uniformly."""
        n = A.integer("ReplayBuffer.sample", n, "n", minimum=1)
        u = backend.to_numpy(self.generator.uniform(n, dtype=np.float64).data)
        from_init = (u < self.fresh) if len(self) else (u < 2.0)
        k = int(from_init.sum())
        self._last_fresh = k
        fresh = _check_x("ReplayBuffer.init", self.init(n)).data if k else None
        if k and len(self) and fresh.shape[1:] != self._data.shape[1:]:
            raise ShapeError(f"ReplayBuffer: init(n) gave points of shape {fresh.shape[1:]}, "
                             f"the buffer holds {self._data.shape[1:]}")
        if k == n:
            return Tensor(fresh)
        xp = backend.xp_of(self._data)
        idx = xp.asarray(backend.to_numpy(self.generator.integers(0, len(self), n).data))
        out = self._data[idx].copy()
        if k:
            mask = xp.asarray(from_init)
            out[mask] = fresh[mask]
        return Tensor(out)

    def push(self, x) -> None:
        """Store a batch of samples; beyond ``capacity`` the oldest are dropped."""
        x = _check_x("ReplayBuffer.push", x).data
        if self._data is not None and x.shape[1:] != self._data.shape[1:]:
            raise ShapeError(f"ReplayBuffer.push: samples of shape {x.shape[1:]}, the buffer "
                             f"holds {self._data.shape[1:]}")
        xp = backend.xp_of(x)
        joined = x.copy() if self._data is None else xp.concatenate([self._data, x])
        self._data = joined[-self.capacity:]
