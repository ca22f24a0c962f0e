"""Variational models: the VAE with its ELBO and importance-sampled likelihood (``vae``)."""
