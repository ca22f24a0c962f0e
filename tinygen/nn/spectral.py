"""Spectral normalisation (Miyato et al., 2018): use W/σ(W) instead of W, σ the largest
singular value, so the wrapped layer is 1-Lipschitz (the GAN critic's constraint).

σ is estimated by power iteration with a persistent vector u, one (or a few) steps per training
forward, which is enough because W changes slowly. W is seen as a matrix: a 2-D weight as it
is (Linear's (in, out)), a conv weight (C_out, C_in, kH, kW) as (C_out, C_in·kH·kW), the
paper's reading (one row per output channel). Then  v ← Wu/‖Wu‖,  u ← Wᵀv/‖Wᵀv‖  (training
only), then σ = vᵀWu with v = Wu/‖Wu‖,
where u and v are constants: the gradient of σ is v uᵀ, as in the paper (and since v is the
normalised Wu, this is also the exact gradient of ‖Wu‖).
"""

from __future__ import annotations

from .. import ops
from ..autograd import Tensor
from ..errors import TinygenError
from ..random import Generator, default_generator
from .module import Module, _substitute

__all__ = ["SpectralNorm"]


def _unit(xp, a, eps: float):
    return a / max(float(xp.linalg.norm(a)), eps)


class SpectralNorm(Module):
    """Wrap ``module`` so that its forward uses ``name`` (a parameter, e.g. "weight") divided by
    its spectral norm. The parameter stays the module's (state name ``module.weight``); the
    power-iteration vector is the buffer ``u``."""

    def __init__(self, module: Module, name: str = "weight", n_power_iterations: int = 1,
                 eps: float = 1e-12, generator: Generator | None = None):
        super().__init__()
        w = module._parameters.get(name)
        if w is None:
            raise TinygenError(f"SpectralNorm: {type(module).__name__} has no parameter "
                               f"{name!r}; it has {', '.join(module._parameters) or 'none'}")
        if n_power_iterations < 0:
            raise ValueError(f"SpectralNorm: n_power_iterations must be >= 0, got "
                             f"{n_power_iterations}")
        self.module, self.name = module, name
        self.n_power_iterations, self.eps = n_power_iterations, eps
        gen = generator if generator is not None else default_generator(w.device)
        u = gen.normal(self._matrix(w).shape[1], dtype=w.dtype)
        self.register_buffer("u", Tensor(_unit(w.xp, u.data, eps)))

    @staticmethod
    def _matrix(w: Tensor) -> Tensor:
        """W as a matrix: 2-D (or 1-D, a row) as it is, else (shape[0], the rest)."""
        return ops.reshape(w, (w.shape[0] if w.ndim > 1 else 1, -1))

    def sigma(self) -> Tensor:
        """σ = vᵀWu with v = Wu/‖Wu‖ (u, v constants): the current estimate, differentiable in
        W."""
        w = self._matrix(getattr(self.module, self.name))
        v = _unit(w.xp, w.data @ self.u.data, self.eps)
        return Tensor(v) @ w @ Tensor(self.u.data)

    def normalized_weight(self) -> Tensor:
        """W/σ, the weight the wrapped module sees in forward."""
        return getattr(self.module, self.name) / self.sigma()

    def forward(self, *args, **kwargs):
        if self.training:
            w, u, xp = self._matrix(getattr(self.module, self.name)).data, self.u.data, self.u.xp
            for _ in range(self.n_power_iterations):
                v = _unit(xp, w @ u, self.eps)
                u = _unit(xp, w.T @ v, self.eps)
            self.u.data[...] = u
        with _substitute(self.module, self.name, self.normalized_weight()):
            return self.module(*args, **kwargs)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, n_power_iterations={self.n_power_iterations}"
