"""Vocab: fixed id order, unknown tokens, encode/decode and JSON round trips."""

import json

import numpy as np
import pytest

import tinygen as tg
from tinygen.data import Vocab
from tinygen.errors import TinygenError

SENTENCES = [list("天下大同"), list("天下为公"), list("大道之行")]


def test_build_orders_specials_then_frequency_then_text():
    v = Vocab.build(SENTENCES)
    assert [v.token(i) for i in range(4)] == ["<pad>", "<unk>", "<s>", "</s>"]
    assert (v.pad_id, v.unk_id, v.bos_id, v.eos_id) == (0, 1, 2, 3)
    assert v.token(4) == "下" and v.token(5) == "大" and v.token(6) == "天"  # count 2, by text
    assert len(v) == 4 + len(set("天下大同为公道之行"))
    assert "天" in v and "龙" not in v


def test_min_count_max_size_and_unknowns():
    v = Vocab.build(SENTENCES, min_count=2)
    assert list(v)[4:] == ["下", "大", "天"]
    assert v.encode("天龙") == [v.id("天"), v.unk_id]
    assert v.decode(v.encode("天龙")) == ["天", "<unk>"]
    assert len(Vocab.build(SENTENCES, max_size=6)) == 6
    strict = Vocab.build(SENTENCES, specials=["<pad>"], unk=None)
    with pytest.raises(TinygenError, match="'龙' is not in the vocabulary"):
        strict.encode("龙")
    with pytest.raises(TinygenError, match="has no '<s>' token"):
        strict.encode("天", bos=True)
    with pytest.raises(TinygenError, match="must be one of the specials"):
        Vocab(["a"], specials=["<pad>"], unk="<unk>")


def test_encode_decode_round_trip():
    v = Vocab.build(SENTENCES)
    for s in SENTENCES:
        ids = v.encode(s, bos=True, eos=True)
        assert ids[0] == v.bos_id and ids[-1] == v.eos_id
        assert v.decode(ids) == s
        assert v.decode(np.array(ids + [v.pad_id] * 3)) == s  # arrays work, </s> stops
        assert v.decode(tg.tensor(np.array(ids))) == s  # and tensors
    assert v.decode([v.bos_id, v.id("天"), v.eos_id], skip_specials=False) == ["<s>", "天"]
    assert v.decode([v.id("天"), v.eos_id, v.id("下")], stop_at_eos=False) == ["天", "下"]
    with pytest.raises(TinygenError, match="outside"):
        v.token(len(v))


def test_json_round_trip(tmp_path):
    v = Vocab.build(SENTENCES, min_count=1)
    path = v.save(tmp_path / "vocab.json")
    assert json.loads(path.read_text(encoding="utf-8"))["tokens"][4] == "下"
    w = Vocab.load(path)
    assert w == v and w.encode("大同") == v.encode("大同") and len(w) == len(v)


def test_load_rejects_malformed_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(TinygenError, match="not valid JSON"):
        Vocab.load(bad)
    bad.write_text(json.dumps({"tokens": ["a"]}), encoding="utf-8")
    with pytest.raises(TinygenError, match="not a tinygen vocabulary"):
        Vocab.load(bad)
    good = Vocab.build(SENTENCES).to_dict()
    good["tokens"] = good["tokens"] + ["天"]
    with pytest.raises(TinygenError, match="unique"):
        Vocab.from_dict(good)
