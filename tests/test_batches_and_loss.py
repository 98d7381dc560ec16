import math

import torch

from rnnbench.data.batches import chunk, make_split
from rnnbench.metrics import evaluate, frame_nll, masked_nll_sum
from rnnbench.models import build_model
from tests.conftest import compose_cfg


def _roll(T, D=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(T, D, generator=g) < 0.5).to(torch.uint8)


def test_chunking_keeps_every_frame_in_order():
    seqs = [_roll(250, seed=1), _roll(40, seed=2)]
    pieces, owners = chunk(seqs, 100)
    assert [len(p) for p in pieces] == [100, 100, 50, 40] and owners == [0, 0, 0, 1]
    assert torch.equal(torch.cat(pieces[:3]), seqs[0])


def test_front_padding_layout_and_mask():
    a = _roll(4, seed=3)  # frames a b c d, chunk length 6 -> two steps of padding
    split = make_split([a], predict_first=False, chunk_len=6)
    assert split.inputs.shape == (1, 5, 3)  # chunk_len - 1 step pairs
    assert split.loss_mask.tolist() == [[False, False, True, True, True]]
    assert torch.equal(split.inputs[0, 2:], a[:3]) and torch.equal(split.targets[0, 2:], a[1:])
    assert split.inputs[0, :2].sum() == 0 and split.n_frames == 3  # T - 1 predicted frames
    first = make_split([a], predict_first=True, chunk_len=6)
    assert first.n_frames == 4 and first.inputs.shape == (1, 6, 3)
    assert first.inputs[0, 2].sum() == 0 and torch.equal(first.targets[0, 2:], a)  # x_1 from the zero input


def test_one_frame_remainder_chunk_is_dropped():
    split = make_split([_roll(101)], predict_first=False, chunk_len=100)
    assert len(split) == 1 and split.n_frames == 99


def test_test_split_pads_at_the_end_and_counts_frames():
    split = make_split([_roll(5), _roll(3, seed=4)], predict_first=False, chunk_len=None)
    assert split.loss_mask.tolist() == [[True] * 4, [True, True, False, False]]
    assert split.n_frames == 6 and split.lengths.tolist() == [4, 2]


def test_nll_normalisation_hand_computed():
    # Two frames of 2 notes, logits 0 (p = 0.5): every note costs log 2, a frame 2 log 2.
    logits = torch.zeros(1, 3, 2, dtype=torch.float64)
    targets = torch.tensor([[[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]]], dtype=torch.float64)
    mask = torch.tensor([[True, False, True]])
    assert torch.allclose(frame_nll(logits, targets), torch.full((1, 3), 2 * math.log(2), dtype=torch.float64))
    assert math.isclose(float(masked_nll_sum(logits, targets, mask)), 4 * math.log(2))
    # p = sigma(2) for a note that is on, 1 - sigma(2) for one that is off
    logits = torch.full((1, 1, 2), 2.0, dtype=torch.float64)
    targets = torch.tensor([[[1.0, 0.0]]], dtype=torch.float64)
    expected = -math.log(1 / (1 + math.exp(-2))) - math.log(1 - 1 / (1 + math.exp(-2)))
    assert math.isclose(float(frame_nll(logits, targets)), expected, rel_tol=1e-12)


def test_padded_steps_add_exactly_zero_loss_and_gradient():
    torch.manual_seed(0)
    model = build_model(compose_cfg("model.hidden=8").model, 88, 88).double()
    split = make_split([_roll(7, 88, 5), _roll(3, 88, 6)], predict_first=False, chunk_len=None)
    inputs, targets, mask, _ = split.rows(torch.arange(2), torch.float64)

    def loss_and_grads(targets):
        model.zero_grad()
        loss = masked_nll_sum(model(inputs), targets, mask)
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in model.parameters()]

    loss, grads = loss_and_grads(targets)
    garbage = targets.clone()
    garbage[~mask] = 1.0  # change every padded target
    loss2, grads2 = loss_and_grads(garbage)
    assert loss == loss2 and all(torch.equal(g, h) for g, h in zip(grads, grads2))
    # and the padded row's loss equals the loss of the sequence alone
    alone = make_split([_roll(3, 88, 6)], predict_first=False, chunk_len=None)
    i2, t2, m2, _ = alone.rows(torch.arange(1), torch.float64)
    per_row = torch.where(mask, frame_nll(model(inputs), targets), 0.0).sum(1)
    assert torch.allclose(per_row[1], masked_nll_sum(model(i2), t2, m2), rtol=0, atol=1e-12)


def test_hold_padding_equals_the_unpadded_chunk():
    torch.manual_seed(0)
    cfg = compose_cfg("model.hidden=8", "model.init.var_out=1.0", "model.init.var_in=1.0", "model.init.bias_hidden=0.5")
    model = build_model(cfg.model, 88, 88).double()
    short = _roll(30, 88, 7)
    padded = make_split([short], predict_first=False, chunk_len=100)
    alone = make_split([short], predict_first=False, chunk_len=30)
    held = evaluate(model, padded, 4, torch.float64, use_step_mask=True)
    ref = evaluate(model, alone, 4, torch.float64)
    read_zeros = evaluate(model, padded, 4, torch.float64, use_step_mask=False)
    assert held.frames == ref.frames == 29
    assert math.isclose(held.total, ref.total, rel_tol=1e-12)
    assert not math.isclose(read_zeros.total, ref.total, rel_tol=1e-6)  # 000's zeros are seen by the net


def test_frame_weighted_vs_per_sequence_mean():
    model = build_model(compose_cfg("model.hidden=4").model, 88, 88).double()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()  # every note has p = 0.5: each frame costs 88 log 2 whatever the data
    split = make_split([_roll(11, 88), _roll(3, 88)], predict_first=False, chunk_len=None)
    nll = evaluate(model, split, 1, torch.float64)
    assert nll.frames == 12 and math.isclose(nll.nll, 88 * math.log(2)) and math.isclose(nll.nll_seq_mean, 88 * math.log(2))


def test_valid_whole_validates_on_the_whole_sequences_as_the_test():
    """dataset.valid_whole (issue 31): the validation split is made as the test split (no chunks), and the
    default keeps 000 §3.1's chunks; train and test are the same either way."""
    from rnnbench.tasks.music import build_splits

    rolls = {k: [_roll(250, D=88, seed=s), _roll(40, D=88, seed=s + 1)] for s, k in enumerate(("train", "valid", "test"))}
    chunked = build_splits(rolls, compose_cfg("dataset=synthetic", "dataset.chunk_len=100").dataset, torch.device("cpu"))
    whole = build_splits(rolls, compose_cfg("dataset=synthetic", "dataset.chunk_len=100", "dataset.valid_whole=true").dataset, torch.device("cpu"))
    assert len(chunked["valid"]) == 4 and len(whole["valid"]) == 2  # 250 -> 100 + 100 + 50, 40; or two sequences
    assert whole["valid"].n_frames == chunked["valid"].n_frames + 2  # each cut costs its first frame's prediction
    assert whole["valid"].inputs.shape[1] == 249
    for name in ("train", "test"):
        assert torch.equal(whole[name].inputs, chunked[name].inputs) and torch.equal(whole[name].loss_mask, chunked[name].loss_mask)
    again = make_split(rolls["valid"], predict_first=False, chunk_len=None)
    assert torch.equal(whole["valid"].inputs, again.inputs) and torch.equal(whole["valid"].targets, again.targets)
