"""Masked-token pretraining seen as dropout: BERT's MLM, the post's fine-tuning correction, and
MAE-style token dropping — after the post "Dropout视角下的MLM和MAE：一些新的启发".

* :func:`choose` and :func:`bert_corrupt` — BERT's corruption: each real token is chosen
  with probability ``rate`` (about rate·n per row, as BERT's data preparation does); a
  chosen token becomes ``<mask>`` (80 %), a uniformly drawn ordinary token (10 %) or stays
  itself (10 %). The encoder must predict the chosen tokens.
* Seen as dropout on the input embeddings, the encoder is trained on noisy inputs whose
  expectation per token is ``mixed_embedding``:

      E[e_in] = (1 − 0.9p)·e_x + 0.8p·e_[MASK] + 0.1p·ē        (ē: mean ordinary embedding)

  but fine-tuned and used on clean inputs e_x — the inconsistency the post points out. Its
  correction feeds the expectation at fine-tuning time, as dropout's weight scaling does.
* :func:`drop_tokens` — MAE's alternative: delete the chosen tokens from the encoder's input
  and keep every kept token's position. The encoder never sees a [MASK], so clean inputs at
  fine-tuning are consistent with pretraining (only shorter or longer), and a shorter input
  makes each pretraining step cheaper. A light decoder (:class:`MaskedEncoder` with
  ``decoder=True``: one cross-attention block whose queries are [MASK] + position at the
  dropped places) predicts the dropped tokens.
* ``local=True`` gives every attention a fixed distance prior (:func:`local_heads`): a small
  model pretrained briefly otherwise spends most of its steps predicting character
  frequencies before its attention finds the neighbours of a hidden character.
* :func:`step_seconds` times MLM and MAE steps in turns on the same batches;
  :func:`pretrained_state` and :func:`fine_tuned_accuracy` are the lesson's runs as jobs
  for :func:`tinygen.parallel.map_jobs`.
"""

from __future__ import annotations

import time

import numpy as np

from .. import functional as F
from .. import ops
from ..autograd import Tensor, no_grad
from ..creation import zeros
from ..errors import ArgumentError, ShapeError, TinygenError
from ..nn import (
    Dropout,
    Embedding,
    LayerNorm,
    Linear,
    Module,
    ModuleList,
    MultiHeadAttention,
    Parameter,
    TransformerEncoderLayer,
    init,
)
from ..nn.attention import distance_bias
from ..optim import Adam, clip_grad_norm
from ..random import Generator

SPECIALS = ("<pad>", "<unk>", "<mask>")
PAD_ID, MASK_ID, FIRST_ORDINARY = 0, 2, 3
SPLIT = (0.8, 0.1, 0.1)  # of the chosen tokens: [MASK], a random token, unchanged


def _check_rate(name: str, rate: float) -> float:
    if not 0.0 < float(rate) < 1.0:
        raise ArgumentError(f"{name}: the masking rate must lie in (0, 1), got {rate}")
    return float(rate)


