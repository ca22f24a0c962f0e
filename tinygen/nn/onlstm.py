"""ON-LSTM: an LSTM whose neurons are ordered, so that its memory holds a hierarchy
(Shen et al., 2019, "Ordered Neurons"; Su's post on ON-LSTM).

Two master gates split the cell into ``levels`` chunks ordered from low (short-lived,
closest to the words) to high (long-lived, whole constituents):

    f̃ = cumax(W_f̃ [x, h] + b) = cumsum(softmax(·))     rises 0 → 1 along the levels
    ĩ = cumax from the right = reverse cumsum(softmax(·)) falls 1 → 0
    ω = f̃ ⊙ ĩ                                          where both are open: the overlap
    c' = ω ⊙ (f ⊙ c + i ⊙ ĝ) + (f̃ − ω) ⊙ c + (ĩ − ω) ⊙ ĝ
    h' = o ⊙ tanh(c')

Levels above the forget split keep c (f̃ ≈ 1, ĩ ≈ 0), levels below take the new ĝ (f̃ ≈ 0,
ĩ ≈ 1), and only the overlap behaves like an ordinary LSTM. Each master gate has one value
per level, repeated over the level's ``hidden_size / levels`` neurons. How much of the
memory a word erases, d_t = 1 − mean_k f̃_t[k], is the "syntactic distance" from which a
tree is read (:mod:`tinygen.models.language_model`).
"""

from __future__ import annotations

from .. import functional as F
from .. import ops
from ..autograd import Tensor, as_tensor
from ..creation import ones, zeros
from ..errors import ArgumentError
from ..random import Generator
from . import init
from .module import Module, ModuleList, Parameter
from .recurrent import _lstm_step_inputs, _Recurrent, _recurrent_weights

__all__ = ["ONLSTM", "ONLSTMCell", "cumax"]


def cumax(x, axis: int = -1, reverse: bool = False) -> Tensor:
    """cumsum(softmax(x)) along ``axis``: a soft version of a step 0 … 0 1 … 1 whose
    position is the softmax's argmax. ``reverse`` sums from the end (a step 1 … 1 0 … 0)."""
    return ops.cumsum(F.softmax(x, axis=axis), axis=axis, reverse=reverse)


class ONLSTMCell(Module):
    """One ON-LSTM step: ``forward(x (B, D), (h, c) or None)`` returns (h', c', f̃ (B,
    levels)). Gates in the order i, f, ĝ, o (as :class:`LSTMCell`), then the ``levels``
    master-forget and ``levels`` master-input logits; weights ``weight_ih`` (D, 4H + 2L),
    ``weight_hh`` (H, 4H + 2L), forget bias starting at 1."""

    def __init__(self, input_size: int, hidden_size: int, levels: int,
                 generator: Generator | None = None):
        super().__init__()
        if levels < 1 or hidden_size % levels:
            raise ArgumentError(f"ONLSTMCell: hidden_size {hidden_size} must be a multiple of "
                                f"levels {levels} (each level is a chunk of neurons)")
        self.levels, self.chunk = levels, hidden_size // levels
        _recurrent_weights(self, input_size, hidden_size, 4, generator)
        # the master gates' columns go after the four LSTM gates: Glorot-uniform both ways
        master_ih = init.glorot_uniform_(zeros(input_size, 2 * levels), generator=generator)
        master_hh = init.glorot_uniform_(zeros(hidden_size, 2 * levels), generator=generator)
        self.weight_ih = Parameter(ops.concat([self.weight_ih.detach(), master_ih], axis=1))
        self.weight_hh = Parameter(ops.concat([self.weight_hh.detach(), master_hh], axis=1))
        self.bias = Parameter(zeros(4 * hidden_size + 2 * levels))
        self.bias.data[hidden_size:2 * hidden_size] = 1.0

    def forward(self, x, state: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, Tensor, Tensor]:
        x, h, c = _lstm_step_inputs(self, x, state)
        hs, lv = self.hidden_size, self.levels
        z = x @ self.weight_ih + h @ self.weight_hh + self.bias
        i, f, g, o, mf, mi = ops.split(z, [hs, hs, hs, hs, lv, lv], axis=-1)
        master_f, master_i = cumax(mf), cumax(mi, reverse=True)       # (B, L)
        b = x.shape[0]
        mf3 = ops.reshape(master_f, (b, lv, 1))
        mi3 = ops.reshape(master_i, (b, lv, 1))
        overlap = mf3 * mi3
        chunks = lambda t: ops.reshape(t, (b, lv, self.chunk))  # noqa: E731
        c_prev, g = chunks(c), chunks(ops.tanh(g))
        c_new = (overlap * (chunks(ops.sigmoid(f)) * c_prev + chunks(ops.sigmoid(i)) * g)
                 + (mf3 - overlap) * c_prev + (mi3 - overlap) * g)
        c_new = ops.reshape(c_new, (b, hs))
        return ops.sigmoid(o) * ops.tanh(c_new), c_new, master_f

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, levels={self.levels}"


