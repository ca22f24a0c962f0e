"""Exercise mala_step: one step of the Metropolis-adjusted Langevin algorithm (MALA).

To sample p(x) ∝ exp(−U(x)), Langevin dynamics moves every chain downhill with noise:

    x' = x − (ε/2)·∇U(x) + √ε·n,      n ~ N(0, I).

Alone (ULA) this is biased at any finite ε. MALA treats x' as a *proposal* with density
q(x'|x) = N(x'; x − (ε/2)∇U(x), εI), i.e. log q(b|a) = −‖b − a + (ε/2)∇U(a)‖²/(2ε) + const,
and accepts it with probability

    α = min(1, exp(U(x) − U(x')) · q(x|x') / q(x'|x)),

otherwise the chain stays at x. Then p is left exactly invariant, whatever ε.

    mala_step(U, grad_U, x, eps, rng) -> (x_new, accepted)

x is an (n, d) array of n independent chains; U(x) gives n energies, grad_U(x) an (n, d)
array; rng is a np.random.Generator (noise: rng.standard_normal(x.shape); the uniforms for
the accept test: rng.random(n)). Return the new positions (n, d) and a boolean array (n,)
saying which chains accepted. The checker is statistical: on a standard normal target your
acceptance rate must match MALA's exact rate and the target must stay invariant.
"""

import numpy as np


def mala_step(U, grad_U, x: np.ndarray, eps: float, rng: np.random.Generator):
    raise NotImplementedError
