"""DataLoader: reproducible, resumable batching; padding, masks and length buckets."""

import json

import numpy as np
import pytest

import tinygen as tg
from tinygen.data import BatchSampler, BucketBatchSampler, DataLoader, Rounds, pad_sequences
from tinygen.errors import ShapeError, TinygenError


def _indices(loader, epochs=1):
    return [b[1].tolist() for _ in range(epochs) for b in loader]


def _data(n=23):
    return np.arange(n * 2, dtype=np.float32).reshape(n, 2), np.arange(n)


def test_batches_cover_each_epoch_once_and_change_between_epochs():
    loader = DataLoader(_data(), batch_size=5, seed=3)
    assert len(loader) == 5
    first, second = _indices(loader), _indices(loader)
    assert [len(b) for b in first] == [5, 5, 5, 5, 3]
    assert sorted(sum(first, [])) == list(range(23)) == sorted(sum(second, []))
    assert first != second
    assert loader.epoch == 2 and loader.position == 0
    x, y = next(iter(DataLoader(_data(), batch_size=4, seed=3)))
    np.testing.assert_array_equal(x[:, 0], 2 * y)  # fields stay aligned


def test_same_seed_same_batches_and_generator_seeding():
    assert _indices(DataLoader(_data(), 4, seed=11), 3) == \
        _indices(DataLoader(_data(), 4, seed=11), 3)
    assert _indices(DataLoader(_data(), 4, seed=11)) != _indices(DataLoader(_data(), 4, seed=12))
    g1, g2 = tg.Generator(5), tg.Generator(5)
    assert _indices(DataLoader(_data(), 4, generator=g1), 2) == \
        _indices(DataLoader(_data(), 4, generator=g2), 2)
    with pytest.raises(TinygenError, match="either seed or generator"):
        DataLoader(_data(), 4, seed=1, generator=g1)


def test_no_shuffle_and_drop_last():
    loader = DataLoader(_data(), batch_size=5, shuffle=False, drop_last=True)
    assert len(loader) == 4
    assert _indices(loader) == [list(range(i, i + 5)) for i in range(0, 20, 5)]


def test_resume_from_state_dict_continues_exactly():
    """Stop anywhere (also right after an epoch's last batch), save, restore, and go on."""
    reference = DataLoader(_data(), batch_size=4, seed=7)
    expected = _indices(reference, 4)
    for stop in (0, 3, 6, 8, 13):
        run = DataLoader(_data(), batch_size=4, seed=7)
        got, it = [], iter(run)
        while len(got) < stop:
            try:
                got.append(next(it)[1].tolist())
            except StopIteration:
                it = iter(run)
        state = json.loads(json.dumps(run.state_dict()))
        resumed = DataLoader(_data(), batch_size=4)  # a different (fresh) seed until loaded
        resumed.load_state_dict(state)
        while len(got) < len(expected):
            got += _indices(resumed)
        assert got == expected, stop


def test_state_dict_rejects_another_dataset():
    state = DataLoader(_data(23), 4, seed=0).state_dict()
    with pytest.raises(TinygenError, match="state is for 23 items"):
        DataLoader(_data(30), 4).load_state_dict(state)


def test_single_array_dataset_object_and_device_tensors():
    x = np.arange(10)
    batches = list(DataLoader(x, batch_size=4, shuffle=False))
    assert isinstance(batches[0], np.ndarray) and batches[-1].tolist() == [8, 9]
    assert next(iter(DataLoader([3, 4, 5], batch_size=2, shuffle=False))).tolist() == [3, 4]

    class Squares:
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return np.array([i, i * i]), i % 2

    xb, yb = next(iter(DataLoader(Squares(), batch_size=6, shuffle=False)))
    assert xb.shape == (6, 2) and yb.tolist() == [0, 1, 0, 1, 0, 1]



def test_device_option_yields_tensors(device):
    xt, yt = next(iter(DataLoader(_data(), batch_size=3, seed=0, device=device)))
    assert isinstance(xt, tg.Tensor) and xt.shape == (3, 2) and xt.dtype == np.float32
    assert yt.dtype == np.int64 and xt.device == device == yt.device
    x, y = next(iter(DataLoader(_data(), batch_size=3, seed=0)))
    np.testing.assert_array_equal(xt.numpy(), x)
    (ids, mask), = next(iter(DataLoader(([[1, 2], [3]],), 2, shuffle=False, device=device)))
    assert ids.device == device and mask.dtype == bool and mask.numpy().tolist() == [
        [True, True], [True, False]]


def test_mismatched_fields():
    with pytest.raises(ShapeError, match="different lengths"):
        DataLoader((np.zeros(3), np.zeros(4)), batch_size=2)
    with pytest.raises(TinygenError, match="cannot batch"):
        DataLoader(42, batch_size=2)