class ONLSTM(_Recurrent):
    """A stack of ON-LSTM layers over (B, T, D) inputs (one direction).

    ``forward(x, state=None, mask=None, return_distances=False)`` returns (outputs (B, T,
    H), (h_n, c_n) of shape (layers, B, H)) and, with ``return_distances``, the master forget
    gates (layers, B, T, levels) as a Tensor. A masked step (mask 0) keeps the state and
    outputs zero, as in :class:`LSTM`. ``dropout`` is variational (Gal & Ghahramani, 2016):
    one mask per sequence, the same at every step, on the input of every layer after the
    first and on the output, in training mode only.
    """

    n_states = 2

    def __init__(self, input_size: int, hidden_size: int, levels: int, num_layers: int = 1,
                 dropout: float = 0.0, generator: Generator | None = None):
        Module.__init__(self)
        if not 0.0 <= dropout < 1.0:
            raise ArgumentError(f"ONLSTM: dropout must lie in [0, 1), got {dropout!r}")
        self.input_size, self.hidden_size, self.levels = input_size, hidden_size, levels
        self.num_layers, self.bidirectional, self.dropout = num_layers, False, dropout
        self.generator = generator
        self.cells = ModuleList(ONLSTMCell(input_size if k == 0 else hidden_size, hidden_size,
                                           levels, generator=generator)
                                for k in range(num_layers))

    def _locked_dropout(self, x: Tensor) -> Tensor:
        if not self.training or self.dropout == 0:
            return x
        mask = F.dropout(ones(x.shape[0], 1, x.shape[2], dtype=x.dtype, device=x.device),
                         self.dropout, generator=self.generator)
        return x * mask

    def forward(self, x, state=None, mask=None, return_distances: bool = False):
        x = as_tensor(x)
        self._expect(x.ndim == 3 and x.shape[2] == self.input_size, x.shape,
                     f"(B, T, {self.input_size})")
        keep, states = self._mask(mask, x), self._initial(state, x)
        finals, masters = [], []
        for layer, cell in enumerate(self.cells):
            if layer > 0:
                x = self._locked_dropout(x)
            s, hs, fs = states[layer], [], []
            for t in range(x.shape[1]):
                h, c, master_f = cell(x[:, t], s)
                if keep is not None:
                    k = keep[:, t:t + 1]
                    h, c = ops.where(k, h, s[0]), ops.where(k, c, s[1])
                    hs.append(ops.where(k, h, 0.0))
                else:
                    hs.append(h)
                fs.append(master_f)
                s = (h, c)
            x = ops.stack(hs, axis=1)
            finals.append(s)
            masters.append(ops.stack(fs, axis=1))
        x = self._locked_dropout(x)
        final = tuple(ops.stack([s[k] for s in finals]) for k in range(2))
        if return_distances:
            return x, final, ops.stack(masters)
        return x, final

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, levels={self.levels}, "
                f"num_layers={self.num_layers}, dropout={self.dropout}")
