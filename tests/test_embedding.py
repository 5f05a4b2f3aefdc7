"""Tests for rnn.embedding: lookup = one-hot × E, backward = one_hotᵀ dX, gradient
check, validation."""

import numpy as np
import pytest

from rnn.embedding import embedding_backward, embedding_forward, init_embedding
from rnn.functional import one_hot
from rnn.gradcheck import numerical_gradient, relative_error


def test_init_shape_dtype_and_scale():
    rng = np.random.default_rng(0)
    E = init_embedding(2000, 16, rng)
    assert E.shape == (2000, 16) and E.dtype == np.float32
    assert abs(E.std() - 1 / np.sqrt(16)) < 0.01
    assert (
        init_embedding(3, 2, np.random.default_rng(0), dtype=np.float64).dtype
        == np.float64
    )


def test_init_is_reproducible():
    a = init_embedding(5, 3, np.random.default_rng(7))
    b = init_embedding(5, 3, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shape", [(), (4,), (3, 5), (2, 3, 4)])
def test_forward_equals_one_hot_times_E(shape):
    rng = np.random.default_rng(1)
    V, D = 7, 3
    E = rng.standard_normal((V, D))
    ids = rng.integers(0, V, size=shape)
    X = embedding_forward(E, ids)
    assert X.shape == shape + (D,)
    np.testing.assert_allclose(X, one_hot(ids, V) @ E, atol=1e-12)


def test_forward_keeps_dtype():
    E = np.ones((4, 2), dtype=np.float32)
    assert embedding_forward(E, np.array([0, 3])).dtype == np.float32


def test_backward_equals_one_hot_transpose_dX():
    rng = np.random.default_rng(2)
    V, D = 6, 4
    ids = rng.integers(0, V, size=(5, 3))
    dX = rng.standard_normal((5, 3, D))
    dE = embedding_backward(dX, ids, V)
    expected = one_hot(ids, V).reshape(-1, V).T @ dX.reshape(-1, D)
    np.testing.assert_allclose(dE, expected, atol=1e-12)


def test_backward_accumulates_repeated_ids():
    ids = np.array([2, 2, 2, 0])
    dX = np.ones((4, 3))
    dE = embedding_backward(dX, ids, 4)
    np.testing.assert_array_equal(dE[:, 0], [1, 0, 3, 0])


def test_backward_preserves_dtype():
    dX = np.ones((2, 3), dtype=np.float32)
    assert embedding_backward(dX, np.array([0, 1]), 5).dtype == np.float32


def test_gradient_check():
    rng = np.random.default_rng(3)
    V, D = 5, 3
    E = rng.standard_normal((V, D))
    ids = np.array([[0, 4, 4], [1, 4, 0]])
    G = rng.standard_normal((2, 3, D))  # L = Σ G ⊙ X, so ∂L/∂X = G

    def loss():
        return float((G * embedding_forward(E, ids)).sum())

    num = numerical_gradient(loss, E)
    assert relative_error(num, embedding_backward(G, ids, V)) < 1e-7


def test_float_ids_raise_type_error():
    with pytest.raises(TypeError, match="integer"):
        embedding_forward(np.zeros((3, 2)), np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match="integer"):
        embedding_backward(np.zeros((2, 2)), np.array([0.0, 1.0]), 3)


def test_out_of_range_ids_raise_value_error():
    with pytest.raises(ValueError, match=r"\[0, 3\).*5"):
        embedding_forward(np.zeros((3, 2)), np.array([0, 5]))
    with pytest.raises(ValueError, match=r"\[0, 3\).*-1"):
        embedding_forward(np.zeros((3, 2)), np.array([-1, 0]))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        embedding_backward(np.zeros((1, 2)), np.array([3]), 3)


def test_E_must_be_2d():
    with pytest.raises(ValueError, match=r"\(V, D\)"):
        embedding_forward(np.zeros(3), np.array([0]))


def test_backward_shape_mismatch():
    with pytest.raises(ValueError, match="dX must have shape"):
        embedding_backward(np.zeros((3, 2)), np.array([0, 1]), 4)


@pytest.mark.parametrize(
    "args, error, message",
    [
        pytest.param((0, 3, 0), ValueError, r"V must be an integer ≥ 1", id="V = 0"),
        pytest.param((5, 2.0, 0), ValueError, r"D must be an integer ≥ 1", id="float D"),
        pytest.param((5, 3, "seed"), TypeError, r"rng must be an int seed or a numpy",
                     id="rng a str"),
        pytest.param((5, 3, 0, np.int32), TypeError, r"dtype must be a floating type",
                     id="integer dtype"),
    ],
)
def test_init_embedding_rejects_bad_arguments(args, error, message):
    with pytest.raises(error, match=message):
        init_embedding(*args)


def test_init_embedding_takes_an_int_seed():
    by_seed = init_embedding(5, 3, 7)
    assert np.array_equal(by_seed, init_embedding(5, 3, np.random.default_rng(7)))
