"""Stochastic simulation: Gillespie's SSA on reaction networks (:mod:`.ssa`); Langevin and
MALA samplers for energies and a replay buffer (:mod:`.samplers`)."""
