"""Composite functions built only from differentiable primitives (imported as ``F``)."""
