"""Batches for training: seeded, reproducible, resumable; padded buckets for sequences.

The order of epoch ``e`` is a pure function of ``(seed, e)``: the permutation comes from a
PCG64 stream seeded with the pair, not from a generator that advances as batches are
drawn. So the state of a :class:`DataLoader` is three integers — seed, epoch, and position
(the number of batches of that epoch already handed out) — and a run restored with
:meth:`DataLoader.load_state_dict` continues with exactly the batches an uninterrupted run
would have seen next.

Variable-length sequences: a Python list of sequences is a *ragged* field. Each batch pads
it to the longest sequence in the batch with ``pad_id`` and hands it out as a pair
``(ids, mask)``, ``mask`` True on real tokens. :class:`BucketBatchSampler` puts sequences of
similar (or equal) length in the same batch, so little of the batch is padding.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import ShapeError, TinygenError
from ..random import Generator


def _epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64([seed, epoch]))


def _seed_from(seed: int | None, generator: Generator | None) -> int:
    """An integer seed: ``seed``; else one drawn from ``generator``; else fresh entropy."""
    if seed is not None and generator is not None:
        raise TinygenError("give either seed or generator, not both")
    if seed is not None:
        if int(seed) != seed or seed < 0:
            raise TinygenError(f"seed must be a non-negative integer, got {seed!r}")
        return int(seed)
    if generator is not None:
        return int(np.asarray(generator.integers(0, 2**63 - 1).numpy()))
    return int(np.random.SeedSequence().generate_state(2, np.uint64)[0] >> np.uint64(1))


def pad_sequences(sequences: Sequence[Sequence[int]], pad_id: int = 0,
                  length: int | None = None, dtype=np.int64) -> tuple[np.ndarray, np.ndarray]:
    """Pad ``sequences`` on the right to ``length`` (default: the longest) with ``pad_id``.

    Returns ``(ids, mask)``, both (B, T): ``ids[b, t] = sequences[b][t]`` for t < len, else
    ``pad_id``; ``mask[b, t] = t < len(sequences[b])`` (bool). A sequence longer than
    ``length`` is an error rather than being cut silently.
    """
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    width = int(lengths.max(initial=0)) if length is None else int(length)
    if len(lengths) and lengths.max() > width:
        raise ShapeError(f"pad_sequences: a sequence of length {lengths.max()} does not fit "
                         f"in length {width}")
    ids = np.full((len(sequences), width), pad_id, dtype=dtype)
    mask = np.arange(width)[None, :] < lengths[:, None]
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = seq
    return ids, mask


class BatchSampler:
    """Batches of indices 0 … n−1: shuffled per epoch (seeded) or in order.

    ``batches(epoch)`` cuts ``permutation(seed, epoch)`` (or ``arange(n)``) into slices of
    ``batch_size``; the last, smaller one is dropped with ``drop_last``.
    """

    def __init__(self, n: int, batch_size: int, shuffle: bool = True, drop_last: bool = False,
                 seed: int | None = None, generator: Generator | None = None):
        if batch_size < 1:
            raise TinygenError(f"batch_size must be at least 1, got {batch_size}")
        self.n, self.batch_size = int(n), int(batch_size)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.seed = _seed_from(seed, generator)

    def __len__(self) -> int:
        full, rest = divmod(self.n, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def batches(self, epoch: int) -> list[np.ndarray]:
        order = (_epoch_rng(self.seed, epoch).permutation(self.n) if self.shuffle
                 else np.arange(self.n))
        return [order[i: i + self.batch_size] for i in range(0, len(self) * self.batch_size,
                                                               self.batch_size)]


class BucketBatchSampler(BatchSampler):
    """Batches of indices of sequences with similar lengths, to keep padding small.

    With ``equal_length=True`` only sequences of exactly the same length share a batch (the
    couplet tagger's "batches of equal length"). Otherwise, per epoch: shuffle all indices
    (seeded), cut them into pools of ``pool`` batches, sort each pool by length, cut it into
    batches — so lengths in a batch are close but batches still vary between epochs. In
    both modes the order of the batches is then shuffled. ``drop_last`` drops each group's
    (pool's or length's) final short batch.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool = True,
                 drop_last: bool = False, seed: int | None = None,
                 generator: Generator | None = None, equal_length: bool = False,
                 pool: int = 50):
        super().__init__(len(lengths), batch_size, shuffle, drop_last, seed, generator)
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.equal_length, self.pool = bool(equal_length), int(pool)
        self._count = len(self._groups(np.arange(self.n)))

    def __len__(self) -> int:
        return self._count

    def _cut(self, idx: np.ndarray) -> list[np.ndarray]:
        out = [idx[i: i + self.batch_size] for i in range(0, len(idx), self.batch_size)]
        return out[:-1] if out and self.drop_last and len(out[-1]) < self.batch_size else out

    def _groups(self, order: np.ndarray) -> list[np.ndarray]:
        if self.equal_length:
            out = []
            for length in np.unique(self.lengths):
                out += self._cut(order[self.lengths[order] == length])
            return out
        size = self.batch_size * self.pool
        out = []
        for start in range(0, len(order), size):
            chunk = order[start: start + size]
            out += self._cut(chunk[np.argsort(self.lengths[chunk], kind="stable")])
        return out

    def batches(self, epoch: int) -> list[np.ndarray]:
        rng = _epoch_rng(self.seed, epoch)
        order = rng.permutation(self.n) if self.shuffle else np.arange(self.n)
        groups = self._groups(order)
        if self.shuffle:
            groups = [groups[i] for i in rng.permutation(len(groups))]
        return groups


