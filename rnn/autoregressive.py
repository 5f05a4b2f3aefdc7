"""A linear autoregressive model AR(τ) of a real-valued series: chapter 2's first
sequence model.

The Markov assumption of order τ says x_t depends on the past only through its last τ
values, and the linear model predicts

    x̂_t = w_1 x_{t−τ} + w_2 x_{t−τ+1} + … + w_τ x_{t−1} + b
        = [x_{t−τ}, …, x_{t−1}] w + b.

Indices in code are 0-based: the series is x[0], …, x[T−1], and ``w[0]`` multiplies the
*oldest* lag.
"""

from __future__ import annotations

import numpy as np


def noisy_sine(
    T: int, rng: np.random.Generator, period: float = 100.0, noise: float = 0.2
) -> np.ndarray:
    """x_t = sin(2π t / period) + noise · ε_t for t = 0, …, T−1, with ε_t ~ N(0, 1)
    independent.

    T: length; rng: random generator; period: length of one cycle in steps; noise:
    standard deviation of the additive Gaussian noise. Returns x of shape (T,), float64.
    """
    if T < 1:
        raise ValueError(f"T must be a positive length; got {T}")
    if period <= 0 or noise < 0:
        raise ValueError(
            f"need period > 0 and noise >= 0; got period={period}, noise={noise}"
        )
    t = np.arange(T)
    return np.sin(2 * np.pi * t / period) + noise * rng.standard_normal(T)


