import hashlib
import pickle
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest

from rnnbench.data import fetch
from rnnbench.data.music import load_music
from rnnbench.data.sources import sha256_table, urls
from rnnbench.errors import DataError
from tests.conftest import JSB, needs_data, real_data_root

JSB_URL = "http://www-etud.iro.umontreal.ca/~boulanni/JSB%20Chorales.pickle"


def _no_network(*args, **kwargs):
    raise urllib.error.URLError("network is unreachable")


def test_shipped_table_matches_shared_sums():
    table = sha256_table()
    assert table[JSB] == "69dc4c3e52800959ac0ab3b82aa3e5f55285ce64f1705acb3e3a8ef77a5c051c"
    assert len(table) == 28 and all(len(v) == 64 for v in table.values())
    assert urls(JSB)[0] == JSB_URL


def test_root_from_config_then_env_then_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNBENCH_DATA", str(tmp_path / "env"))
    assert fetch.data_root(tmp_path / "cfg") == (tmp_path / "cfg").resolve()
    assert fetch.data_root(None) == (tmp_path / "env").resolve()
    monkeypatch.delenv("RNNBENCH_DATA")
    assert "rnnbench" in str(fetch.data_root(None))


def test_checksum_mismatch_names_file_root_address_and_fix(tmp_path):
    path = tmp_path / JSB
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not the chorales")
    with pytest.raises(DataError) as e:
        fetch.ensure_file(JSB, tmp_path)
    msg = str(e.value)
    for part in ["checksum mismatch", JSB, str(tmp_path), "69dc4c3e", JSB_URL, "Fix:", "16 bytes"]:
        assert part in msg


def test_missing_file_without_download_never_touches_network(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("network used"))
    with pytest.raises(DataError, match=r"not in data root .* and data.download=false\. Fix: put the file at"):
        fetch.ensure_file(JSB, tmp_path, download=False)


def test_missing_file_and_no_network_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", _no_network)
    with pytest.raises(DataError) as e:
        fetch.ensure_file(JSB, tmp_path)
    msg = str(e.value)
    assert "could not download" in msg and JSB_URL in msg and "network is unreachable" in msg
    assert "data.download=false" in msg and str(tmp_path) in msg
    assert not list(tmp_path.rglob("*.part")), "no partial file may be left behind"


def test_download_is_verified_and_atomic(tmp_path, monkeypatch):
    good = pickle.dumps({"train": [[(60,), (62,)]], "valid": [[(60,), (64,)]], "test": [[(67,), (60,)]]}, protocol=2)
    src = tmp_path / "mirror.pickle"
    src.write_bytes(good)
    bad = tmp_path / "bad.pickle"
    bad.write_bytes(good[:-3])
    rel = "music/Tiny.pickle"
    monkeypatch.setattr(fetch, "urls", lambda r: [bad.as_uri(), src.as_uri()])
    monkeypatch.setattr(fetch, "sha256_table", lambda: {rel: hashlib.sha256(good).hexdigest()})
    root = tmp_path / "root"
    path = fetch.ensure_file(rel, root)  # the first mirror fails its checksum, the second is taken
    assert path.read_bytes() == good
    assert sorted(p.name for p in path.parent.iterdir()) == ["Tiny.pickle"]


@needs_data
def test_truncated_real_file_is_a_clear_error(tmp_path):
    src = real_data_root() / JSB
    path = tmp_path / JSB
    path.parent.mkdir(parents=True)
    path.write_bytes(src.read_bytes()[:100_000])
    with pytest.raises(DataError, match=r"checksum mismatch .* \(100,000 bytes; a truncated or edited file\?"):
        fetch.ensure_file(JSB, tmp_path)
    cfg = SimpleNamespace(file=JSB)
    with pytest.raises(DataError, match=r"JSB Chorales.pickle is corrupt or truncated"):
        load_music(cfg, SimpleNamespace(root=str(tmp_path), download=False, verify=False))


@needs_data
def test_real_jsb_split_sizes():
    splits = load_music(SimpleNamespace(file=JSB), SimpleNamespace(root=str(real_data_root()), download=False, verify=True))
    assert [len(splits[s]) for s in ("train", "valid", "test")] == [229, 76, 77]
    # PROVENANCE.md: time steps 13,807 / 4,602 / 4,725; note events 53,824 / 17,811 / 18,367
    assert [sum(len(x) for x in splits[s]) for s in ("train", "valid", "test")] == [13807, 4602, 4725]
    assert [sum(int(x.sum()) for x in splits[s]) for s in ("train", "valid", "test")] == [53824, 17811, 18367]
    assert sum(int((x.sum(1) == 0).sum()) for x in splits["train"]) == 18  # empty (silent) steps


def test_a_failed_download_leaves_no_empty_folder(tmp_path, monkeypatch):
    # issue 32: data.download=true without network made sentiment/scaledata/<critic>/ and left it empty
    monkeypatch.setattr(urllib.request, "urlopen", _no_network)
    rel = "sentiment/scaledata/Dennis+Schwartz/subj.Dennis+Schwartz"
    with pytest.raises(DataError, match="could not download"):
        fetch.ensure_file(rel, tmp_path, download=True, check=True)
    assert list(tmp_path.iterdir()) == []  # the data root as it was
