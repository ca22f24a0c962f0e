"""Models from the posts, built from tinygen layers: GAN losses and penalties (``gan``,
``gp_fused``), toy and image GAN builders and training loops (``toy_gans``, ``image_gans``),
the CRF post's CNN tagger (``tagger``), the couplet tagger's gated residual CNN
(``couplet``), normalising flows with their log-det estimators (``flows``), the GAN
survey's image models: the conditional GAN (``cond_gans``), InfoGAN (``infogan``),
self-modulated BatchNorm (``self_mod``), BiGAN-QP (``bigan_qp``) and f-GAN on a 1-D mixture
(``fgan_1d``); VAEs (``variational``: the VAE, VAE clustering, the Gumbel-softmax VAE),
word2vec (``word2vec``) and the sentiment LSTM with its baselines (``sentiment``), the title
post's seq2seq with attention, copy prior and beam search (``seq2seq``), and word-level LSTM /
ON-LSTM language models with tree induction (``language_model``)."""
