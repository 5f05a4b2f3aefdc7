"""Tests of rnn.functional and rnn.gradcheck: the pieces every layer and chapter
shares."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn.functional import log_softmax, one_hot, sigmoid, softmax, softmax_cross_entropy
from rnn.gradcheck import numerical_gradient, relative_error


def test_sigmoid_matches_formula_and_is_finite_at_extremes():
    Z = np.linspace(-30, 30, 61)
    np.testing.assert_allclose(sigmoid(Z), 1 / (1 + np.exp(-Z)), rtol=1e-12, atol=2e-16)
    out = sigmoid(np.array([-1e4, 1e4]))
    assert np.all(np.isfinite(out)) and out[0] == 0.0 and out[1] == 1.0


def test_sigmoid_keeps_float32():
    assert sigmoid(np.zeros(3, dtype=np.float32)).dtype == np.float32


@given(st.lists(st.floats(-50, 50), min_size=1, max_size=8), st.floats(-1e3, 1e3))
@settings(max_examples=50, deadline=None)
def test_softmax_sums_to_one_and_ignores_shifts(values, shift):
    o = np.array(values)
    p = softmax(o)
    assert abs(p.sum() - 1) < 1e-12
    np.testing.assert_allclose(softmax(o + shift), p, atol=1e-12)
    np.testing.assert_allclose(np.exp(log_softmax(o)), p, atol=1e-12)


def test_softmax_of_huge_logits_is_finite():
    p = softmax(np.array([1000.0, 1000.0, -1000.0]))
    np.testing.assert_allclose(p, [0.5, 0.5, 0.0])


def test_one_hot_rows_pick_the_id():
    ids = np.array([[2, 0], [1, 2]])
    out = one_hot(ids, 3)
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.argmax(-1), ids)
    np.testing.assert_array_equal(out.sum(-1), np.ones((2, 2)))


@pytest.mark.parametrize("ids, err, msg", [
    (np.array([0, 3]), ValueError, r"\[0, 3\)"),
    (np.array([-1]), ValueError, r"\[0, 3\)"),
    (np.array([0.0, 1.0]), TypeError, "integer"),
])
def test_one_hot_rejects_bad_ids(ids, err, msg):
    with pytest.raises(err, match=msg):
        one_hot(ids, 3)


def test_cross_entropy_hand_computed():
    # Two tokens, uniform logits over 4 classes: each costs log 4.
    loss, dO = softmax_cross_entropy(np.zeros((2, 4)), np.array([1, 3]))
    assert loss == pytest.approx(np.log(4))
    expected = np.full((2, 4), 0.25 / 2)
    expected[0, 1] -= 0.5
    expected[1, 3] -= 0.5
    np.testing.assert_allclose(dO, expected)


def test_cross_entropy_gradient_matches_finite_differences_with_mask():
    rng = np.random.default_rng(0)
    O = rng.normal(size=(3, 4, 5))
    y = rng.integers(0, 5, size=(3, 4))
    mask = rng.integers(0, 2, size=(3, 4))
    mask[0, 0] = 1
    _, dO = softmax_cross_entropy(O, y, mask)
    num = numerical_gradient(lambda: softmax_cross_entropy(O, y, mask)[0], O)
    assert relative_error(num, dO) < 1e-7
    # Masked positions get no gradient at all.
    assert np.all(dO[mask == 0] == 0)


def test_cross_entropy_mask_equals_dropping_tokens():
    rng = np.random.default_rng(1)
    O = rng.normal(size=(6, 3))
    y = rng.integers(0, 3, size=6)
    mask = np.array([1, 0, 1, 1, 0, 1], dtype=bool)
    masked, _ = softmax_cross_entropy(O, y, mask)
    dropped, _ = softmax_cross_entropy(O[mask], y[mask])
    assert masked == pytest.approx(dropped)


def test_cross_entropy_keeps_float32():
    _, dO = softmax_cross_entropy(np.zeros((2, 3), dtype=np.float32), np.array([0, 1]))
    assert dO.dtype == np.float32


@pytest.mark.parametrize(
    "O, y, mask, err, msg",
    [
        (
            np.zeros((2, 3)),
            np.array([0, 1, 2]),
            None,
            ValueError,
            r"shape without the class axis, \(2,\)",
        ),
        (np.zeros((2, 3)), np.array([0.0, 1.0]), None, TypeError, "integer"),
        (np.zeros((2, 3)), np.array([0, 3]), None, ValueError, r"\[0, 3\)"),
        (
            np.zeros((2, 3)),
            np.array([0, 1]),
            np.ones(3),
            ValueError,
            r"mask must have the targets' shape",
        ),
        (np.zeros((2, 3)), np.array([0, 1]), np.zeros(2), ValueError, "every token"),
    ],
)
def test_cross_entropy_rejects_bad_input(O, y, mask, err, msg):
    with pytest.raises(err, match=msg):
        softmax_cross_entropy(O, y, mask)


def test_numerical_gradient_of_a_quadratic_and_restores_x():
    x = np.array([1.0, -2.0, 3.0])
    before = x.copy()
    g = numerical_gradient(lambda: float((x**2).sum()), x)
    np.testing.assert_allclose(g, 2 * before, atol=1e-8)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda: 0.0, np.zeros(2, dtype=np.float32))


def test_relative_error_scale_and_shapes():
    assert relative_error(np.ones(3), np.ones(3)) == 0.0
    assert relative_error(np.array([1.0]), np.array([-1.0])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"shapes \(2,\) and \(3,\)"):
        relative_error(np.ones(2), np.ones(3))
