"""Optimizers, learning-rate schedules, gradient clipping and an EMA of weights.

Every optimizer follows the update formula of its ``torch.optim`` namesake (the tests check
this step by step against a NumPy re-implementation and, when it is installed, PyTorch) and
changes ``p.data`` in place with the parameter's own array module, keeping its dtype::

    from tinygen import optim
    opt = optim.Adam(model.parameters(), lr=1e-3)
    ema = optim.EMA(model, alpha=0.999)
    for x, y in batches:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        optim.clip_grad_norm(model.parameters(), 1.0)
        opt.step()
        ema.update()
    with ema.averaged():
        evaluate(model)

``state_dict()`` of optimizers and of the EMA is ``{"json": ..., "arrays": ...}`` (see
:mod:`tinygen.optim.optimizer`), ready for :mod:`tinygen.checkpoint`.
"""

from .adam import Adam, Adamax, AdamW
from .clip import clip_grad_norm
from .ema import EMA
from .optimizer import Optimizer, OptimizerError
from .rmsprop import Adagrad, RMSprop
from .schedulers import CosineAnnealingLR, ExponentialLR, LinearWarmup, LRScheduler, StepLR
from .sgd import SGD

__all__ = [
    "EMA", "SGD", "Adagrad", "Adam", "AdamW", "Adamax", "CosineAnnealingLR", "ExponentialLR",
    "LRScheduler", "LinearWarmup", "Optimizer", "OptimizerError", "RMSprop", "StepLR",
    "clip_grad_norm",
]
