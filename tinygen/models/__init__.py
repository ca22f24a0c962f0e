"""Models from the posts, built from tinygen layers: GAN losses and penalties (``gan``,
``gp_fused``), toy and image GAN builders and training loops (``toy_gans``, ``image_gans``),
the CRF post's CNN tagger (``tagger``), the couplet tagger's gated residual CNN
(``couplet``), normalising flows with their log-det estimators (``flows``), word2vec
(``word2vec``) and the sentiment LSTM with its baselines (``sentiment``)."""
