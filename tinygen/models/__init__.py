"""Models from the posts, built from tinygen layers: GAN losses and penalties so far."""
