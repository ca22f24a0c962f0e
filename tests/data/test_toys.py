"""2-D toys: the published settings, checked by their statistics."""

import numpy as np
import pytest
from sklearn.datasets import make_moons, make_swiss_roll

import tinygen as tg
from tinygen.metrics import mode_coverage
from tinygen.data import toys
from tinygen.errors import ShapeError

N = 20_000


@pytest.mark.parametrize("make, modes", [(toys.ring, toys.RING), (toys.grid, toys.GRID),
                                         (toys.gaussians8, toys.GAUSSIANS8),
                                         (toys.gaussians25, toys.GAUSSIANS25)])
def test_mixtures_have_the_published_means_and_stds(make, modes):
    x = make(N, 0).astype(np.float64)
    assert x.shape == (N, 2) and make(N, 0).dtype == np.float32
    nearest = np.argmin(((x[:, None] - modes.centres[None]) ** 2).sum(-1), axis=1)
    k = len(modes.centres)
    counts = np.bincount(nearest, minlength=k)
    assert counts.min() > 0.8 * N / k  # every mode is used, about equally
    for m in range(k):
        pts = x[nearest == m]
        se = modes.std / np.sqrt(len(pts))
        assert np.all(np.abs(pts.mean(0) - modes.centres[m]) < 5 * se)
        assert np.all(np.abs(pts.std(0) / modes.std - 1) < 0.1)


def test_the_published_numbers():
    np.testing.assert_allclose(np.linalg.norm(toys.RING.centres, axis=1), 1.0)
    assert toys.RING.std == 0.01 and toys.GRID.std == 0.05
    assert sorted(set(toys.GRID.centres.ravel())) == [-4, -2, 0, 2, 4]
    np.testing.assert_allclose(np.linalg.norm(toys.GAUSSIANS8.centres, axis=1), 2 / 1.414)
    np.testing.assert_allclose(toys.GAUSSIANS8.std, 0.02 / 1.414)
    np.testing.assert_allclose(np.abs(toys.GAUSSIANS25.centres).max(), 4 / 2.828)
    np.testing.assert_allclose(toys.GAUSSIANS25.std, 0.05 / 2.828)


def test_gaussians25_is_balanced_and_seeding_is_reproducible():
    _, labels = toys.mixture(toys.GAUSSIANS25, 1000, 1, balanced=True, return_labels=True)
    assert set(np.bincount(labels, minlength=25).tolist()) == {40}
    np.testing.assert_array_equal(toys.ring(50, 3), toys.ring(50, tg.Generator(3)))
    assert not np.array_equal(toys.ring(50, 3), toys.ring(50, 4))
    assert toys.grid(10, 0, dtype=np.float64).dtype == np.float64
    with pytest.raises(ShapeError, match="non-negative integer"):
        toys.ring(-1)


def test_swissroll_matches_sklearn_in_distribution():
    ours = toys.swissroll(N, 0).astype(np.float64)
    ref = make_swiss_roll(N, noise=0.25, random_state=0)[0][:, [0, 2]] / 7.5
    np.testing.assert_allclose(ours.mean(0), ref.mean(0), atol=0.03)
    np.testing.assert_allclose(ours.std(0), ref.std(0), rtol=0.03)
    r_ours, r_ref = np.linalg.norm(ours, axis=1), np.linalg.norm(ref, axis=1)
    np.testing.assert_allclose(np.percentile(r_ours, [10, 50, 90]),
                               np.percentile(r_ref, [10, 50, 90]), rtol=0.03)


def test_checkerboard_fills_eight_squares_uniformly():
    x = toys.checkerboard(N, 0).astype(np.float64)
    assert x.min() >= -4 and x.max() < 4
    cells = np.floor(x / 2).astype(int)
    assert ((cells.sum(1) % 2) == 0).all()
    counts = np.unique(cells, axis=0, return_counts=True)[1]
    assert len(counts) == 8 and counts.min() > 0.9 * N / 8


def test_two_moons_matches_sklearn_in_distribution():
    x, labels = toys.two_moons(N, 0, return_labels=True)
    ref, ref_labels = make_moons(N, noise=0.1, random_state=0)
    ref = ref * 2 + np.array([-1, -0.2])
    for m in (0, 1):
        np.testing.assert_allclose(x[labels == m].mean(0), ref[ref_labels == m].mean(0),
                                   atol=0.03)
        np.testing.assert_allclose(x[labels == m].std(0), ref[ref_labels == m].std(0),
                                   rtol=0.05)


def test_two_moons_log_prob_is_the_density_of_the_samples():
    """It integrates to one, matches a histogram of many samples cell by cell, and a
    wrong noise level (a density of another toy) does not."""
    g = np.linspace(-4, 4, 161)
    mid = (g[:-1] + g[1:]) / 2
    cells = np.stack(np.meshgrid(mid, mid), -1).reshape(-1, 2)
    area = (g[1] - g[0]) ** 2
    assert abs(np.exp(toys.two_moons_log_prob(cells, nodes=300)).sum() * area - 1) < 1e-3
    x = toys.two_moons(200_000, 0, dtype=np.float64)
    edges = np.linspace(-4, 4, 17)  # cells of side 0.5
    hist = np.histogram2d(x[:, 0], x[:, 1], [edges, edges])[0].T / len(x)
    centres = (edges[:-1] + edges[1:]) / 2
    fine = (np.arange(8) + 0.5) / 16  # 8 × 8 midpoints per cell

    def cell_mass(**kw):
        pts = (np.stack(np.meshgrid(centres - 0.25, centres - 0.25), -1)[:, :, None, None]
               + np.stack(np.meshgrid(fine, fine), -1)[None, None])
        lp = toys.two_moons_log_prob(pts.reshape(-1, 2), nodes=300, **kw)
        dens = np.exp(lp).reshape(16, 16, -1)
        return dens.mean(-1) * 0.25

    def worst_z(**kw):  # the largest |count − expected| / √expected over the busy cells
        expected = cell_mass(**kw) * len(x)
        busy = expected > 100
        return np.abs((hist * len(x) - expected)[busy] / np.sqrt(expected[busy])).max()

    assert worst_z() < 4.5
    assert worst_z(noise=0.12) > 10
    with pytest.raises(ShapeError, match="two_moons_log_prob"):
        toys.two_moons_log_prob(np.zeros((3, 3)))


def test_mode_coverage():
    x = toys.ring(2500, 0)
    got = mode_coverage(x, toys.RING)
    assert got["modes"] == 8
    assert abs(got["high_quality"] - (1 - np.exp(-4.5))) < 0.01  # P(χ²₂ < 9)
    half = mode_coverage(x[np.cos(np.arctan2(x[:, 1], x[:, 0])) > 0.1], toys.RING)
    assert half["modes"] == 3  # only the modes with x > 0: angles −45°, 0°, 45°
    off = mode_coverage(np.full((100, 2), 0.5), toys.GRID)
    assert off == {"modes": 0, "high_quality": 0.0, "counts": off["counts"]}
    assert mode_coverage(tg.tensor(x), toys.RING)["modes"] == 8
    with pytest.raises(ShapeError, match=r"shape \(N, 2\)"):
        mode_coverage(np.zeros((3, 3)), toys.RING)


def test_generators_on_any_device(device):
    g = tg.Generator(0, device=device)
    for make in (toys.ring, toys.grid, toys.gaussians8, toys.gaussians25, toys.swissroll,
                 toys.checkerboard, toys.two_moons):
        x = make(64, g)
        assert isinstance(x, np.ndarray) and x.shape == (64, 2) and np.isfinite(x).all()
