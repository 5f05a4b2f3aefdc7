"""Shared by the layer tests: the shapes every cell is checked at, and the gradient-check assertion."""
import numpy as np

from rnn.functional import softmax_cross_entropy
from rnn.gradcheck import numerical_gradient, relative_error

SHAPES = [(4, 3, 3, 3), (1, 1, 2, 3), (3, 1, 2, 2)]    # (T, B, D, H): general, T = 1 and B = 1, B = 1


def assert_gradients(loss, arrays, analytic, tol=1e-6):
    """Every analytic gradient agrees with central differences of ``loss`` (relative error < tol)."""
    for name, x in arrays.items():
        err = relative_error(analytic[name], numerical_gradient(loss, x))
        assert err < tol, f"d{name}: relative error {err:.1e}"


def masked_ce(Hs, W_hq, y, mask):
    """Loss on top of the states: mean masked cross-entropy of O = Hs W_hq; returns (loss, dHs)."""
    loss, dO = softmax_cross_entropy(Hs @ W_hq, y, mask)
    return loss, dO @ W_hq.T
