import pytest
import torch

from rnnbench.data.pianoroll import N_NOTES, from_pianoroll, to_pianoroll
from rnnbench.errors import DataError


def test_hand_made_sequence_to_roll():
    seq = [(21, 60), (), [108], (60, 64, 67)]
    roll = to_pianoroll(seq)
    assert roll.shape == (4, 88) and N_NOTES == 88 and roll.dtype == torch.uint8
    expected = torch.zeros(4, 88, dtype=torch.uint8)
    expected[0, 0] = expected[0, 39] = 1  # A0 is column 0, middle C (60) column 39
    expected[2, 87] = 1  # C8 is the last column
    expected[3, [39, 43, 46]] = 1
    assert torch.equal(roll, expected)
    assert from_pianoroll(roll) == [(21, 60), (), (108,), (60, 64, 67)]


def test_numpy_int64_notes_are_accepted():
    np = pytest.importorskip("numpy")
    roll = to_pianoroll([(np.int64(43), np.int64(96))])
    assert roll[0].nonzero().flatten().tolist() == [22, 75]


@pytest.mark.parametrize("note", [20, 109])
def test_note_outside_piano_is_an_error(note):
    with pytest.raises(DataError, match=f"note {note} at step 1 is outside the piano range 21..108"):
        to_pianoroll([(60,), (note,)])
