"""Tests for rnn.autoregressive: lag features, closed-form AR fit, one-step and k-step prediction."""
import numpy as np
import pytest

from rnn.autoregressive import (
    fit_linear_ar,
    forecast,
    lag_features,
    noisy_sine,
    predict_k_step,
    predict_one_step,
)


def ar2_series(T=200, a=(-0.5, 1.2), b=0.3, x0=(1.0, -0.4)):
    """Noiseless x_t = a[0] x_{t-2} + a[1] x_{t-1} + b (a damped oscillation)."""
    x = np.zeros(T)
    x[:2] = x0
    for t in range(2, T):
        x[t] = a[0] * x[t - 2] + a[1] * x[t - 1] + b
    return x


def test_noisy_sine_shape_seed_and_noise_free_case():
    x = noisy_sine(50, np.random.default_rng(0))
    assert x.shape == (50,) and x.dtype == np.float64
    np.testing.assert_array_equal(x, noisy_sine(50, np.random.default_rng(0)))
    clean = noisy_sine(20, np.random.default_rng(0), period=8, noise=0.0)
    np.testing.assert_allclose(clean, np.sin(2 * np.pi * np.arange(20) / 8))


def test_lag_features_alignment():
    x = np.arange(6, dtype=float)
    F, y = lag_features(x, 2)
    np.testing.assert_array_equal(F, [[0, 1], [1, 2], [2, 3], [3, 4]])
    np.testing.assert_array_equal(y, [2, 3, 4, 5])
    F1, y1 = lag_features(x, 5)
    assert F1.shape == (1, 5) and y1.tolist() == [5.0]


def test_lag_features_is_a_copy():
    x = np.arange(5, dtype=float)
    F, _ = lag_features(x, 2)
    F[0, 0] = 99
    assert x[0] == 0


def test_exact_recovery_of_noiseless_ar2():
    x = ar2_series()
    w, b = fit_linear_ar(*lag_features(x, 2))
    np.testing.assert_allclose(w, [-0.5, 1.2], atol=1e-8)
    assert abs(b - 0.3) < 1e-8


def test_pure_sine_is_exactly_ar2():
    # sin(ω(t)) = 2cos(ω) sin(ω(t−1)) − sin(ω(t−2))
    x = noisy_sine(300, np.random.default_rng(0), period=25, noise=0.0)
    w, b = fit_linear_ar(*lag_features(x, 2))
    np.testing.assert_allclose(w, [-1.0, 2 * np.cos(2 * np.pi / 25)], atol=1e-8)
    assert abs(b) < 1e-8


def test_ridge_shrinks_weights_not_bias():
    x = noisy_sine(400, np.random.default_rng(1))
    F, y = lag_features(x, 4)
    w0, _ = fit_linear_ar(F, y)
    w1, _ = fit_linear_ar(F, y, ridge=100.0)
    assert np.linalg.norm(w1) < np.linalg.norm(w0)
    # a huge ridge leaves only the bias, which then fits the mean of y
    w2, b2 = fit_linear_ar(F, y, ridge=1e12)
    assert np.abs(w2).max() < 1e-6 and abs(b2 - y.mean()) < 1e-6


def test_fit_matches_lstsq():
    rng = np.random.default_rng(2)
    F = rng.standard_normal((50, 3))
    y = rng.standard_normal(50)
    w, b = fit_linear_ar(F, y)
    theta, *_ = np.linalg.lstsq(np.hstack([F, np.ones((50, 1))]), y, rcond=None)
    np.testing.assert_allclose(np.append(w, b), theta, atol=1e-10)


def test_one_step_uses_true_past():
    x = ar2_series()
    w, b = fit_linear_ar(*lag_features(x, 2))
    pred = predict_one_step(x, w, b)
    assert pred.shape == (198,)
    np.testing.assert_allclose(pred, x[2:], atol=1e-8)


def test_k1_equals_one_step():
    x = noisy_sine(120, np.random.default_rng(3))
    w, b = fit_linear_ar(*lag_features(x, 4))
    np.testing.assert_allclose(predict_k_step(x, w, b, 1), predict_one_step(x, w, b), atol=1e-12)


