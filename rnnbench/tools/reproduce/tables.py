"""The seed tables: for each, its rows (a paper preset as rnnbench overrides, the published numbers)
and its columns (data sets, or model sizes for PTB). ``{col}`` in an override is the column.

Published numbers come from rnnbench/tools/report/paper.py (protocols.md), so there is one copy of them.
``search`` is the paper's own random search for the row (run with ``--search``), None where the
paper reports none (the word tasks, the rows of other readings).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files
from typing import Optional

from rnnbench.tools.report.paper import MUSIC_COLUMNS, PUBLISHED_NLL, PUBLISHED_PPL

MUSIC = MUSIC_COLUMNS  # piano-midi, nottingham, musedata, jsb (000 Table 1's order)


def _published(rows: list[dict], label: str) -> dict[str, float]:
    """{column: number} of the paper row called ``label`` (None values dropped)."""
    for row in rows:
        if row["label"] == label:
            return {k: v for k, v in row["values"].items() if v is not None}
    raise KeyError(label)


def _ppl(label: str) -> dict[str, float]:
    """{'medium': ..., 'large': ...} of a 003 Table 1 row."""
    return {size: _published(PUBLISHED_PPL, f"{label} ({size})")["ptb"] for size in ("medium", "large")}


@dataclass(frozen=True)
class Row:
    name: str  # the row's label in the table
    overrides: tuple[str, ...]  # the preset, as rnnbench overrides; {col} = the column
    published: dict[str, float] = field(default_factory=dict)  # column -> published number
    source: str = ""
    search: Optional[tuple[str, ...]] = None  # the paper's random search as overrides, or None
    run: Optional[str] = None  # the run folder, when another row's runs are read (MC rows); default: name
    read: Optional[str] = None  # the results.json key read; default: the table's metric
    columns: Optional[tuple[str, ...]] = None  # the columns the row can run (those with a per-set preset); None: all

    @property
    def folder(self) -> str:
        return self.run or self.name


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    metric: str  # test_nll | test_ppl | test_rmse (lower is better)
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    column_is_dataset: bool = True  # False: the column is a model size (003 Table 1), the data set is PTB


def _fd_search(n: int) -> tuple[str, ...]:
    # 000 §3.1: 32 random runs per data set over 000 Table 2 / 002 Table 1 (conf/search/random.yaml)
    # the reading of the FD-RNN row: the authors' code (protocol=breze, protocols.md §1b), except its batch order:
    # a population draws random rows (climin's contiguous blocks would need batches of different sizes at one step)
    return ("dataset={col}", "regulariser=fd", "protocol=breze", "train.batches=rows", "search=random", f"search.n={n}")


def _open_search(*extra: str) -> tuple[str, ...]:
    # 002 §2.5.2.2: 64 runs per model over 002 Table 4's uniform ranges (conf/search/open.yaml)
    return ("dataset={col}", *extra, "search=open", "search.n=64")


# 002 §2.5.2.2: "LSTM based networks used half the units ... the spectral radius for LSTM was not set"
LSTM_SPACE = ("search.space.model.hidden={low:100,high:300,int:true}", "~search.space.model.init.rho")

NOISE_ROWS = [  # 001 Table 1: label in paper.py, rnnbench preset
    ("RNN-NBR (L1/L2)", "rnn-nbr"), ("RNN-N (additive noise, per step)", "rnn-n"),
    ("RNN-NS (additive noise, per sequence)", "rnn-ns"), ("RNN-MN (multiplicative, per step)", "rnn-mn"),
    ("RNN-MNS (multiplicative, per sequence)", "rnn-mns"), ("RNN-DO (DropConnect, per step)", "rnn-do"),
    ("RNN-DOS (DropConnect, per sequence)", "rnn-dos"), ("RNN-FF (feed-forward noise)", "rnn-ff"),
]

def per_set(preset: str) -> tuple[str, ...]:
    """The music columns with a per-set preset ``<preset>-<column>`` (conf/experiment/): chosen on that set's
    validation split (001 Table 1, issue 31); the other columns are not run until theirs is chosen."""
    experiments = files("rnnbench.conf") / "experiment"
    return tuple(c for c in MUSIC if (experiments / f"{preset}-{c}.yaml").is_file())


SENTIMENT_ROWS = [
    Row(f"{cell}-{reg}", (f"experiment=sentiment-{cell}-{reg}",), source="003 §5.2 (curves only)")
    for cell in ("lstm", "gru") for reg in ("none", "dropout", "variational")
] + [
    Row(f"{cell}-variational (MC)", (f"experiment=sentiment-{cell}-variational",), source="003 §5.2 (curves only)",
        run=f"{cell}-variational", read="test_rmse_mc")
    for cell in ("lstm", "gru")
]

PTB_ROWS = [
    ("none", "ptb-none", "Non-regularised, early stopping"), ("moon", "moon", "Moon et al."),
    ("moon-emb", "moon-emb", "Moon et al. + embedding dropout"), ("zaremba", "zaremba", "Zaremba et al."),
    ("variational-tied", "variational-tied", "Variational, tied"),
    ("variational-untied", "variational-untied", "Variational, untied"),
]

TABLES = {t.name: t for t in [
    Table("000-t1", "000 Table 1: sRNN and FD-RNN on the four music sets (000 Table 3 settings)", "test_nll", MUSIC, (
        # 000 took the plain number from Bengio et al. (2012) and ran no search for it; --search runs
        # 000's own 32-run search (conf/search/random.yaml) with the plain net
        Row("srnn", ("experiment=fdrnn-{col}", "regulariser=none"), _published(PUBLISHED_NLL, "sRNN, plain"),
            "000 Table 1 (Bengio et al. 2012); ours: 000 Table 3's column without dropout",
            search=("dataset={col}", "regulariser=none", "search=random", "search.n=32")),
        Row("fd-rnn", ("experiment=fdrnn-{col}",), _published(PUBLISHED_NLL, "FD-RNN"),
            "000 Table 1 / Table 3; the authors' code as the reading (protocol=breze)", search=_fd_search(32)),
        # the same presets under the papers' equations (protocols.md §1 against §1b)
        Row("fd-rnn-paper", ("experiment=fdrnn-{col}", "protocol=paper"), _published(PUBLISHED_NLL, "FD-RNN"),
            "000 Table 1 / Table 3; the papers' math (protocol=paper)"),
        # Piano-midi's preset reads Table 3's final layer through breze's Jan-2014 code (conf/experiment/
        # fdrnn-piano-midi.yaml); this row is the literal reading, "FD for final layer = no", no read-out dropout
        Row("fd-rnn-table3-readout", ("experiment=fdrnn-{col}", "regulariser.output_rate=own", "regulariser.fd_output=false"),
            {"piano-midi": _published(PUBLISHED_NLL, "FD-RNN")["piano-midi"]},
            "000 Table 1 / Table 3; protocol=breze with Table 3's final layer as written"),
        Row("fd-rnn-paper-table3-readout", ("experiment=fdrnn-{col}", "protocol=paper", "regulariser.output_rate=own",
                                            "regulariser.fd_output=false"),
            {"piano-midi": _published(PUBLISHED_NLL, "FD-RNN")["piano-midi"]},
            "000 Table 1 / Table 3; the papers' math with Table 3's final layer as written"),
    )),
    # each row's reading and level chosen per set on validation: presets <row>-<set> (conf/experiment/), the
    # noise rows built on the set's plain row (srnn-<set>); a set without them is not run (docs/reproduction.md)
    Table("001-t1", "001 Table 1: noise and norm regularisers on the plain sRNN", "test_nll", MUSIC, (
        Row("plain-rnn", ("experiment=srnn-{col}",), _published(PUBLISHED_NLL, "sRNN, plain"),
            "001 Table 1 (= 000's plain row); chosen on validation: 000's 32-run search (MuseData: as single "
            "runs)", columns=per_set("srnn")),
    ) + tuple(
        Row(preset, (f"experiment={preset}-{{col}}",), _published(PUBLISHED_NLL, label), "001 Table 1",
            search=(f"experiment={preset}", "dataset={col}", "search=random", "search.n=50"), columns=per_set(preset))
        for label, preset in NOISE_ROWS
    )),
    Table("002-t6", "002 Table 6: sRNN, LSTM, FD-RNN, FD-LSTM (presets; --search: 002's open 64-run search)",
          "test_nll", ("piano-midi", "jsb"), (
        Row("srnn", ("dataset={col}", "model=srnn"), _published(PUBLISHED_NLL, "sRNN (open search)"), "002 Table 6",
            search=_open_search()),
        Row("lstm", ("dataset={col}", "model=lstm", "model.hidden=200"), _published(PUBLISHED_NLL, "LSTM (open search)"),
            "002 Table 6 (LSTMs use half the units)", search=_open_search("model=lstm", *LSTM_SPACE)),
        Row("fd-rnn", ("dataset={col}", "regulariser=fd"), _published(PUBLISHED_NLL, "FD-RNN (open search)"), "002 Table 6",
            # train.fuse: the FD-sRNN step 1.21x faster on the CPU at hidden 200 (docs/benchmarks.md), pooled as OPERATIONAL
            search=_open_search("regulariser=fd", "train.fuse=true")),
        # the same search under the authors' code as the reading (docs/protocols.md §1b), as 000's FD-RNN row;
        # a population draws random rows (climin's blocks cannot be batched across members); train.fuse as fd-rnn's
        # (operational: JSB's members, trained unfused before it, are reused)
        Row("fd-rnn-breze", ("dataset={col}", "regulariser=fd", "protocol=breze"),
            _published(PUBLISHED_NLL, "FD-RNN (open search)"),
            "002 Table 6; the authors' code as the reading (protocol=breze)",
            search=_open_search("regulariser=fd", "train.fuse=true", "protocol=breze", "train.batches=rows")),
        Row("fd-lstm", ("dataset={col}", "model=lstm", "model.hidden=200", "regulariser=fd"),
            _published(PUBLISHED_NLL, "FD-LSTM (open search)"), "002 Table 6",
            # train.fuse: the FD-LSTM step 2.01x faster on the CPU (docs/benchmarks.md), pooled as OPERATIONAL
            search=_open_search("model=lstm", "regulariser=fd", *LSTM_SPACE, "train.fuse=true")),
    )),
    Table("002-t13", "002 Table 13: STORN (importance-sampled test NLL)", "test_nll", MUSIC, (
        # the honest bound: log q at the variance z is drawn with, T - 1 frames, K = eval.is_samples per sequence
        # (the report appends the K its runs used to the source: cells.summarise)
        Row("storn", ("experiment=storn-{col}",), _published(PUBLISHED_NLL, "STORN"),
            "002 Table 13; the thesis read literally (protocol=paper), honest bound",
            # 002 ch. 4: 128 random-search runs per data set, space and optimiser settings not reported: a reading,
            # 002 Table 1's ranges (the FD search's, conf/search/random.yaml) around the preset, 300 units in both
            # nets as §4.4.1 (not drawn), W_out's variance drawn with W_rec's (Table 1: one σ² for both); STORN
            # members cannot be batched, so each trains alone (config/batching.py)
            search=("experiment=storn-{col}", "search=random", "search.n=128", "search.space.model.hidden=[300]",
                    "model.init.var_out=${model.init.var_rec}")),
        # the same runs through breze's estimate_nll (K = 10; one log-sum-exp over all sequences, log q at
        # var + 1e-4; the first frame too where the layout predicts it): how much of the published number
        # the estimator accounts for
        Row("storn (breze estimator)", ("experiment=storn-{col}",), _published(PUBLISHED_NLL, "STORN"),
            "002 Table 13; breze's estimate_nll on the same runs", run="storn", read="test_nll_breze"),
        # the authors' code as the reading: breze's StochasticRnn (generator reads h^rec_{t-1}, FD variance
        # of q, learned recognition rates, breze's FD and layout)
        Row("storn-breze", ("experiment=storn-{col}", "protocol=breze-storn"), _published(PUBLISHED_NLL, "STORN"),
            "002 Table 13; the authors' code as the reading (protocol=breze-storn), honest bound"),
        Row("storn-breze (breze estimator)", ("experiment=storn-{col}", "protocol=breze-storn"),
            _published(PUBLISHED_NLL, "STORN"), "002 Table 13; breze's reading and its estimate_nll",
            run="storn-breze", read="test_nll_breze"),
    )),
    Table("003-t1", "003 Table 1: LSTM language models on PTB (test perplexity)", "test_ppl", ("medium", "large"), tuple(
        [Row(name, (f"experiment={preset}-{{col}}",), _ppl(label), "003 Table 1") for name, preset, label in PTB_ROWS]
        + [Row(f"{name} (MC)", (f"experiment={name}-{{col}}", "eval.mc_samples=1000"), _ppl(f"{label}, MC"),
               "003 Table 1", run=name, read="test_ppl_mc")
           for name, label in (("variational-tied", "Variational, tied"), ("variational-untied", "Variational, untied"))]
    ), column_is_dataset=False),
    Table("003-sentiment", "003 §5.2: sentiment regression (test RMSE on the [0, 1] scale)", "test_rmse",
          ("sentiment",), tuple(SENTIMENT_ROWS)),
    Table("zaremba-small", "Zaremba et al. (2014) small: 2 x 200 LSTM on PTB (test perplexity)", "test_ppl", ("ptb",), (
        Row("zaremba-small", ("experiment=zaremba-small",), {"ptb": 114.5}, "Zaremba et al. 2014, Table 1 (valid 120.7)"),
    )),
]}


def published_cell(experiment: str, dataset: str) -> Optional[tuple[float, str]]:
    """(published number, where) of the seed-table cell a preset reproduces: the row whose only override is
    ``experiment=<preset>`` for a column (a data set, or a PTB size); None where no table holds it."""
    for table in TABLES.values():
        for row in table.rows:
            if row.read is not None or len(row.overrides) != 1:
                continue  # a row that reads another row's runs, or a preset with overrides of its own
            for col in table.columns:
                if row.overrides[0].replace("{col}", col) == f"experiment={experiment}" and col in row.published:
                    if table.column_is_dataset and col != dataset:
                        continue
                    return row.published[col], row.source.split(";")[0].strip()
    return None
