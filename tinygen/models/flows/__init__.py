"""Normalising flows: Glow's layers, model and bits/dim (``glow``), the invertible residual
block and density model of i-ResNet (``iresnet``), the log-determinant estimators of i-ResNet
and Residual Flows (``logdet``: exact, Hutchinson, truncated power series, Russian roulette,
Neumann gradients, and the k-volume of a non-square Jacobian) and their fused kernel path
(``logdet_fused``), and the i-ResNet lesson's trainings as worker-process jobs
(``iresnet_fit``).

The estimators live here rather than in a top-level ``tinygen.logdet`` because they are
flow machinery built on the engine (``tinygen.grad``, ``slogdet``), not engine parts: the
layers below never need them, and DESIGN.md puts log-det estimators with the flows."""
