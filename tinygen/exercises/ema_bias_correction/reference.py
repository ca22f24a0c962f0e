"""Reference for ema_bias_correction."""

import numpy as np


def ema(xs: np.ndarray, decay: float) -> np.ndarray:
    m = np.zeros_like(xs[0], dtype=float)
    out = []
    for t, x in enumerate(xs, start=1):
        m = decay * m + (1.0 - decay) * x
        out.append(m / (1.0 - decay**t))
    return np.array(out)
