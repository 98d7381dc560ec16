import hashlib
import io
import os
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from rnnbench.data import fetch
from rnnbench.data.ptb import batchify, bptt_windows, build_vocab, encode, load_ptb, tokenize
from rnnbench.data.sources import ARCHIVE_MEMBERS
from rnnbench.errors import DataError

TEXTS = {"train": " the cat sat \n the dog \n", "valid": " the cat \n", "test": " dog sat \n"}


def _root_cfg(root, download=True):
    return SimpleNamespace(root=str(root), download=download, verify=True)


def _tgz(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_tokens_eos_and_vocabulary_order():
    tokens = tokenize(TEXTS["train"])
    assert tokens == ["the", "cat", "sat", "<eos>", "the", "dog", "<eos>"]
    vocab = build_vocab(tokens)  # most frequent first, ties alphabetical (Zaremba's reader)
    assert list(vocab) == ["<eos>", "the", "cat", "dog", "sat"]
    assert encode(tokenize(TEXTS["valid"]), vocab, "valid").tolist() == [1, 2, 0]
    with pytest.raises(DataError, match="1 word types outside the training vocabulary"):
        encode(["bird"], vocab, "valid")


def test_batchify_layout_and_bptt_windows():
    stream = torch.arange(26)  # a..z
    data = batchify(stream, 4)
    assert data.tolist() == [list(range(0, 6)), list(range(6, 12)), list(range(12, 18)), list(range(18, 24))]
    windows = list(bptt_windows(data, 2))
    assert [w[0].shape[1] for w in windows] == [2, 2, 1]  # 5 predictions per row: 2 + 2 + 1
    inputs, targets = windows[1]
    assert inputs[0].tolist() == [2, 3] and targets[0].tolist() == [3, 4]
    assert torch.equal(torch.cat([w[1] for w in windows], 1), data[:, 1:])  # every next word once
    with pytest.raises(DataError, match="too short"):
        batchify(torch.arange(3), 4)


def test_archive_download_extracts_only_the_three_files(tmp_path, monkeypatch):
    data = {s: t.encode() for s, t in TEXTS.items()}
    archive = _tgz(tmp_path / "simple-examples.tgz", {
        **{f"./simple-examples/data/ptb.{s}.txt": d for s, d in data.items()},
        "./simple-examples/data/ptb.char.train.txt": b"not wanted",
        "../../escape.txt": b"never extracted",
    })
    rel = {s: f"ptb/ptb.{s}.txt" for s in data}
    members = {rel[s]: (archive.as_uri(), f"simple-examples/data/ptb.{s}.txt") for s in data}
    monkeypatch.setattr(fetch, "ARCHIVE_MEMBERS", members)
    monkeypatch.setattr(fetch, "urls", lambda r: [archive.as_uri()])
    monkeypatch.setattr(fetch, "sha256_table", lambda: {rel[s]: hashlib.sha256(d).hexdigest() for s, d in data.items()})
    root = tmp_path / "root"
    vocab, streams = load_ptb(_root_cfg(root))
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == sorted(rel.values())
    assert not (tmp_path / "escape.txt").exists()
    assert [len(streams[s]) for s in ("train", "valid", "test")] == [7, 3, 3] and len(vocab) == 5


def test_archive_member_with_a_wrong_checksum_is_refused(tmp_path, monkeypatch):
    archive = _tgz(tmp_path / "a.tgz", {"simple-examples/data/ptb.train.txt": b"edited"})
    monkeypatch.setattr(fetch, "ARCHIVE_MEMBERS", {"ptb/ptb.train.txt": (archive.as_uri(), "simple-examples/data/ptb.train.txt")})
    monkeypatch.setattr(fetch, "urls", lambda r: [archive.as_uri()])
    with pytest.raises(DataError, match="member simple-examples/data/ptb.train.txt fails its checksum"):
        fetch.ensure_file("ptb/ptb.train.txt", tmp_path / "root")
    assert not (tmp_path / "root" / "ptb" / "ptb.train.txt").exists()


def test_every_archive_member_has_a_checksum():
    from rnnbench.data.sources import sha256_table
    assert set(ARCHIVE_MEMBERS) <= set(sha256_table())
    assert ARCHIVE_MEMBERS["ptb/ptb.valid.txt"] == ("http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz",
                                                   "simple-examples/data/ptb.valid.txt")


@pytest.mark.skipif(not (os.environ.get("RNNBENCH_DATA") and Path(os.environ["RNNBENCH_DATA"], "ptb/ptb.train.txt").is_file()),
                    reason="RNNBENCH_DATA does not hold PTB")
def test_real_ptb_vocabulary_and_token_counts():
    vocab, streams = load_ptb(_root_cfg(os.environ["RNNBENCH_DATA"], download=False))
    assert len(vocab) == 10_000 and "<unk>" in vocab and "<eos>" in vocab  # PROVENANCE.md
    assert [len(streams[s]) for s in ("train", "valid", "test")] == [929_589, 73_760, 82_430]
    assert int((streams["train"] == vocab["<unk>"]).sum()) == 45_020
    assert int((streams["train"] == vocab["<eos>"]).sum()) == 42_068  # one per line
