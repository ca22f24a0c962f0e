"""A vocabulary: tokens ↔ integer ids, with special tokens at fixed ids.

Ids are assigned in a fixed order so that the same corpus always gives the same vocabulary:
first the special tokens in the order given (by default ``<pad>`` = 0, ``<unk>`` = 1,
``<s>`` = 2, ``</s>`` = 3), then the tokens seen at least ``min_count`` times, most frequent
first, ties broken by the token's text. A token outside the vocabulary encodes to ``<unk>``
(or raises, when the vocabulary has no unknown token). Saved as JSON (atomically), never
pickled.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import TinygenError
from ..fileio import atomic_write_text

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
DEFAULT_SPECIALS = (PAD, UNK, BOS, EOS)
_FORMAT = "tinygen.vocab/1"


class Vocab:
    """Tokens (any strings) to ids 0 … len−1 and back.

    Build one from token sequences with :meth:`build`, or from an ordered token list with
    the constructor. ``specials`` come first; ``unk`` names the token that stands for every
    unknown one (it must be one of the specials; None: unknown tokens are an error).
    """

    def __init__(self, tokens: Iterable[str] = (), specials: Sequence[str] = DEFAULT_SPECIALS,
                 unk: str | None = UNK):
        self.specials = tuple(specials)
        if unk is not None and unk not in self.specials:
            raise TinygenError(f"Vocab: the unknown token {unk!r} must be one of the specials "
                               f"{self.specials}")
        self.unk = unk
        self._itos: list[str] = []
        self._stoi: dict[str, int] = {}
        for token in (*self.specials, *tokens):
            if not isinstance(token, str):
                raise TinygenError(f"Vocab: tokens must be strings, got {token!r}")
            if token not in self._stoi:
                self._stoi[token] = len(self._itos)
                self._itos.append(token)

    @classmethod
    def build(cls, sequences: Iterable[Iterable[str]], min_count: int = 1,
              max_size: int | None = None, specials: Sequence[str] = DEFAULT_SPECIALS,
              unk: str | None = UNK) -> Vocab:
        """Count the tokens of ``sequences``; keep those seen ``min_count`` times or more,
        most frequent first (ties by text), at most ``max_size`` ids in all."""
        counts = Counter(token for seq in sequences for token in seq)
        kept = sorted((t for t, c in counts.items() if c >= min_count and t not in specials),
                      key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max(0, max_size - len(tuple(specials)))]
        return cls(kept, specials, unk)

    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, token: object) -> bool:
        return token in self._stoi

    def __iter__(self):
        return iter(self._itos)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Vocab) and self._itos == other._itos
                and self.specials == other.specials and self.unk == other.unk)

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens, specials={self.specials})"

    def _special_id(self, token: str) -> int:
        if token not in self._stoi:
            raise TinygenError(f"Vocab has no {token!r} token (specials: {self.specials})")
        return self._stoi[token]

    pad_id = property(lambda self: self._special_id(PAD), doc="Id of ``<pad>``.")
    unk_id = property(lambda self: self._special_id(self.unk or UNK), doc="Id of ``<unk>``.")
    bos_id = property(lambda self: self._special_id(BOS), doc="Id of ``<s>``.")
    eos_id = property(lambda self: self._special_id(EOS), doc="Id of ``</s>``.")

    def id(self, token: str) -> int:
        """The id of ``token``; the unknown id for a token outside the vocabulary."""
        found = self._stoi.get(token)
        if found is not None:
            return found
        if self.unk is None:
            raise TinygenError(f"Vocab: {token!r} is not in the vocabulary and it has no "
                               "unknown token")
        return self._stoi[self.unk]

    def token(self, index: int) -> str:
        """The token with id ``index``."""
        if not 0 <= int(index) < len(self._itos):
            raise TinygenError(f"Vocab: id {index} is outside 0 … {len(self._itos) - 1}")
        return self._itos[int(index)]

    def encode(self, tokens: Iterable[str], bos: bool = False, eos: bool = False) -> list[int]:
        """Ids of ``tokens``, optionally wrapped in ``<s>`` … ``</s>``."""
        ids = [self.id(t) for t in tokens]
        return ([self.bos_id] if bos else []) + ids + ([self.eos_id] if eos else [])

    def decode(self, ids: Iterable[int], skip_specials: bool = True,
               stop_at_eos: bool = True) -> list[str]:
        """Tokens of ``ids`` (a list, array or Tensor of ints). By default stops at the first
        ``</s>`` and leaves out ``<pad>``, ``<s>``, ``</s>`` (``<unk>`` is kept, so a
        reader sees that something was unknown)."""
        ids = ids.tolist() if hasattr(ids, "tolist") else ids
        hidden = {t for t in self.specials if t != self.unk} if skip_specials else set()
        out = []
        for i in ids:
            token = self.token(int(i))
            if stop_at_eos and token == EOS:
                break
            if token not in hidden:
                out.append(token)
        return out

    def to_dict(self) -> dict:
        return {"format": _FORMAT, "tokens": self._itos, "specials": list(self.specials),
                "unk": self.unk}

    @classmethod
    def from_dict(cls, d: dict) -> Vocab:
        """Rebuild from :meth:`to_dict`; malformed input is a clear error."""
        if not isinstance(d, dict) or d.get("format") != _FORMAT:
            raise TinygenError(f"Vocab.from_dict: not a tinygen vocabulary (format "
                               f"{d.get('format') if isinstance(d, dict) else type(d)!r})")
        tokens, specials = d.get("tokens"), d.get("specials")
        if (not isinstance(tokens, list) or not isinstance(specials, list)
                or tokens[: len(specials)] != specials or len(set(tokens)) != len(tokens)):
            raise TinygenError("Vocab.from_dict: tokens must be unique and start with the "
                               "specials")
        return cls(tokens[len(specials):], specials, d.get("unk"))

    def save(self, path: str | os.PathLike) -> Path:
        """Write the vocabulary as JSON (UTF-8, atomically)."""
        return atomic_write_text(path, json.dumps(self.to_dict(), ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocab:
        """Read a vocabulary written by :meth:`save`."""
        try:
            d = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise TinygenError(f"Vocab.load: {path} is not valid JSON ({exc})") from exc
        return cls.from_dict(d)