def _is_ragged(field: Any) -> bool:
    return (not isinstance(field, np.ndarray) and isinstance(field, list | tuple)
            and len(field) > 0 and isinstance(field[0], list | tuple | np.ndarray))


class DataLoader:
    """Iterate over batches of ``data``, reproducibly and resumably.

    ``data`` is one field (batches are that field's batches), a *tuple* of fields of equal
    length (batches are tuples), or any object with ``__len__`` and ``__getitem__``
    returning an item or a tuple of items (stacked with ``np.stack``). A field is an array
    (or anything ``np.asarray`` takes), or a Python *list* of sequences, which is ragged:
    it is padded per batch with ``pad_id`` and comes out as ``(ids, mask)``. With
    ``device`` ("cpu" or "cuda") every array becomes a :class:`tinygen.Tensor` there.

    The batch order comes from ``sampler`` (e.g. :class:`BucketBatchSampler`, which then
    owns the batch size and seed) or a :class:`BatchSampler` made from ``batch_size``,
    ``shuffle``, ``drop_last`` and ``seed`` / ``generator`` (a seed is drawn from the
    generator once, at construction; neither: fresh entropy, recorded in the state).

    Each ``for batch in loader`` runs through the rest of the current epoch and then moves
    to the next one; :attr:`epoch` and :attr:`position` say where it stands and
    :meth:`state_dict` / :meth:`load_state_dict` save and restore that exactly.
    """

    def __init__(self, data: Any, batch_size: int = 32, shuffle: bool = True,
                 drop_last: bool = False, *, seed: int | None = None,
                 generator: Generator | None = None, sampler: BatchSampler | None = None,
                 pad_id: int = 0, device: str | None = None):
        self._single = isinstance(data, np.ndarray | list)
        self._dataset = None
        if self._single:
            fields = [data]
        elif isinstance(data, tuple):
            fields = list(data)
        elif hasattr(data, "__len__") and hasattr(data, "__getitem__"):
            self._dataset, fields = data, []
        else:
            raise TinygenError(f"DataLoader: cannot batch a {type(data).__name__}; give an "
                               "array, a tuple of arrays or a dataset with __len__/__getitem__")
        fields = [f if isinstance(f, np.ndarray) or _is_ragged(f) else np.asarray(f)
                  for f in fields]
        lengths = {len(f) for f in fields} or {len(data)}
        if len(lengths) != 1:
            raise ShapeError(f"DataLoader: fields have different lengths {sorted(lengths)}")
        self.fields, self.n = fields, lengths.pop()
        if sampler is not None and sampler.n != self.n:
            raise ShapeError(f"DataLoader: sampler covers {sampler.n} items, data has {self.n}")
        if sampler is not None and (seed is not None or generator is not None):
            raise TinygenError("DataLoader: with a sampler, seed the sampler instead")
        self.sampler = sampler or BatchSampler(self.n, batch_size, shuffle, drop_last, seed,
                                               generator)
        self.pad_id, self.device = pad_id, device
        self.epoch, self.position = 0, 0

    def __len__(self) -> int:
        """Batches per epoch."""
        return len(self.sampler)

    @property
    def seed(self) -> int:
        return self.sampler.seed

    def _collate(self, idx: np.ndarray):
        if self._dataset is not None:
            items = [self._dataset[int(i)] for i in idx]
            if isinstance(items[0], tuple):
                out = tuple(np.stack([it[k] for it in items]) for k in range(len(items[0])))
            else:
                out = np.stack(items)
        else:
            out = tuple(pad_sequences([f[i] for i in idx], self.pad_id) if _is_ragged(f)
                        else f[idx] for f in self.fields)
            out = out[0] if self._single else out
        return self._to_device(out) if self.device is not None else out

    def _to_device(self, out):
        from ..creation import tensor

        if isinstance(out, tuple):
            return tuple(self._to_device(o) for o in out)
        return tensor(out, device=self.device)

    def __iter__(self) -> Iterator:
        batches = self.sampler.batches(self.epoch)
        if self.position >= len(batches):
            self.epoch, self.position = self.epoch + 1, 0
            batches = self.sampler.batches(self.epoch)
        while self.position < len(batches):
            idx = batches[self.position]
            self.position += 1
            yield self._collate(idx)
        self.epoch, self.position = self.epoch + 1, 0

    def set_epoch(self, epoch: int) -> None:
        """Jump to the start of ``epoch``."""
        self.epoch, self.position = int(epoch), 0

    def state_dict(self) -> dict:
        """Where the loader stands, JSON-serialisable: seed, epoch, position (batches of this
        epoch already handed out), and the sizes it was made for."""
        return {"seed": self.seed, "epoch": self.epoch, "position": self.position,
                "n": self.n, "batches_per_epoch": len(self)}

    def load_state_dict(self, state: dict) -> None:
        """Continue exactly where the loader that wrote ``state`` stood."""
        if state.get("n") != self.n or state.get("batches_per_epoch") != len(self):
            raise TinygenError(f"DataLoader.load_state_dict: state is for {state.get('n')} "
                               f"items in {state.get('batches_per_epoch')} batches, this "
                               f"loader has {self.n} items in {len(self)} batches")
        self.sampler.seed = int(state["seed"])
        self.epoch, self.position = int(state["epoch"]), int(state["position"])


_END = object()  # what next() returns from an exhausted iterator (None may be a batch)


class Rounds:
    """``steps`` batches of ``loader`` per pass, running on into the loader's next epoch when
    it has to: ``fit(model, Rounds(loader, 500), ...)`` logs and validates every 500 steps
    however long the loader's own epoch is."""

    def __init__(self, loader: Iterable, steps: int):
        if not isinstance(steps, int) or steps < 1:
            raise TinygenError(f"Rounds: steps must be an int >= 1, got {steps!r}")
        self.loader, self.steps = loader, steps
        self._batches = iter(loader)

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator:
        for _ in range(self.steps):
            batch = next(self._batches, _END)
            if batch is _END:  # the loader's epoch is over: start its next one
                self._batches = iter(self.loader)
                batch = next(self._batches, _END)
                if batch is _END:
                    raise TinygenError("Rounds: the loader gave no batches for a whole epoch")
            yield batch

