"""Variational models: the VAE with its ELBO and importance-sampled likelihood, its training
loop and baselines (``vae``); the one-step clustering VAE of VAE part 4 and cluster
accuracies (``clustering``); the categorical VAE with Gumbel-softmax, straight-through and
REINFORCE estimators (``gumbel``); f-VAE, a VAE with a flow prior on z, and its training on
dequantised pixels in bits/dim (``fvae``). Their distributions helpers live in
:mod:`tinygen.distributions`."""
