"""Tests for rnn.optim: global-norm clipping, SGD and Adam."""
import numpy as np
import pytest

from rnn.optim import SGD, Adam, clip_grad_norm, global_norm


def _grads(dtype=np.float64):
    return {"W": np.array([[3.0, 0.0], [0.0, 0.0]], dtype=dtype),
            "b": np.array([4.0], dtype=dtype)}


def test_clip_above_threshold_rescales_to_theta():
    g = _grads()
    norm = clip_grad_norm(g, theta=1.0)
    assert norm == pytest.approx(5.0)  # sqrt(3² + 4²), measured before clipping
    np.testing.assert_allclose(g["W"], [[0.6, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(g["b"], [0.8])
    assert global_norm(g) == pytest.approx(1.0)


def test_clip_below_threshold_leaves_grads_unchanged():
    g = _grads()
    norm = clip_grad_norm(g, theta=10.0)
    assert norm == pytest.approx(5.0)
    np.testing.assert_array_equal(g["W"], _grads()["W"])
    np.testing.assert_array_equal(g["b"], _grads()["b"])


def test_clip_keeps_dtype_and_validates():
    g = _grads(np.float32)
    clip_grad_norm(g, 1.0)
    assert g["W"].dtype == np.float32
    with pytest.raises(ValueError, match="theta"):
        clip_grad_norm(_grads(), 0.0)
    bad = {"W": np.array([np.inf, 1.0])}
    with pytest.raises(FloatingPointError, match="learning rate"):
        clip_grad_norm(bad, 1.0)


def test_sgd_step():
    p = {"W": np.array([1.0, 2.0]), "b": np.array([0.5])}
    SGD(lr=0.1).step(p, {"W": np.array([10.0, -20.0]), "b": np.array([1.0])})
    np.testing.assert_allclose(p["W"], [0.0, 4.0])
    np.testing.assert_allclose(p["b"], [0.4])


def test_adam_first_two_steps_by_hand():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    p = {"w": np.array([1.0, -1.0])}
    opt = Adam(lr=lr, beta1=b1, beta2=b2, eps=eps)
    g1, g2 = np.array([0.5, -2.0]), np.array([1.0, 1.0])
    opt.step(p, {"w": g1.copy()})
    # Step 1: m̂ = g, v̂ = g², so the update is lr·g/(|g| + eps) ≈ lr·sign(g).
    expected1 = np.array([1.0, -1.0]) - lr * g1 / (np.abs(g1) + eps)
    np.testing.assert_allclose(p["w"], expected1, rtol=1e-12)
    opt.step(p, {"w": g2.copy()})
    m = b1 * (1 - b1) * g1 + (1 - b1) * g2
    v = b2 * (1 - b2) * g1**2 + (1 - b2) * g2**2
    m_hat, v_hat = m / (1 - b1**2), v / (1 - b2**2)
    expected2 = expected1 - lr * m_hat / (np.sqrt(v_hat) + eps)
    np.testing.assert_allclose(p["w"], expected2, rtol=1e-12)


@pytest.mark.parametrize("make", [lambda: SGD(0.1), lambda: Adam(0.01)])
def test_optimisers_preserve_float32(make):
    p = {"W": np.ones((2, 3), dtype=np.float32)}
    opt = make()
    for _ in range(2):
        opt.step(p, {"W": np.full((2, 3), 0.5, dtype=np.float32)})
    assert p["W"].dtype == np.float32
    assert np.all(p["W"] < 1)


@pytest.mark.parametrize("make", [lambda: SGD(0.1), lambda: Adam(0.01)])
def test_key_mismatch_names_the_keys(make):
    p = {"W": np.ones(2), "b": np.ones(1)}
    with pytest.raises(ValueError, match=r"missing \['b'\], extra \['c'\]"):
        make().step(p, {"W": np.ones(2), "c": np.ones(1)})


OPTIM_CASES = [
    # (id, call, error, message)
    ("SGD lr 0", lambda: SGD(0), ValueError,
     r"lr must be a positive finite number; got 0"),
    ("SGD lr inf", lambda: SGD(float("inf")), ValueError,
     r"lr must be a positive finite"),
    ("SGD lr NaN", lambda: SGD(float("nan")), ValueError,
     r"lr must be a positive finite"),
    ("SGD lr a str", lambda: SGD("0.1"), TypeError,
     r"lr must be a positive number; got str"),
    ("Adam lr negative", lambda: Adam(lr=-1e-3), ValueError,
     r"lr must be a positive finite"),
    ("Adam beta1 1", lambda: Adam(beta1=1.0), ValueError,
     r"beta1 must lie in \[0, 1\)"),
    ("Adam beta2 negative", lambda: Adam(beta2=-0.1), ValueError,
     r"beta2 must lie in \[0, 1\)"),
    ("Adam beta2 a str", lambda: Adam(beta2="x"), TypeError, r"beta2 must be a number"),
    ("Adam eps 0", lambda: Adam(eps=0), ValueError,
     r"eps must be a positive finite number"),
    ("clip theta 0", lambda: clip_grad_norm(_grads(), 0.0), ValueError,
     r"theta must be a positive finite number"),
    ("clip theta a str", lambda: clip_grad_norm(_grads(), "1"), TypeError,
     r"theta must be a positive number; got str"),
    ("clip grads a list", lambda: clip_grad_norm(list(_grads().values()), 1.0),
     TypeError,
     r"grads must be a dict name -> numpy array"),
    ("clip integer grads", lambda: clip_grad_norm({"W": np.ones(2, int)}, 1.0),
     TypeError,
     r"grads\['W'\] must be a floating numpy array; got int64"),
    ("global_norm of a list", lambda: global_norm([np.ones(2)]), TypeError,
     r"grads must be a dict"),
    ("step params a list", lambda: SGD(0.1).step([np.ones(2)], {"W": np.ones(2)}),
     TypeError, r"params must be a dict name -> numpy array"),
    ("step grad a list", lambda: SGD(0.1).step({"W": np.ones(2)}, {"W": [1.0, 2.0]}),
     TypeError, r"grads\['W'\] must be a floating numpy array; got list"),
    ("step grad of another shape", lambda: Adam().step({"W": np.ones(2)},
                                                       {"W": np.ones(3)}),
     ValueError, r"grads\['W'\] must have shape \(2,\); got \(3,\)"),
    ("Adam reused for other keys",
     lambda: _adam_used_on("W").step({"V": np.ones(2)}, {"V": np.ones(2)}), ValueError,
     r"use one optimiser per model"),
]


def _adam_used_on(key):
    opt = Adam()
    opt.step({key: np.ones(2)}, {key: np.ones(2)})
    return opt


@pytest.mark.parametrize("call, error, message", [c[1:] for c in OPTIM_CASES],
                         ids=[c[0] for c in OPTIM_CASES])
def test_bad_arguments_raise(call, error, message):
    with pytest.raises(error, match=message):
        call()
