"""Published numbers as reference rows: test NLLs (nats per time step) of protocols.md §1 and
test perplexities of 003 Table 1 (protocols.md §3). The sentiment task has curves, not a table.

``key`` is the (model, regulariser) of rnnbench that runs the same setup, so that a paper row
is printed next to ours; None where rnnbench has no counterpart (yet).
"""
from __future__ import annotations

MUSIC_COLUMNS = ("piano-midi", "nottingham", "musedata", "jsb")


def _row(label, key, source, piano, nott, muse, jsb):
    return {"label": label, "key": key, "source": source,
            "values": dict(zip(MUSIC_COLUMNS, (piano, nott, muse, jsb)))}


PUBLISHED_NLL = [
    _row("sRNN, plain", ("srnn", "none"), "000 Table 1 (Bengio et al. 2012)", 7.58, 3.43, 6.99, 8.58),
    _row("FD-RNN", ("srnn", "fd"), "000 Table 1", 7.39, 3.09, 6.75, 8.01),
    _row("RNN-NBR (L1/L2)", ("srnn", "l2"), "001 Table 1", 7.78, 3.70, 8.62, 8.83),
    _row("RNN-N (additive noise, per step)", ("srnn", "noise-n"), "001 Table 1", 7.66, 3.56, 8.40, 8.92),
    _row("RNN-NS (additive noise, per sequence)", ("srnn", "noise-ns"), "001 Table 1", 7.74, 3.58, 8.40, 8.96),
    _row("RNN-MN (multiplicative, per step)", ("srnn", "noise-mn"), "001 Table 1", 7.71, 3.51, 8.13, 8.64),
    _row("RNN-MNS (multiplicative, per sequence)", ("srnn", "noise-mns"), "001 Table 1", 7.70, 3.50, 8.12, 8.64),
    _row("RNN-DO (DropConnect, per step)", ("srnn", "dropconnect-do"), "001 Table 1", 7.65, 3.49, 7.98, 8.48),
    _row("RNN-DOS (DropConnect, per sequence)", ("srnn", "dropconnect-dos"), "001 Table 1", 7.67, 3.57, 8.00, 8.55),
    _row("RNN-FF (feed-forward noise)", ("srnn", "noise-ff"), "001 Table 1", 7.69, 3.54, 8.10, 8.67),
    _row("sRNN (open search)", ("srnn", "none"), "002 Table 6", 7.89, None, None, 8.81),
    _row("LSTM (open search)", ("lstm", "none"), "002 Table 6", 7.50, None, None, 8.38),
    _row("FD-RNN (open search)", ("srnn", "fd"), "002 Table 6", 7.44, None, None, 8.08),
    _row("FD-LSTM (open search)", ("lstm", "fd"), "002 Table 6", 7.57, None, None, 8.04),
    _row("STORN", ("storn", "fd"), "002 Table 13", 7.13, 2.85, 6.16, 6.91),
    _row("RNN-NADE (structured output)", None, "000 Table 1", 7.05, 2.31, 5.60, 5.19),
    _row("Deep RNN", None, "000 Table 1 (Pascanu et al. 2013)", None, 2.95, 6.59, 7.92),
]


def _ppl(label, reg, medium, large):
    return [{"label": f"{label} (medium)", "key": ("lstm-2x650", reg), "source": "003 Table 1", "values": {"ptb": medium}},
            {"label": f"{label} (large)", "key": ("lstm-2x1500", reg), "source": "003 Table 1", "values": {"ptb": large}}]


PUBLISHED_PPL = [
    *_ppl("Non-regularised, early stopping", "none", 121.7, 127.4),
    *_ppl("Moon et al.", "rnndrop", 97.0, 118.7),
    *_ppl("Moon et al. + embedding dropout", "rnndrop-emb", 86.5, 86.0),
    *_ppl("Zaremba et al.", "dropout", 82.7, 78.4),
    *_ppl("Variational, tied", "variational-tied", 79.7, 75.0),
    *_ppl("Variational, tied, MC", "variational-tied (MC)", 79.0, 74.1),
    *_ppl("Variational, untied", "variational-untied", 79.7, 75.2),
    *_ppl("Variational, untied, MC", "variational-untied (MC)", 78.6, 73.4),
]

# test metric -> (reference rows, their columns)
PUBLISHED = {"test_nll": (PUBLISHED_NLL, MUSIC_COLUMNS), "test_ppl": (PUBLISHED_PPL, ("ptb",))}
