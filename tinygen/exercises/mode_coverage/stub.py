"""Exercise mode_coverage: how many modes of a mixture a GAN's samples reach (PacGAN).

The 2-D toy data are K Gaussians with centres μ_1 … μ_K (shape (K, 2)) and a common
standard deviation σ. For generated samples x (shape (N, 2)):

- each sample belongs to its nearest centre μ;
- it is high quality (HQ) when ‖x − μ‖ < 3σ;
- a mode is covered when at least one HQ sample belongs to it.

    mode_coverage(samples, centres, sigma) -> (modes_covered: int, hq_fraction: float)

A generator that drops modes covers fewer; one that smears mass between them has a low HQ
fraction. The checker compares both numbers with the reference on samples scattered up to
5σ from the centres.
"""

import numpy as np


def mode_coverage(samples: np.ndarray, centres: np.ndarray, sigma: float) -> tuple[int, float]:
    raise NotImplementedError
