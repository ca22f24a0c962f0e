"""Models from the posts, built from tinygen layers: GAN losses and penalties (``gan``,
``gp_fused``), toy and image GAN builders and training loops (``toy_gans``, ``image_gans``),
the CRF post's CNN tagger (``tagger``), the couplet tagger's gated residual CNN
(``couplet``), normalising flows with their log-det estimators (``flows``), and the GAN
survey's image models: the conditional GAN (``cond_gans``), InfoGAN (``infogan``),
self-modulated BatchNorm (``self_mod``), BiGAN-QP (``bigan_qp``) and f-GAN on a 1-D
mixture (``fgan_1d``)."""
