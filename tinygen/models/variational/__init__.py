"""Variational models: the VAE with its ELBO and importance-sampled likelihood, its training
loop and baselines (``vae``); the one-step clustering VAE of VAE part 4 and cluster
accuracies (``clustering``); the categorical VAE with Gumbel-softmax, straight-through and
REINFORCE estimators (``gumbel``). Their distributions helpers live in
:mod:`tinygen.distributions`."""
