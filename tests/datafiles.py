"""Small data roots written on the fly (no download): a PTB-shaped corpus and Pang & Lee-shaped
scale data. Used by the fixtures of tests/conftest.py and by tests/engine_reference.py."""
from __future__ import annotations

import random
from pathlib import Path

from rnnbench.data.sentiment import CRITICS

WORDS = "the a cat dog sat ran on under mat log <unk> quickly".split()


def write_tiny_ptb(root: Path) -> Path:
    """A data root with ptb/ptb.{train,valid,test}.txt in Mikolov's format (' w1 ... wn \\n')."""
    rng = random.Random(0)
    (root / "ptb").mkdir(parents=True)
    for split, lines in (("train", 300), ("valid", 40), ("test", 40)):
        # a small grammar: det noun verb [prep det noun] [adverb], so the next word is predictable
        def sentence():
            words = [rng.choice("the a".split()), rng.choice("cat dog".split()), rng.choice("sat ran".split())]
            if rng.random() < 0.7:
                words += [rng.choice("on under".split()), "the", rng.choice("mat log".split())]
            return words + (["quickly"] if rng.random() < 0.3 else [])
        text = "".join(" " + " ".join(sentence()) + " \n" for _ in range(lines))
        if split == "train":
            text += " " + " ".join(WORDS) + " \n"  # every word type occurs in train
        (root / "ptb" / f"ptb.{split}.txt").write_text(text)
    return root


def write_tiny_scale(root: Path) -> Path:
    """A data root with sentiment/scaledata/<critic>/{subj,rating}.<critic> of 12 reviews each."""
    rng = random.Random(0)
    vocab = "good bad great awful film plot acting dull fine".split()
    for critic in CRITICS:
        d = root / "sentiment" / "scaledata" / critic
        d.mkdir(parents=True)
        reviews = [" ".join(rng.choice(vocab) for _ in range(rng.randint(5, 30))) for _ in range(12)]
        (d / f"subj.{critic}").write_text("".join(r + "\n" for r in reviews))
        (d / f"rating.{critic}").write_text("".join(f"{rng.random():.2f}\n" for _ in reviews))
    return root