def test_pad_sequences_and_masks():
    ids, mask = pad_sequences([[5, 6, 7], [8], []], pad_id=0)
    np.testing.assert_array_equal(ids, [[5, 6, 7], [8, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(mask, [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    assert mask.dtype == bool and ids.dtype == np.int64
    with pytest.raises(ShapeError, match="does not fit"):
        pad_sequences([[1, 2, 3]], length=2)


def test_ragged_fields_come_out_padded_with_masks():
    seqs = [[1] * n for n in (3, 1, 4, 2, 5)]
    labels = np.arange(5)
    for (ids, mask), y in DataLoader((seqs, labels), batch_size=2, seed=1, pad_id=-1):
        assert ids.shape == mask.shape and ids.shape[1] == mask.sum(1).max()
        np.testing.assert_array_equal(mask.sum(1), [len(seqs[i]) for i in y])
        assert (ids[~mask] == -1).all() and (ids[mask] == 1).all()


def test_bucket_sampler_equal_length():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 6, 200)
    sampler = BucketBatchSampler(lengths, batch_size=8, seed=0, equal_length=True)
    batches = sampler.batches(0)
    assert len(batches) == len(sampler)
    assert sorted(np.concatenate(batches).tolist()) == list(range(200))
    assert all(len(set(lengths[b].tolist())) == 1 for b in batches)
    assert [b.tolist() for b in batches] != [b.tolist() for b in sampler.batches(1)]
    dropped = BucketBatchSampler(lengths, 8, seed=0, equal_length=True, drop_last=True)
    assert all(len(b) == 8 for b in dropped.batches(0)) and len(dropped) == len(
        dropped.batches(3))


def test_bucket_sampler_pools_reduce_padding():
    rng = np.random.default_rng(1)
    lengths = rng.integers(1, 100, 1000)
    bucketed = BucketBatchSampler(lengths, batch_size=16, seed=0, pool=20).batches(0)
    plain = BatchSampler(1000, 16, seed=0).batches(0)
    assert sorted(np.concatenate(bucketed).tolist()) == list(range(1000))

    def waste(batches):
        return sum(lengths[b].max() * len(b) - lengths[b].sum() for b in batches)

    assert waste(bucketed) < 0.1 * waste(plain)


def test_loader_with_bucket_sampler_resumes():
    seqs = [[7] * (1 + i % 6) for i in range(50)]
    sampler = BucketBatchSampler([len(s) for s in seqs], 4, seed=2, equal_length=True)
    loader = DataLoader(seqs, sampler=sampler)
    first = [(ids.shape, mask.all()) for ids, mask in loader]
    assert all(m for _, m in first)  # equal lengths: no padding at all
    it = iter(loader)
    for _ in range(3):
        next(it)
    again = DataLoader(seqs, sampler=BucketBatchSampler([len(s) for s in seqs], 4,
                                                        equal_length=True))
    again.load_state_dict(loader.state_dict())
    rest_a = [ids.tolist() for ids, _ in it]
    rest_b = [ids.tolist() for ids, _ in again]
    assert rest_a == rest_b and len(rest_a) == len(loader) - 3


def test_rounds_give_fixed_steps_and_run_on_across_epochs():
    """7 batches per round over a loader of 3 batches per epoch: the rounds together are the
    loader's epochs one after the other, every epoch shuffled anew."""
    loader = DataLoader(np.arange(10), batch_size=4, seed=0)
    rounds = Rounds(loader, 7)
    assert len(rounds) == 7
    got = [list(batch) for _ in range(3) for batch in rounds]
    assert len(got) == 21
    epochs = [sum(got[i:i + 3], []) for i in range(0, 21, 3)]
    assert all(sorted(e) == list(range(10)) for e in epochs)  # each epoch covers all once
    assert epochs[0] != epochs[1]
    reference = DataLoader(np.arange(10), batch_size=4, seed=0)
    assert got == [list(b) for _ in range(7) for b in reference]


def test_rounds_work_with_any_iterable():
    rounds = Rounds([1, 2, 3], 2)
    assert [list(rounds) for _ in range(3)] == [[1, 2], [3, 1], [2, 3]]


@pytest.mark.parametrize("steps", [0, -1, 2.5])
def test_rounds_bad_steps(steps):
    with pytest.raises(TinygenError, match=f"Rounds: steps must be an int >= 1, got {steps}"):
        Rounds([1, 2], steps)


def test_rounds_empty_loader():
    with pytest.raises(TinygenError, match="Rounds: the loader gave no batches"):
        list(Rounds([], 3))
