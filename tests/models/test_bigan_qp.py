"""BiGAN-QP (tinygen.models.bigan_qp): the pair critic and encoder shapes, both losses on
hand-computed values, the stop-gradients (the z-term trains only E, the x-term only G),
reconstruction helper and the training loops."""

import numpy as np
import pytest

import tinygen as tg
from tinygen.errors import ShapeError
from tinygen.models.bigan_qp import (PairCritic, bigan_qp_d_loss, bigan_qp_g_loss,
                                     make_encoder, reconstruct, train_autoencoder,
                                     train_bigan_qp)
from tinygen.models.image_gans import Generator

rng = np.random.default_rng(0)


def t(a):
    return tg.tensor(np.asarray(a, np.float32))


def test_shapes_and_no_biases_in_the_critic():
    tg.manual_seed(0)
    e, critic = make_encoder(8, 5, (4, 8)), PairCritic(8, 5, (4, 8), hidden=6)
    x = t(rng.standard_normal((3, 1, 8, 8)))
    z = e(x)
    assert z.shape == (3, 5) and critic(x, z).shape == (3, 1)
    assert not any(n.endswith("bias") for n, _ in critic.named_parameters())


def test_critic_loss_by_hand():
    # pair 1: ΔT = 2, d = |1 − 0| (x) + mean(|0 − 2|, |0 − 0|) = 1 + 1 = 2 → −2 + 4/(2·10·2) = −1.9
    # pair 2: ΔT = −1, d = 0.5 + 0.5 = 1 → 1 + 1/(20) = 1.05
    x_r, x_f = t([[[[1.0]]], [[[0.5]]]]), t([[[[0.0]]], [[[0.0]]]])
    z_r, z_f = t([[0.0, 0.0], [1.0, 0.0]]), t([[2.0, 0.0], [0.0, 0.0]])
    loss = bigan_qp_d_loss(t([[3.0], [0.0]]), t([[1.0], [1.0]]), x_r, x_f, z_r, z_f)
    assert float(loss) == pytest.approx((-1.9 + 1.05) / 2, rel=1e-6)
    with pytest.raises(ShapeError, match="bigan_qp_d_loss"):
        bigan_qp_d_loss(t([[3.0]]), t([[1.0], [1.0]]), x_r, x_f, z_r, z_f)


def test_generator_loss_by_hand():
    # mean(T_r − T_f) = 1; 2·mean((z − z_rec)²) = 2·(1 + 0)/2 = 1; 3·mean((x − x_rec)²) = 3·0.25
    loss = bigan_qp_g_loss(t([2.0, 1.0]), t([0.0, 1.0]), t([[1.0, 0.0]]), t([[0.0, 0.0]]),
                           t([[0.5]]), t([[0.0]]))
    assert float(loss) == pytest.approx(1.0 + 1.0 + 0.75, rel=1e-6)


def test_stop_gradients_route_each_reconstruction_to_one_network():
    tg.manual_seed(0)
    g, e = Generator(4, 8, (8, 4)), make_encoder(8, 4, (4, 8))
    x = t(rng.uniform(-1, 1, (6, 1, 8, 8)))
    z = t(rng.standard_normal((6, 4)))
    zero = t(np.zeros(1))
    z_rec = e(g(z).detach())        # the z-term: E only
    bigan_qp_g_loss(zero, zero, z, z_rec, x, x).backward()
    assert all(p.grad is None for p in g.parameters())
    assert any(p.grad is not None and np.abs(p.grad.numpy()).max() > 0 for p in e.parameters())
    g2, e2 = Generator(4, 8, (8, 4)), make_encoder(8, 4, (4, 8))
    x_rec = g2(e2(x).detach())      # the x-term: G only
    bigan_qp_g_loss(zero, zero, z, z, x, x_rec).backward()
    assert all(p.grad is None for p in e2.parameters())
    assert any(p.grad is not None and np.abs(p.grad.numpy()).max() > 0 for p in g2.parameters())


def test_training_loops_and_reconstruct():
    tg.manual_seed(0)
    g, e, critic = Generator(4, 8, (8, 4)), make_encoder(8, 4, (4, 8)), PairCritic(8, 4, (4, 8))
    real = rng.uniform(-1, 1, (20, 1, 8, 8)).astype(np.float32)
    before = [p.numpy().copy() for p in g.parameters() + e.parameters() + critic.parameters()]
    h = train_bigan_qp(g, e, critic, real, 3, batch=8)
    assert len(h["d_loss"]) == len(h["g_loss"]) == 3 and np.isfinite(h["d_loss"]).all()
    after = [p.numpy() for p in g.parameters() + e.parameters() + critic.parameters()]
    assert all(not np.array_equal(a, b) for a, b in zip(before, after))
    codes, rec = reconstruct(e, g, real)
    assert codes.shape == (20, 4) and rec.shape == real.shape and g.training and e.training
    losses = train_autoencoder(g, e, real, 30, batch=20, lr=3e-3)
    assert losses[-1] < losses[0]
