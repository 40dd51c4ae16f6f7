"""Sequential confirmation of searched edits: the early test that a class surely cannot be
stated, and a confirmation that either stops early (never stated) or equals the exhaustive one."""

from __future__ import annotations

import numpy as np

from reportgen.bias.search.confirm import confirm
from reportgen.bias.search.findings import _severity
from reportgen.bias.search.rules import ALPHA, LOOKS, Route, route, ruled_out

K = 2
M = 512


def _held(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """M held-out 'images' (M, 4, 4) whose first pixel is the model's class before any edit."""
    rng = np.random.default_rng(seed)
    preds = rng.integers(0, 7, M)
    images = np.zeros((M, 4, 4), np.float32)
    images[:, 0, 0] = preds
    images[:, 0, 1] = np.arange(M)  # the image's id, so that an edit is the same in any batch
    return images, preds


def _flips(share: float, seed: int):
    """An edit that marks a seeded share of the images (pixel [1, 1] = 1, chosen by their ids):
    a model that reads the mark calls them K."""
    chosen = np.random.default_rng(seed).random(M) < share

    def edit(x: np.ndarray) -> np.ndarray:
        out = x.copy()
        out[:, 1, 1] = chosen[x[:, 0, 1].astype(int)]
        return out
    return edit


def _reads_mark(x: np.ndarray) -> np.ndarray:
    """A model: class K where the mark is set, else the class in pixel [0, 0]."""
    return np.where(x[:, 1, 1] > 0.5, K, x[:, 0, 0]).astype(int)


def _ignores_mark(x: np.ndarray) -> np.ndarray:
    return x[:, 0, 0].astype(int)


def test_routes_follow_the_finding_rules() -> None:
    assert route(3.0, True, 0, 0.4) == Route(True, 0.4)
    assert route(1.0, True, 4, 0.4) == Route(False, 0.4)  # untransferred needs >= 2 clean models
    assert route(1.0, True, 1, 0.4) is None
    assert route(-0.5, True, 4, 0.4) is None  # larger than the median class's edit
    assert route(5.0, False, 4, 0.4) is None


def test_an_edit_that_moves_nothing_is_ruled_out_and_a_strong_one_is_not() -> None:
    _, preds = _held()
    way = Route(True, 0.4)
    untouched = preds[:LOOKS[0]]
    assert ruled_out(way, K, untouched, untouched, untouched, [], [])  # it carries nothing over
    untouched = preds[:LOOKS[1]]
    after = np.where(np.arange(LOOKS[1]) % 2 == 0, K, untouched)  # half the images go to K
    assert not ruled_out(way, K, untouched, after, untouched, [untouched], [untouched])
    # ... unless a clean model follows it further (every image to K): nothing beyond it
    assert ruled_out(way, K, untouched, after, untouched, [untouched], [np.full_like(after, K)])
    assert ruled_out(None, K, untouched, after, untouched, [], [])


def test_the_untransferred_route_is_ruled_out_when_a_clean_model_moves_too() -> None:
    _, preds = _held()
    before = preds[:LOOKS[1]]
    after = np.where(np.arange(len(before)) % 2 == 0, K, before)
    way = Route(False, 0.4)
    still = [before, before]
    assert not ruled_out(way, K, before, after, before, still, still)
    assert ruled_out(way, K, before, after, before, still, [before, after])


def test_an_edit_just_above_the_bar_is_rarely_ruled_out() -> None:
    """The early stop withholds a real finding with probability at most ALPHA: an edit sending
    3% of faces to K (the bar is 1 pp) across 300 seeded held-out samples."""
    way, stopped = Route(True, 0.04), 0
    for seed in range(300):
        rng = np.random.default_rng(seed)
        before = rng.integers(0, 7, LOOKS[1])
        after = np.where(rng.random(len(before)) < 0.03, K, before)
        stopped += any(ruled_out(way, K, before[:n], after[:n], before[:n], [], []) for n in LOOKS)
    assert stopped / 300 <= ALPHA + 0.01


def test_a_null_edit_stops_at_the_first_look_and_is_never_stated() -> None:
    images, preds = _held()
    result = confirm(_reads_mark, images, preds, K, _flips(0.0, 1), _flips(0.0, 2),
                     [_ignores_mark], seed=0, sequential=True, way=Route(True, 0.4))
    assert result.stopped and result.n_images == LOOKS[0]
    assert _severity(result, 3.0, True, 1, 0.4) is None
    assert result.to_summary()["stopped_early"] is True


def test_an_edit_that_is_not_ruled_out_gets_the_exhaustive_numbers() -> None:
    images, preds = _held()
    args = (_reads_mark, images, preds, K, _flips(0.5, 1), _flips(0.0, 2), [_ignores_mark])
    sequential = confirm(*args, seed=0, sequential=True, way=Route(True, 0.4))
    exhaustive = confirm(*args, seed=0)
    assert not sequential.stopped and sequential.n_images == exhaustive.n_images == M
    assert sequential.effect == exhaustive.effect > 30
    np.testing.assert_array_equal(sequential.effect_ci, exhaustive.effect_ci)
    np.testing.assert_array_equal(sequential.beyond_ci, exhaustive.beyond_ci)
    np.testing.assert_array_equal(sequential.examples, exhaustive.examples)
    assert _severity(sequential, 3.0, True, 1, 0.4) is _severity(exhaustive, 3.0, True, 1, 0.4)
