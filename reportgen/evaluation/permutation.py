"""Does the confusion matrix look like labels in another class order than the model's?

Labels numbered in another order (FER2013 folders numbered alphabetically: ``neutral`` 4, ``sad``
5, ``surprise`` 6 where FER2013 has ``sad`` 4, ``surprise`` 5, ``neutral`` 6) do not show as a
model that is merely poor: each relabelled class is predicted mostly as one *other* class, and
those classes form cycles (sad → neutral → surprise → sad). A poor model confuses classes too,
but towards a few common ones (disgust as angry, everything as happy), not one-to-one in a cycle.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MIN_SHARE = 0.40  # of a class's images predicted as the one other class
MIN_RATIO = 2.0  # times the share predicted correctly
MIN_SUPPORT = 5  # images of the class; fewer say nothing


def permuted_cycles(confusion: np.ndarray) -> list[list[int]]:
    """The cycles of classes each predicted mostly as the next one, one-to-one.

    confusion: (K, K) counts, rows true classes, columns predicted. Class i points to j when j ≠ i
    takes at least ``MIN_SHARE`` of i's images and ``MIN_RATIO`` times i's own share, and no
    other class points to j. Each cycle lists its classes in order, e.g. [[4, 6, 5]].
    """
    counts = np.asarray(confusion, dtype=np.float64)
    support = counts.sum(axis=1)
    points: dict[int, int] = {}
    for i, row in enumerate(counts):
        if support[i] < MIN_SUPPORT:
            continue
        others = row.copy()
        others[i] = -1
        j = int(others.argmax())
        if row[j] >= MIN_SHARE * support[i] and row[j] >= MIN_RATIO * row[i]:
            points[i] = j
    targets = list(points.values())
    one_to_one = {i: j for i, j in points.items() if targets.count(j) == 1}
    cycles, seen = [], set()
    for start in sorted(one_to_one):
        path, node = [], start
        while node in one_to_one and node not in path and node not in seen:
            path.append(node)
            node = one_to_one[node]
        seen.update(path)
        if node in path:
            cycles.append(path[path.index(node):])
    return cycles


def permutation_note(confusion: np.ndarray, class_names: Sequence[str]) -> str | None:
    """A note for the report when ``permuted_cycles`` finds any, else None."""
    cycles = permuted_cycles(confusion)
    if not cycles:
        return None
    counts = np.asarray(confusion)
    parts = []
    for cycle in cycles:
        for k, i in enumerate(cycle):
            j = cycle[(k + 1) % len(cycle)]
            share = counts[i, j] / max(counts[i].sum(), 1)
            parts.append(f"{share:.0%} of '{class_names[i]}' predicted '{class_names[j]}'")
    return ("The confusion matrix looks like labels in another class order than the model's: "
            + "; ".join(parts) + ". Check that the labels number the classes as the model's "
            f"outputs do ({', '.join(f'{k} {n}' for k, n in enumerate(class_names))}), and "
            "renumber them if not.")