def _check_series(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"the series x must be 1-D with shape (T,); got {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"the series x must be a float array; got dtype {x.dtype}")
    return x


def _check_params(x: np.ndarray, w: np.ndarray, b: float) -> tuple[np.ndarray, int]:
    x = _check_series(x)
    w = np.asarray(w)
    if w.ndim != 1 or w.size < 1:
        raise ValueError(f"w must have shape (tau,) with tau >= 1; got {w.shape}")
    if w.dtype != x.dtype:
        raise TypeError(f"x and w must share a dtype; got x {x.dtype} and w {w.dtype}")
    if np.ndim(b) != 0:
        raise ValueError(f"b must be a scalar; got shape {np.shape(b)}")
    return w, w.size


def lag_features(x: np.ndarray, tau: int) -> tuple[np.ndarray, np.ndarray]:
    """Training pairs of an AR(τ) model: feature rows [x_{t−τ}, …, x_{t−1}] and targets
    x_t, t = τ, …, T−1.

    x: (T,) series; tau: order τ ≥ 1 with T > τ. Returns F of shape (T−τ, τ) with
    F[i] = x[i : i+τ] and y of shape (T−τ,) with y[i] = x[i+τ]. F is a fresh array (not
    a view of x).
    """
    x = _check_series(x)
    if int(tau) != tau or tau < 1:
        raise ValueError(f"tau must be an integer >= 1; got {tau}")
    tau = int(tau)
    if len(x) <= tau:
        raise ValueError(
            "need len(x) > tau to form one training pair; "
            f"got len(x)={len(x)}, tau={tau}"
        )
    F = np.lib.stride_tricks.sliding_window_view(x, tau)[:-1].copy()
    y = x[tau:].copy()
    return F, y


def fit_linear_ar(
    F: np.ndarray, y: np.ndarray, ridge: float = 0.0
) -> tuple[np.ndarray, float]:
    """Least squares min_{w,b} ‖F w + b − y‖² + ridge · ‖w‖², solved in closed form.

    With A = [F 1] (a column of ones appended for the bias) and θ = [w; b], the
    minimiser solves the normal equations (AᵀA + ridge · P) θ = Aᵀy, where P is the
    identity with a 0 in the bias corner (the bias is not penalised).
    F: (N, τ) lag features; y: (N,) targets; ridge ≥ 0.
    Returns w of shape (τ,) and F's dtype, and b as a Python float.
    """
    F = np.asarray(F)
    y = np.asarray(y)
    if F.ndim != 2 or y.ndim != 1 or F.shape[0] != y.shape[0]:
        raise ValueError(
            "need F of shape (N, tau) and y of shape (N,); "
            f"got F {F.shape} and y {y.shape}"
        )
    if not (np.issubdtype(F.dtype, np.floating) and F.dtype == y.dtype):
        raise TypeError(
            "F and y must be float arrays of one dtype; "
            f"got F {F.dtype} and y {y.dtype}"
        )
    if ridge < 0:
        raise ValueError(f"ridge must be >= 0; got {ridge}")
    N, tau = F.shape
    if N < tau + 1 and ridge == 0:
        raise ValueError(
            f"{N} equations cannot determine {tau + 1} unknowns; "
            "use more data or ridge > 0"
        )
    A = np.hstack([F, np.ones((N, 1), dtype=F.dtype)]).astype(np.float64)
    P = np.eye(tau + 1)
    P[-1, -1] = 0.0
    lhs = A.T @ A + ridge * P
    try:
        theta = np.linalg.solve(lhs, A.T @ y.astype(np.float64))
    except np.linalg.LinAlgError:
        raise ValueError(
            "the normal equations are singular (collinear lags?); use ridge > 0"
        ) from None
    return theta[:-1].astype(F.dtype), float(theta[-1])


def predict_one_step(x: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """One-step-ahead predictions x̂_t = [x_{t−τ}, …, x_{t−1}] w + b from the *true*
    past, t = τ, …, T−1.

    x: (T,) series; w: (τ,) weights (oldest lag first) of x's dtype; b: scalar.
    Returns (T−τ,), aligned with the targets x[τ:] (the y of :func:`lag_features`).
    """
    w, tau = _check_params(x, w, b)
    F, _ = lag_features(x, tau)
    return F @ w + b


def predict_k_step(x: np.ndarray, w: np.ndarray, b: float, k: int) -> np.ndarray:
    """k-step-ahead predictions for every start: from the true x_{s−τ}, …, x_{s−1},
    predict x_s, feed it back, and so on k times; the k-th prediction estimates
    x_{s+k−1} and used k−1 of the model's own outputs.

    x: (T,) series; w: (τ,) weights of x's dtype; b: scalar; k ≥ 1 with T ≥ τ + k.
    Returns (T−τ−k+1,) predictions aligned with the targets x[τ+k−1:].
    k = 1 is :func:`predict_one_step`.
    """
    w, tau = _check_params(x, w, b)
    if int(k) != k or k < 1:
        raise ValueError(f"k must be an integer >= 1; got {k}")
    k = int(k)
    if len(x) < tau + k:
        raise ValueError(f"need len(x) >= tau + k = {tau + k}; got len(x)={len(x)}")
    N = len(x) - tau - k + 1
    # (N, τ) true pasts
    window = np.lib.stride_tricks.sliding_window_view(x, tau)[:N].copy()
    for _ in range(k):
        pred = window @ w + b  # (N,) next value for every start
        # slide: drop the oldest, append the guess
        window = np.hstack([window[:, 1:], pred[:, None]])
    return pred


def forecast(history: np.ndarray, w: np.ndarray, b: float, steps: int) -> np.ndarray:
    """Free-running forecast: continue ``history`` for ``steps`` values, each computed
    from the previous τ values, which after the first τ steps are all the model's own
    predictions.

    history: (L,) observed values with L ≥ τ (only the last τ are used); w: (τ,);
    b: scalar; steps ≥ 0. Returns (steps,), the predictions of the values that follow
    history.
    """
    w, tau = _check_params(history, w, b)
    if len(history) < tau:
        raise ValueError(
            f"history must hold at least tau = {tau} values; got {len(history)}"
        )
    if int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be an integer >= 0; got {steps}")
    buf = np.concatenate([history[-tau:], np.zeros(int(steps), dtype=history.dtype)])
    for i in range(int(steps)):
        buf[tau + i] = buf[i : i + tau] @ w + b
    return buf[tau:]
