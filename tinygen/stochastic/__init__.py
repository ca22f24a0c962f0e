"""Stochastic simulation: Gillespie's SSA on reaction networks (:mod:`.ssa`)."""