def choose(mask: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean (B, T): in each row with n real tokens (``mask`` 1), k of them chosen uniformly
    at random, k = ⌊rate·n⌋ or ⌈rate·n⌉ drawn so that E[k] = rate·n (each real token is then
    chosen with probability exactly ``rate``). A near-fixed count per row is what BERT's data
    preparation and MAE's shuffle do, and it keeps MAE's packed rows (:func:`pack`) short: a
    batch's width is its longest kept row. If a batch with real tokens gets none, one of them
    is chosen (a loss needs a target)."""
    rate = _check_rate("choose", rate)
    real = np.asarray(mask, bool)
    n = real.sum(-1, keepdims=True)
    count = np.floor(rate * n) + (rng.random(n.shape) < rate * n - np.floor(rate * n))
    rank = np.argsort(np.argsort(np.where(real, rng.random(real.shape), 2.0), -1), -1)
    chosen = rank < count
    if real.any() and not chosen.any():
        chosen.flat[rng.choice(np.flatnonzero(real))] = True
    return chosen


def bert_corrupt(ids: np.ndarray, chosen: np.ndarray, vocab_size: int,
                 rng: np.random.Generator) -> np.ndarray:
    """BERT's input for the ``chosen`` tokens: [MASK] (80 %), a uniform ordinary token
    (10 %) or the token itself (10 %); the others unchanged."""
    out = np.array(ids, copy=True)
    u = rng.random(out.shape)
    out[chosen & (u < SPLIT[0])] = MASK_ID
    swap = chosen & (u >= SPLIT[0]) & (u < SPLIT[0] + SPLIT[1])
    out[swap] = rng.integers(FIRST_ORDINARY, vocab_size, int(swap.sum()))
    return out


def pack(ids: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The kept tokens of each row moved to the front: (ids, positions, mask), each (B, K)
    with K the largest number kept in a row; positions are the tokens' original places."""
    keep = np.asarray(keep, bool)
    k = max(int(keep.sum(1).max()), 1)
    order = np.argsort(~keep, axis=1, kind="stable")[:, :k]  # kept places first, in order
    packed_mask = np.take_along_axis(keep, order, 1)
    packed_ids = np.where(packed_mask, np.take_along_axis(np.asarray(ids), order, 1), PAD_ID)
    return packed_ids, np.where(packed_mask, order, 0), packed_mask.astype(np.int64)


def drop_tokens(ids: np.ndarray, mask: np.ndarray, chosen: np.ndarray):
    """MAE's split of a batch: the encoder's input (the unchosen real tokens, packed, with
    their positions) and the decoder's targets (the chosen tokens, packed, with theirs).
    Returns ``(visible, targets)``, each ``(ids, positions, mask)`` as :func:`pack`."""
    real = np.asarray(mask, bool)
    return pack(ids, real & ~chosen), pack(ids, real & chosen)


def padded_batches(seqs: list[list[int]], batch_size: int, labels=None) -> list:
    """Sequences of ids grouped into batches of similar length (sorted by length, then cut),
    each padded with ``PAD_ID`` to its longest: a list of (ids, mask), or of ((ids, mask),
    labels) when ``labels`` are given. Similar lengths waste few steps on padding."""
    if not seqs or any(len(s) == 0 for s in seqs):
        raise ShapeError("padded_batches: every sequence needs at least one token")
    order = np.argsort([len(s) for s in seqs], kind="stable")
    out = []
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        width = max(len(seqs[i]) for i in rows)
        ids = np.full((len(rows), width), PAD_ID, np.int64)
        for r, i in enumerate(rows):
            ids[r, :len(seqs[i])] = seqs[i]
        mask = (ids != PAD_ID).astype(np.int64)
        out.append((ids, mask) if labels is None else ((ids, mask), np.asarray(labels)[rows]))
    return out


def local_heads(heads: int) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, slopes) of a fixed distance prior per head for
    :func:`tinygen.nn.attention.distance_bias`: the first head prefers the left neighbour
    and the second the right one (offsets −1, +1, slope 1 per place away); any further head
    looks around its own place, each a quarter as sharply as the one before (0.25, 0.0625,
    …). Which neighbour stands left and which right is what an untrained attention lacks;
    a bigram-like guess at a hidden character needs exactly that."""
    if heads < 2:
        raise ArgumentError(f"local_heads: need at least 2 heads (left and right), got {heads}")
    offsets = np.array([-1.0, 1.0] + [0.0] * (heads - 2), np.float32)
    slopes = np.array([1.0, 1.0] + [0.25 ** k for k in range(1, heads - 1)], np.float32)
    return offsets, slopes


class MaskedEncoder(Module):
    """A small Transformer encoder over token ids: token + learned position embeddings →
    ``layers`` pre-LN blocks → LayerNorm. Heads on top: the masked-token prediction (logits
    against the token embeddings themselves, tied as in BERT, plus a bias), a sentiment logit
    (the mean of the real tokens' states → dense), and for MAE a one-block cross-attention
    decoder (``decoder=True``). ``local=True`` adds a fixed distance prior to every
    attention's scores (:func:`local_heads`), computed from the tokens' positions — kept
    positions for MAE — so it holds for packed inputs too."""

    def __init__(self, vocab_size: int, dim: int = 64, heads: int = 4, layers: int = 2,
                 ff: int = 128, max_len: int = 128, dropout: float = 0.1,
                 decoder: bool = False, local: bool = False,
                 generator: Generator | None = None):
        super().__init__()
        self.vocab_size, self.max_len = vocab_size, max_len
        self.prior = local_heads(heads) if local else None
        self.tokens = Embedding(vocab_size, dim, padding_idx=PAD_ID, generator=generator)
        self.positions = Embedding(max_len, dim, generator=generator)
        for table in (self.tokens.weight, self.positions.weight):
            init.normal_(table, std=0.1, generator=generator)
        self.tokens.weight.data[PAD_ID] = 0
        self.blocks = ModuleList([TransformerEncoderLayer(dim, heads, ff, dropout, generator)
                                  for _ in range(layers)])
        self.norm = LayerNorm(dim)
        self.drop = Dropout(dropout, generator=generator)
        self.token_bias = Parameter(zeros(vocab_size))
        self.classifier = Linear(dim, 1, generator=generator)
        self.decoder = None
        if decoder:
            self.decoder = ModuleList([LayerNorm(dim), MultiHeadAttention(dim, heads,
                                                                          generator=generator),
                                       LayerNorm(dim), Linear(dim, ff, generator=generator),
                                       Linear(ff, dim, generator=generator), LayerNorm(dim)])

    def forward(self, ids, mask, mix_rate: float = 0.0) -> Tensor:
        return self.sentiment_logit(ids, mask, mix_rate)

    def _check_ids(self, ids, positions) -> None:
        if positions is not None and np.asarray(positions).shape != np.asarray(ids).shape:
            raise ShapeError(f"MaskedEncoder: positions {np.asarray(positions).shape} must "
                             f"have the shape of the ids {np.asarray(ids).shape}")
        if np.asarray(ids).shape[-1] > self.max_len and positions is None:
            raise ShapeError(f"MaskedEncoder: {np.asarray(ids).shape[-1]} tokens exceed "
                             f"max_len {self.max_len}; cut the inputs or build a longer model")

    @staticmethod
    def _positions(ids, positions) -> np.ndarray:
        ids = np.asarray(ids)
        if positions is None:
            return np.broadcast_to(np.arange(ids.shape[-1]), ids.shape)
        return np.asarray(positions)

    def _bias(self, query_positions, key_positions):
        """The distance prior (B, heads, Tq, Tk), or None without ``local``."""
        if self.prior is None:
            return None
        offsets, slopes = self.prior
        return distance_bias(query_positions, key_positions, slopes, offsets)

    def embed(self, ids, positions=None, mix_rate: float = 0.0) -> Tensor:
        """Token + position embeddings (B, T, dim). ``positions`` default to 0 … T−1.
        ``mix_rate`` p > 0 feeds each token as the expectation of its pretraining input under
        :func:`bert_corrupt` at rate p (the post's correction):
        (1 − 0.9p)·e_x + 0.8p·e_[MASK] + 0.1p·mean of the ordinary embeddings."""
        self._check_ids(ids, positions)
        ids = np.asarray(ids)
        e = self.tokens(ids)
        if mix_rate:
            p = _check_rate("MaskedEncoder.embed", mix_rate)
            table = self.tokens.weight
            noise = SPLIT[0] * p * table[MASK_ID] + SPLIT[1] * p * ops.mean(
                table[FIRST_ORDINARY:], axis=0)
            real = Tensor((ids != PAD_ID)[..., None].astype(e.dtype))
            e = (1 - (SPLIT[0] + SPLIT[1]) * p) * e + real * noise
        return e + self.positions(self._positions(ids, positions))

    def encode(self, ids, mask, positions=None, mix_rate: float = 0.0) -> Tensor:
        """States (B, T, dim) of the tokens ``ids`` (B, T) with ``mask`` 1 at real tokens."""
        h = self.drop(self.embed(ids, positions, mix_rate))
        positions = self._positions(ids, positions)
        bias = self._bias(positions, positions)
        for block in self.blocks:
            h = block(h, key_mask=mask, bias=bias)
        return self.norm(h)

    def token_logits(self, states: Tensor) -> Tensor:
        """Logits over the vocabulary for states (..., dim): sᵀe_v + b_v (tied embeddings)."""
        return states @ ops.transpose(self.tokens.weight) + self.token_bias

    def decode(self, visible_states: Tensor, visible_mask, target_positions,
               visible_positions=None) -> Tensor:
        """MAE's decoder: queries e_[MASK] + position at the dropped places (B, M) attend over
        the encoder's states of the kept tokens (B, K, dim), which stand at
        ``visible_positions`` (default 0 … K−1; the distance prior needs them); one pre-LN
        cross-attention block with a feed-forward step. Returns states (B, M, dim) for
        :meth:`token_logits`."""
        if self.decoder is None:
            raise TinygenError("MaskedEncoder.decode: this model was built without a decoder "
                               "(pass decoder=True)")
        norm_q, attention, norm_f, ff1, ff2, norm_out = self.decoder
        target_positions = np.asarray(target_positions)
        q = self.tokens.weight[MASK_ID] + self.positions(target_positions)
        bias = self._bias(target_positions,
                          self._positions(visible_states.data[..., 0], visible_positions))
        attended, _ = attention(norm_q(q), visible_states, key_mask=visible_mask, bias=bias)
        q = q + attended
        return norm_out(q + ff2(ops.relu(ff1(norm_f(q)))))

    def sentiment_logit(self, ids, mask, mix_rate: float = 0.0) -> Tensor:
        """The logit of p(positive) (B,): the mean of the real tokens' states → dense (also
        what calling the model gives)."""
        states = self.encode(ids, mask, mix_rate=mix_rate)
        keep = np.asarray(mask, bool)[..., None]
        pooled = ops.sum(states * Tensor(keep.astype(states.dtype)), axis=1) / Tensor(
            np.maximum(keep.sum(1), 1).astype(states.dtype))
        return self.classifier(self.drop(pooled)).reshape(-1)


def mlm_loss(model: MaskedEncoder, ids: np.ndarray, mask: np.ndarray, rate: float,
             rng: np.random.Generator) -> tuple[Tensor, float]:
    """BERT's loss on one batch: cross-entropy of the chosen tokens given the corrupted input;
    also the share of chosen tokens predicted right."""
    chosen = choose(mask, rate, rng)
    corrupted = bert_corrupt(ids, chosen, model.vocab_size, rng)
    states = model.encode(corrupted, mask)
    rows, cols = np.nonzero(chosen)
    logits = model.token_logits(states[rows, cols])
    target = np.asarray(ids)[rows, cols]
    return F.cross_entropy(logits, target), float(np.mean(logits.data.argmax(-1) == target))


def mae_loss(model: MaskedEncoder, ids: np.ndarray, mask: np.ndarray, rate: float,
             rng: np.random.Generator) -> tuple[Tensor, float]:
    """MAE's loss on one batch: the encoder reads only the kept tokens (at their positions),
    the decoder predicts the dropped ones; also the share predicted right."""
    chosen = choose(mask, rate, rng)
    (v_ids, v_pos, v_mask), (t_ids, t_pos, t_mask) = drop_tokens(ids, mask, chosen)
    states = model.encode(v_ids, v_mask, positions=v_pos)
    real = np.nonzero(t_mask)
    logits = model.token_logits(model.decode(states, v_mask, t_pos, v_pos)[real])
    target = t_ids[real]
    return F.cross_entropy(logits, target), float(np.mean(logits.data.argmax(-1) == target))


def _loss_fn(style: str, caller: str):
    if style not in ("mlm", "mae"):
        raise ArgumentError(f"{caller}: style must be 'mlm' or 'mae', got {style!r}")
    return mlm_loss if style == "mlm" else mae_loss


def _step(model: MaskedEncoder, opt: Adam, loss_fn, ids, mask, rate: float,
          rng: np.random.Generator, clip: float) -> dict:
    """One Adam step of ``loss_fn``; its loss, accuracy and CPU seconds."""
    t0 = time.process_time()
    loss, acc = loss_fn(model, np.asarray(ids), np.asarray(mask), rate, rng)
    opt.zero_grad()
    loss.backward()
    clip_grad_norm(model.parameters(), clip)
    opt.step()
    return {"loss": float(loss.data), "accuracy": acc, "seconds": time.process_time() - t0}


def pretrain(model: MaskedEncoder, batches: list, steps: int, rate: float, style: str = "mlm",
             lr: float = 1e-3, seed: int = 0, clip: float = 1.0) -> list[dict]:
    """``steps`` Adam steps of masked-token pretraining (``style`` "mlm" or "mae") on
    ``batches``, a list of (ids, mask) visited in a new seeded order each pass. Returns the
    loss of each step, its accuracy on the masked tokens, and its CPU seconds (process
    time: steady on a shared machine)."""
    loss_fn = _loss_fn(style, "pretrain")
    rng = np.random.default_rng(seed)
    opt = Adam(model.parameters(), lr=lr)
    model.train()
    history = []
    while len(history) < steps:
        for i in rng.permutation(len(batches))[:steps - len(history)]:
            history.append(_step(model, opt, loss_fn, *batches[i], rate, rng, clip))
    model.eval()
    return history


def _encoder_pass(model: MaskedEncoder, style: str, ids, mask, rate: float,
                  rng: np.random.Generator) -> float:
    """CPU seconds of the encoder alone on one batch, forward and backward (of the sum of
    its states): the input MLM or MAE would feed it, with no output layer or decoder."""
    chosen = choose(mask, rate, rng)
    t0 = time.process_time()
    if style == "mlm":
        states = model.encode(bert_corrupt(ids, chosen, model.vocab_size, rng), mask)
    else:
        (v_ids, v_pos, v_mask), _ = drop_tokens(ids, mask, chosen)
        states = model.encode(v_ids, v_mask, positions=v_pos)
    ops.sum(states).backward()
    model.zero_grad()
    return time.process_time() - t0


def step_seconds(models: dict, batches: list, rate: float, rounds: int = 1,
                 seed: int = 0) -> dict[str, dict[str, float]]:
    """Median CPU seconds of one pretraining step (loss, backward, Adam) and of the encoder's
    part of it (forward and backward) for each model of ``models`` ({"mlm": …, "mae": …},
    keyed by style), timed in turns on the same batches with the same chosen tokens (the
    styles alternate which goes first), after one untimed pass each. Interleaving in one
    process keeps the ratio steady when the machine's load drifts, which timing one model
    after the other does not. Returns {"step": {style: s}, "encoder": {style: s}}."""
    fns = {style: _loss_fn(style, "step_seconds") for style in models}
    opts = {style: Adam(m.parameters(), lr=1e-4) for style, m in models.items()}
    times = {part: {style: [] for style in models} for part in ("step", "encoder")}
    order = list(models)
    for m in models.values():
        m.train()
    for r in range(rounds):
        for i, (ids, mask) in enumerate(batches):
            ids, mask = np.asarray(ids), np.asarray(mask)
            for style in order if (r * len(batches) + i) % 2 else order[::-1]:
                step = _step(models[style], opts[style], fns[style], ids, mask, rate,
                             np.random.default_rng([seed, r, i]), 1.0)  # the same choice
                encoder = _encoder_pass(models[style], style, ids, mask, rate,
                                        np.random.default_rng([seed, r, i]))
                if r or i:
                    times["step"][style].append(step["seconds"])
                    times["encoder"][style].append(encoder)
    for m in models.values():
        m.eval()
    return {part: {style: float(np.median(t)) for style, t in by.items()}
            for part, by in times.items()}


def pretrained_state(model: dict, seed: int, batches: list, steps: int, rate: float,
                     style: str, lr: float) -> tuple[dict, list[dict]]:
    """A :class:`MaskedEncoder` built from the keyword arguments ``model`` (and a decoder for
    MAE) with ``Generator(seed)``, pretrained by :func:`pretrain`: its weights as arrays and
    the history — plain values, so that :func:`tinygen.parallel.map_jobs` can run the
    styles in two processes."""
    net = MaskedEncoder(**model, decoder=style == "mae", generator=Generator(seed))
    history = pretrain(net, batches, steps, rate, style=style, lr=lr, seed=seed)
    return {name: t.data for name, t in net.state_dict().items()}, history


def fine_tuned_accuracy(model: dict, seed: int, state: dict | None, train: list, test: list,
                        epochs: int, lr: float, mix_rate: float = 0.0) -> float:
    """Test accuracy after :func:`fine_tune` of a :class:`MaskedEncoder` built from ``model``
    with ``Generator(seed)``, started from the pretrained weights ``state`` (arrays; the
    decoder's, if any, unused) or from scratch (None): one fine-tuning run as a job for
    :func:`tinygen.parallel.map_jobs`."""
    net = MaskedEncoder(**model, generator=Generator(seed))
    if state is not None:
        net.load_state_dict(state, strict=False)
    fine_tune(net, train, epochs, lr=lr, mix_rate=mix_rate, seed=seed)
    return sentiment_accuracy(net, test, mix_rate)


def masked_accuracy(model: MaskedEncoder, batches, rate: float, style: str = "mlm",
                    seed: int = 0) -> float:
    """Share of chosen tokens predicted right on ``batches`` (eval mode, fixed masks)."""
    rng = np.random.default_rng(seed)
    fn = _loss_fn(style, "masked_accuracy")
    mode, scores = model.training, []
    model.eval()
    with no_grad():
        for ids, mask in batches:
            scores.append(fn(model, np.asarray(ids), np.asarray(mask), rate, rng)[1])
    model.train(mode)
    return float(np.mean(scores))


def mlm_accuracy_by_input(model: MaskedEncoder, batches, rate: float,
                          seed: int = 0) -> dict[str, float]:
    """MLM's masked-token accuracy split by what the encoder was fed at the chosen places:
    ``"mask"`` ([MASK], 80 %), ``"random"`` (another token, 10 %) and ``"unchanged"`` (the
    token itself, 10 %: copying it suffices). Only the [MASK] share is the task MAE faces
    (its dropped tokens are never seen). Eval mode, fixed masks."""
    rng = np.random.default_rng(seed)
    mode, right, count = model.training, {}, {}
    model.eval()
    with no_grad():
        for ids, mask in batches:
            ids = np.asarray(ids)
            chosen = choose(mask, rate, rng)
            corrupted = bert_corrupt(ids, chosen, model.vocab_size, rng)
            rows, cols = np.nonzero(chosen)
            fed, target = corrupted[rows, cols], ids[rows, cols]
            hit = model.token_logits(model.encode(corrupted, mask)[rows, cols]).data.argmax(
                -1) == target
            for name, where in (("mask", fed == MASK_ID), ("unchanged", fed == target),
                                ("random", (fed != MASK_ID) & (fed != target))):
                right[name] = right.get(name, 0) + int(hit[where].sum())
                count[name] = count.get(name, 0) + int(where.sum())
    model.train(mode)
    return {name: right[name] / max(count[name], 1) for name in right}


def sentiment_accuracy(model: MaskedEncoder, batches, mix_rate: float = 0.0) -> float:
    """Share of reviews in ``batches`` ((ids, mask), labels) classified right."""
    mode, right, total = model.training, 0, 0
    model.eval()
    with no_grad():
        for (ids, mask), y in batches:
            pred = model.sentiment_logit(ids, mask, mix_rate).data > 0
            right += int((pred == (np.asarray(y) > 0.5)).sum())
            total += len(y)
    model.train(mode)
    return right / total


def fine_tune(model: MaskedEncoder, train: list, epochs: int, lr: float = 1e-3,
              mix_rate: float = 0.0, seed: int = 0, clip: float = 1.0) -> list[float]:
    """Adam on the binary cross-entropy of the sentiment logit, ``epochs`` passes over the
    batches ``train`` (a list of ((ids, mask), labels), visited in a new seeded order each
    epoch); ``mix_rate`` as in :meth:`MaskedEncoder.embed` (the post's correction; 0: plain
    fine-tuning). Returns the mean loss of each epoch."""
    opt = Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    model.train()
    losses = []
    for _ in range(epochs):
        epoch = []
        for i in rng.permutation(len(train)):
            (ids, mask), y = train[i]
            loss = F.binary_cross_entropy_with_logits(model.sentiment_logit(ids, mask, mix_rate),
                                                      np.asarray(y, dtype=np.float32))
            opt.zero_grad()
            loss.backward()
            clip_grad_norm(model.parameters(), clip)
            opt.step()
            epoch.append(float(loss.data))
        losses.append(float(np.mean(epoch)))
    model.eval()
    return losses


def expectation_gap(model: MaskedEncoder, batches: list, rate: float, draws: int = 8,
                    seed: int = 0) -> dict[str, float]:
    """The dropout view of MLM, measured: the mean over reviews of the distance from the
    review's average pooled state under ``draws`` BERT corruptions at ``rate`` (what
    pretraining trained on, on average) to the pooled state of the clean input
    (``"clean"``, plain fine-tuning's input) and of the mixed embedding (``"mixed"``, the
    post's correction); ``"noise"`` is the mean distance of one corrupted draw to that
    average, for scale. Pooled state: the mean of the real tokens' encoder states."""
    rng = np.random.default_rng(seed)
    mode, sums = model.training, {"clean": 0.0, "mixed": 0.0, "noise": 0.0}
    total = 0
    model.eval()

    def pooled(ids, mask, mix=0.0):
        keep = np.asarray(mask, bool)[..., None]
        states = model.encode(ids, mask, mix_rate=mix).data
        return (states * keep).sum(1) / keep.sum(1)

    with no_grad():
        for ids, mask in batches:
            noisy = np.stack([pooled(bert_corrupt(ids, choose(mask, rate, rng),
                                                  model.vocab_size, rng), mask)
                              for _ in range(draws)])
            centre = noisy.mean(0)
            for name, h in (("clean", pooled(ids, mask)), ("mixed", pooled(ids, mask, rate))):
                sums[name] += float(np.linalg.norm(h - centre, axis=-1).sum())
            sums["noise"] += float(np.linalg.norm(noisy - centre, axis=-1).mean(0).sum())
            total += len(ids)
    model.train(mode)
    return {k: v / total for k, v in sums.items()}
