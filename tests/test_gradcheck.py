"""Tests for rnn.gradcheck: central differences on known functions, and bad
arguments."""
import numpy as np
import pytest

from rnn.gradcheck import numerical_gradient, relative_error


def test_central_differences_of_a_known_function():
    x = np.array([[0.5, -1.0], [2.0, 0.25]])
    num = numerical_gradient(lambda: float(np.sum(np.sin(x)) + np.sum(x**3)), x)
    assert relative_error(num, np.cos(x) + 3 * x**2) < 1e-8
    np.testing.assert_array_equal(x, [[0.5, -1.0], [2.0, 0.25]])   # restored exactly


def test_x_is_restored_when_f_raises():
    x = np.array([1.0, 2.0])

    def f():
        if x[0] != 1.0:
            raise RuntimeError("boom")
        return 0.0

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(f, x)
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_relative_error_is_zero_for_equal_and_about_one_for_unrelated():
    a = np.array([1.0, -2.0])
    assert relative_error(a, a.copy()) == 0.0
    assert relative_error(a, -a) == pytest.approx(1.0)
    assert relative_error(np.zeros(0), np.zeros(0)) == 0.0


X = np.ones(2)

GRADCHECK_CASES = [
    # (id, call, error, message)
    ("f returns a tuple", lambda: numerical_gradient(lambda: (1.0, {}), X.copy()),
     TypeError,
     r"f must return one number \(the loss\); got tuple.*lambda: f\(\)\[0\]"),
    ("f returns an array", lambda: numerical_gradient(lambda: np.ones(2), X.copy()),
     TypeError, r"f must return one number .*got an array of shape \(2,\)"),
    ("f not callable", lambda: numerical_gradient(3.0, X.copy()), TypeError,
     r"f must be a function of no arguments"),
    ("x a list", lambda: numerical_gradient(lambda: 1.0, [1.0, 2.0]), TypeError,
     r"x must be the float64 numpy array that f reads.*got list"),
    ("x float32", lambda: numerical_gradient(lambda: 1.0, X.astype(np.float32)),
     TypeError,
     r"gradient checks need a float64 array; got float32"),
    ("x read-only", lambda: numerical_gradient(lambda: 1.0, np.broadcast_to(X, (2,))),
     ValueError, r"x must be writeable"),
    ("eps 0", lambda: numerical_gradient(lambda: 1.0, X.copy(), eps=0), ValueError,
     r"eps must be a positive finite number"),
    ("shapes differ", lambda: relative_error(np.ones(2), np.ones(3)), ValueError,
     r"cannot compare gradients of shapes \(2,\) and \(3,\)"),
    ("not numbers", lambda: relative_error("a", np.ones(1)), TypeError,
     r"relative_error compares two numeric arrays"),
]


@pytest.mark.parametrize("call, error, message", [c[1:] for c in GRADCHECK_CASES],
                         ids=[c[0] for c in GRADCHECK_CASES])
def test_bad_arguments_raise(call, error, message):
    with pytest.raises(error, match=message):
        call()
