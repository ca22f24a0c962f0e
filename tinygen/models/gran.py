r"""GRAN (Im et al. 2016, "Generating images with recurrent adversarial networks"), from the
GAN survey post: a generator that draws on a canvas over T steps instead of in one shot.

The latent z is fixed for the whole drawing; at each step an LSTM sees z and a code of the
canvas so far, and a DCGAN-style decoder turns its state into a change of the canvas:

    h_t = LSTM([z, enc(tanh(C_{t−1}))], h_{t−1});  C_t = C_{t−1} + dec(h_t);  x = tanh(C_T)

With T = 1 (and C₀ = 0) this is the one-shot DCGAN generator dec(LSTM(z)). The forward pass
returns images in [−1, 1] (B, 1, size, size), so any of the image-GAN critics and
:func:`~tinygen.models.image_gans.train_gan` apply unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import nn, ops
from ..autograd import Tensor
from ..creation import zeros
from ..errors import ShapeError
from .image_gans import Generator

__all__ = ["GRAN"]


class GRAN(nn.Module):
    """Recurrent generator: z (B, ``z_dim``) → images (B, 1, ``size``, ``size``) in [−1, 1]
    drawn over ``steps`` steps; an LSTM of ``hidden`` units, a linear canvas encoder of
    ``code`` features, and the decoder of :class:`~tinygen.models.image_gans.Generator`
    with ``channels`` (without its final tanh, which is applied to the summed canvas).

    ``write`` scales every step's change, C_t = C_{t−1} + write·dec(h_t): the untrained
    decoder's changes are correlated across steps, so with ``write`` = 1 the canvas's spread
    grows about T-fold and tanh saturates before training starts; ``write`` = 1/T keeps the
    untrained canvas at the one-shot generator's scale."""

    def __init__(self, z_dim: int, size: int, steps: int = 4, hidden: int = 64,
                 code: int = 32, channels: Sequence[int] = (64, 32), write: float = 1.0):
        super().__init__()
        if steps < 1:
            raise ShapeError(f"GRAN: steps must be at least 1, got {steps}")
        self.z_dim, self.size, self.steps, self.hidden = z_dim, size, steps, hidden
        self.write = write
        self.encode = nn.Linear(size * size, code)
        self.cell = nn.LSTMCell(z_dim + code, hidden)
        self.decoder = Generator(hidden, size, channels)

    def canvases(self, z: Tensor) -> list[Tensor]:
        """The canvas C_t (logits, (B, 1, size, size)) after each step t = 1 … T."""
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ShapeError(f"GRAN: z must be (B, {self.z_dim}), got {z.shape}")
        b = z.shape[0]
        canvas = zeros(b, 1, self.size, self.size, dtype=z.dtype, device=z.device)
        state, out = None, []
        for _ in range(self.steps):
            code = self.encode(ops.tanh(canvas).reshape(b, -1))
            state = self.cell(ops.concat([z, code], axis=1), state)
            dec = self.decoder
            h = ops.reshape(dec.project(state[0]), (-1, dec.channels[0], dec.base, dec.base))
            change = dec.body(h)
            canvas = canvas + (change if self.write == 1.0 else change * self.write)
            out.append(canvas)
        return out

    def forward(self, z: Tensor) -> Tensor:
        return ops.tanh(self.canvases(z)[-1])
