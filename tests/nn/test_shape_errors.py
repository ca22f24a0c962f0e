"""Every layer's shape error names the layer, the shape it got and the shape it expects."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinygen as tg
from tinygen import nn

CASES = [
    (lambda: nn.Linear(4, 3)(tg.zeros(2, 5)),
     "Linear(in_features=4, out_features=3): expected input of shape (..., 4), got (2, 5)"),
    (lambda: nn.Linear(4, 3)(tg.tensor(1.0)),
     "Linear(in_features=4, out_features=3): expected input of shape (..., 4), got ()"),
    (lambda: nn.Maxout(3, 2, pieces=2)(tg.zeros(2)),
     "Maxout(in_features=3, out_features=2, pieces=2): expected input of shape (..., 3), got (2,)"),
    (lambda: nn.BatchNorm1d(3)(tg.zeros(4, 2)),
     "BatchNorm1d(3, eps=1e-05, momentum=0.1): expected input of shape (N, 3) or (N, 3, L), "
     "got (4, 2)"),
    (lambda: nn.BatchNorm1d(3)(tg.zeros(4, 3, 2, 1)),
     "expected input of shape (N, 3) or (N, 3, L), got (4, 3, 2, 1)"),
    (lambda: nn.LayerNorm((2, 3))(tg.zeros(4, 3, 2)),
     "LayerNorm((2, 3), eps=1e-05): expected input of shape (..., 2, 3), got (4, 3, 2)"),
    (lambda: nn.LayerNorm(3)(tg.zeros(())),
     "LayerNorm((3,), eps=1e-05): expected input of shape (..., 3), got ()"),
    (lambda: nn.LSTMCell(3, 4)(tg.zeros(2, 2)),
     "LSTMCell(3, 4): expected input of shape (B, 3), got (2, 2)"),
    (lambda: nn.LSTMCell(3, 4)(tg.zeros(2, 3), (tg.zeros(2, 5), tg.zeros(2, 4))),
     "LSTMCell(3, 4): expected state h of shape (2, 4), got (2, 5)"),
    (lambda: nn.GRUCell(3, 4)(tg.zeros(2, 3), tg.zeros(3, 4)),
     "GRUCell(3, 4): expected state h of shape (2, 4), got (3, 4)"),
    (lambda: nn.LSTM(3, 4)(tg.zeros(2, 3)),
     "LSTM(3, 4, num_layers=1, bidirectional=False): expected input of shape (B, T, 3), "
     "got (2, 3)"),
    (lambda: nn.GRU(3, 4, bidirectional=True)(tg.zeros(2, 5, 3), tg.zeros(1, 2, 4)),
     "GRU(3, 4, num_layers=1, bidirectional=True): expected initial state of shape (2, 2, 4), "
     "got (1, 2, 4)"),
    (lambda: nn.GRU(3, 4)(tg.zeros(2, 5, 3), mask=np.ones((5, 2))),
     "expected mask of shape (B, T) = (2, 5), got (5, 2)"),
    (lambda: nn.MultiHeadAttention(4, 2)(tg.zeros(2, 3, 5)),
     "MultiHeadAttention(embed_dim=4, num_heads=2): expected query of shape (B, Tq, 4), "
     "got (2, 3, 5)"),
    (lambda: nn.MultiHeadAttention(4, 2)(tg.zeros(2, 3, 4), tg.zeros(1, 3, 4)),
     "expected key of shape (2, Tk, 4), got (1, 3, 4)"),
    (lambda: nn.MultiHeadAttention(4, 2)(tg.zeros(2, 3, 4), tg.zeros(2, 5, 4), tg.zeros(2, 4, 4)),
     "expected value of shape (2, 5, 4) (as the key), got (2, 4, 4)"),
    (lambda: nn.MultiHeadAttention(4, 2)(tg.zeros(2, 3, 4), key_mask=np.ones((2, 4))),
     "expected key_mask of shape (B, Tk) = (2, 3), got (2, 4)"),
]


@pytest.mark.parametrize("call, message", CASES, ids=[m[:40] for _, m in CASES])
def test_shape_error_message(call, message):
    with pytest.raises(tg.ShapeError, match=re.escape(message)):
        call()
