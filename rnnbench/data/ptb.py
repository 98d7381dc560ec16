"""Penn Treebank, Mikolov's preprocessing (protocols.md §3; 003 §5.1; Zaremba et al. 2014).

Three text files, one sentence per line, 10k vocabulary with ``<unk>`` already in the text; an
``<eos>`` token ends every line. The vocabulary is built from the training file, most frequent
word first (ties alphabetically), as in Zaremba et al.'s reader.
"""
from __future__ import annotations

from collections import Counter

import torch

from rnnbench.data.fetch import data_root, ensure_file
from rnnbench.data.text import read_text
from rnnbench.errors import DataError

FILES = {split: f"ptb/ptb.{split}.txt" for split in ("train", "valid", "test")}
EOS = "<eos>"


def tokenize(text: str) -> list[str]:
    """Words of every line followed by ``<eos>`` (lines are ' w1 w2 ... wn \\n')."""
    return [w for line in text.splitlines() for w in (*line.split(), EOS)]


def build_vocab(tokens: list[str]) -> dict[str, int]:
    counts = Counter(tokens)
    return {w: i for i, (w, _) in enumerate(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))}


def encode(tokens: list[str], vocab: dict[str, int], source: str) -> torch.Tensor:
    unknown = sorted(set(tokens) - vocab.keys())
    if unknown:
        raise DataError(f"{source} has {len(unknown)} word types outside the training vocabulary "
                        f"(e.g. {unknown[:3]}); is it Mikolov's preprocessed PTB?")
    return torch.tensor([vocab[w] for w in tokens], dtype=torch.long)


def load_ptb(data_cfg) -> tuple[dict[str, int], dict[str, torch.Tensor]]:
    """(vocabulary, {split: 1-D LongTensor stream of word ids}), fetching the files if needed."""
    root = data_root(data_cfg.root)
    tokens = {}
    for split, rel in FILES.items():
        path = ensure_file(rel, root, download=data_cfg.download, check=data_cfg.verify)
        text = read_text(path, "utf-8", f"replace it with Mikolov's ptb.{split}.txt, or delete it to download it anew")
        tokens[split] = tokenize(text)
        if not any(w != EOS for w in tokens[split]):
            raise DataError(f"{path} holds no words; replace it with Mikolov's ptb.{split}.txt, or delete it to "
                            "download it anew")
    vocab = build_vocab(tokens["train"])
    return vocab, {split: encode(toks, vocab, str(root / FILES[split])) for split, toks in tokens.items()}


def batchify(stream: torch.Tensor, batch: int) -> torch.Tensor:
    """Cut a token stream into ``batch`` contiguous streams, one per row (the tail that does not
    fill a column is dropped). For the alphabet as stream and batch = 4:

        a b c d e f            row 0 continues in row 0 of the next BPTT window, so the
        g h i j k l            hidden state of row b carries from one window to the next
        m n o p q r
        s t u v w x            (y, z dropped)
    """
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    n = stream.numel() // batch
    if n < 2:
        raise DataError(f"a stream of {stream.numel()} tokens is too short for {batch} parallel streams")
    return stream[: n * batch].view(batch, n)  # (batch, n)


def bptt_windows(data: torch.Tensor, bptt: int):
    """(inputs, targets) windows of ``bptt`` steps over batchified data (B, N): targets are the
    inputs shifted by one; the last window may be shorter."""
    for start in range(0, data.shape[1] - 1, bptt):
        end = min(start + bptt, data.shape[1] - 1)
        yield data[:, start:end], data[:, start + 1 : end + 1]
