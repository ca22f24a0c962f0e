"""Normalising flows: the invertible residual block of i-ResNet (``iresnet``) and the
log-determinant estimators of i-ResNet and Residual Flows (``logdet``, exact, truncated power
series, Russian roulette, Neumann gradients), with a fused kernel path (``logdet_fused``)."""