def test_k_step_matches_a_literal_loop():
    x = noisy_sine(60, np.random.default_rng(4))
    tau, k = 3, 5
    w, b = fit_linear_ar(*lag_features(x, tau))
    pred = predict_k_step(x, w, b, k)
    assert pred.shape == (60 - tau - k + 1,)
    for s in [0, 7, len(pred) - 1]:
        window = list(x[s : s + tau])
        for _ in range(k):
            window.append(np.dot(window[-tau:], w) + b)
        assert abs(pred[s] - window[-1]) < 1e-12
    # the same thing via forecast from the true past
    np.testing.assert_allclose(forecast(x[:tau], w, b, k)[-1], pred[0], atol=1e-12)


def test_k_step_is_exact_on_a_noiseless_process():
    x = ar2_series()
    w, b = fit_linear_ar(*lag_features(x, 2))
    np.testing.assert_allclose(predict_k_step(x, w, b, 30), x[2 + 29 :], atol=1e-6)


def test_errors_grow_with_k_on_a_noisy_series():
    for seed in range(5):
        x = noisy_sine(1000, np.random.default_rng(seed))
        tau = 4
        w, b = fit_linear_ar(*lag_features(x[:600], tau))
        mse = [np.mean((predict_k_step(x, w, b, k) - x[tau + k - 1 :]) ** 2) for k in (1, 4, 16, 64)]
        assert all(m1 < m2 for m1, m2 in zip(mse, mse[1:])), (seed, mse)


def test_forecast_shapes_and_zero_steps():
    w = np.array([0.5, 0.5])
    out = forecast(np.array([1.0, 3.0]), w, 0.0, 3)
    np.testing.assert_allclose(out, [2.0, 2.5, 2.25])
    assert forecast(np.array([1.0, 3.0]), w, 0.0, 0).shape == (0,)


@pytest.mark.parametrize("tau", [0, -1, 2.5])
def test_lag_features_bad_tau(tau):
    with pytest.raises(ValueError, match="tau"):
        lag_features(np.zeros(10), tau)


def test_lag_features_too_short():
    with pytest.raises(ValueError, match="len\\(x\\) > tau"):
        lag_features(np.zeros(3), 3)


def test_bad_series():
    with pytest.raises(ValueError, match="1-D"):
        lag_features(np.zeros((3, 2)), 1)
    with pytest.raises(TypeError, match="float"):
        lag_features(np.arange(10), 2)


def test_fit_bad_inputs():
    with pytest.raises(ValueError, match="shape"):
        fit_linear_ar(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="ridge"):
        fit_linear_ar(np.ones((5, 2)), np.ones(5), ridge=-1)
    with pytest.raises(ValueError, match="unknowns"):
        fit_linear_ar(np.ones((2, 2)), np.ones(2))
    with pytest.raises(ValueError, match="singular"):
        fit_linear_ar(np.ones((5, 2)), np.ones(5))
    with pytest.raises(TypeError, match="dtype"):
        fit_linear_ar(np.ones((5, 2), dtype=np.float32), np.ones(5))


def test_predict_bad_inputs():
    x = np.zeros(10)
    with pytest.raises(ValueError, match="k must"):
        predict_k_step(x, np.ones(2), 0.0, 0)
    with pytest.raises(ValueError, match="tau \\+ k"):
        predict_k_step(x, np.ones(2), 0.0, 9)
    with pytest.raises(ValueError, match="w must"):
        predict_one_step(x, np.ones((2, 1)), 0.0)
    with pytest.raises(TypeError, match="float32"):
        predict_one_step(x, np.ones(2, dtype=np.float32), 0.0)
    with pytest.raises(ValueError, match="scalar"):
        predict_one_step(x, np.ones(2), np.zeros(2))
    with pytest.raises(ValueError, match="history"):
        forecast(np.zeros(1), np.ones(2), 0.0, 3)
    with pytest.raises(ValueError, match="steps"):
        forecast(np.zeros(2), np.ones(2), 0.0, -1)


def test_noisy_sine_bad_inputs():
    with pytest.raises(ValueError, match="T must"):
        noisy_sine(0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="period"):
        noisy_sine(5, np.random.default_rng(0), period=0)
