"""Labels numbered in another class order than the model's show as cycles in the confusion
matrix; a merely poor model's confusions do not."""

from __future__ import annotations

import numpy as np

from reportgen.evaluation.permutation import permutation_note, permuted_cycles
from reportgen.loading.dataset import FER2013_CLASSES


def confusion(recall: float = 0.6, support: int = 50, seed: int = 0) -> np.ndarray:
    """Rows true, columns predicted: each class right ``recall`` of the time, the rest spread."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(7):
        p = np.full(7, (1 - recall) / 6)
        p[k] = recall
        rows.append(rng.multinomial(support, p))
    return np.array(rows)


def relabel(matrix: np.ndarray, new_index: np.ndarray) -> np.ndarray:
    """The matrix when true class t is labelled ``new_index[t]`` (predictions unchanged)."""
    moved = np.zeros_like(matrix)
    moved[new_index] = matrix
    return moved


def test_a_fair_model_and_a_constant_one_are_not_permutations():
    assert permuted_cycles(confusion()) == []
    constant = np.zeros((7, 7), int)
    constant[:, 3] = 50  # everything "happy": many classes point at one, not one-to-one
    assert permuted_cycles(constant) == []
    sink = confusion()
    sink[1] = [40, 5, 0, 0, 0, 0, 5]  # disgust mostly predicted angry: a confusion, no cycle
    assert permuted_cycles(sink) == []


def test_alphabetical_numbering_is_found_and_named():
    alphabetical = np.argsort(np.argsort(FER2013_CLASSES))  # neutral 4, sad 5, surprise 6
    moved = relabel(confusion(), alphabetical)
    assert permuted_cycles(moved) == [[4, 6, 5]]
    note = permutation_note(moved, FER2013_CLASSES)
    assert "of 'sad' predicted 'neutral'" in note and "of 'surprise' predicted 'sad'" in note
    assert "0 angry, 1 disgust" in note and permutation_note(confusion(), FER2013_CLASSES) is None


def test_a_swap_and_a_full_shift_are_found_but_tiny_classes_say_nothing():
    swap = np.arange(7)
    swap[[2, 4]] = [4, 2]
    assert permuted_cycles(relabel(confusion(), swap)) == [[2, 4]]
    shifted = (np.arange(7) + 1) % 7
    assert sorted(permuted_cycles(relabel(confusion(), shifted))[0]) == list(range(7))
    assert permuted_cycles(relabel(confusion(support=4), swap)) == []  # under MIN_SUPPORT
