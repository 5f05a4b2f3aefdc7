"""Gradient clipping and the two optimisers the book uses: plain SGD and Adam.

Parameters and gradients are plain ``dict[str, np.ndarray]`` with the same keys
(``"W_xh"``, ``"l1.fwd.b_z"``, …). Every update happens in place, so a model that holds
the dict sees the new values, and keeps each array's dtype (a float32 model stays
float32).
"""
from __future__ import annotations

import math

import numpy as np

from rnn._common import check_positive_number


def _check_arrays(arrays, name: str) -> None:
    """``arrays`` must be a dict name -> numpy float array (params or grads)."""
    if not isinstance(arrays, dict):
        raise TypeError(f"{name} must be a dict name -> numpy array "
                        f"(e.g. model.params); got {type(arrays).__name__}")
    for k, a in arrays.items():
        if not isinstance(a, np.ndarray) or a.dtype.kind != "f":
            got = a.dtype if isinstance(a, np.ndarray) else type(a).__name__
            raise TypeError(f"{name}[{k!r}] must be a floating numpy array; got {got}")


def check_optimizer(optimizer) -> None:
    """TypeError unless ``optimizer`` has a ``step(params, grads)`` method."""
    if isinstance(optimizer, type):
        raise TypeError(f"optimizer must be an optimiser object such as "
                        f"rnn.optim.Adam(lr=1e-2); got the class {optimizer.__name__}")
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"optimizer must have a .step(params, grads) method, e.g. "
                        f"rnn.optim.Adam(lr=1e-2); got {type(optimizer).__name__}")


def global_norm(grads: dict[str, np.ndarray]) -> float:
    """‖g‖ = sqrt(Σ_k Σ_i g_k[i]²): the Euclidean norm of all gradient arrays stacked
    into one long vector."""
    _check_arrays(grads, "grads")
    total = 0.0
    for g in grads.values():
        g = np.asarray(g)
        total += float(np.vdot(g, g).real)
    return math.sqrt(total)


def clip_grad_norm(grads: dict[str, np.ndarray], theta: float) -> float:
    """Clip by the global norm: g ← min(1, θ / ‖g‖) · g, in place; returns ‖g‖ measured
    *before* clipping.

    g is every gradient array of ``grads`` seen as one vector, so the direction of the
    full gradient is kept and only its length is capped at θ (seed 001; Pascanu et al.
    2013). grads: ``{name: array}``, modified in place; theta: the threshold θ > 0.
    Raises ValueError for θ ≤ 0 and FloatingPointError when ‖g‖ is inf or NaN (the loss
    has diverged: lower the learning rate).
    """
    check_positive_number(theta, "theta")
    norm = global_norm(grads)
    if not math.isfinite(norm):
        raise FloatingPointError(
            f"the gradient norm is {norm}: training has diverged; "
            f"try a lower learning rate"
        )
    if norm > theta:
        scale = theta / norm
        for g in grads.values():
            g *= g.dtype.type(scale)
    return norm


def _check_keys(params: dict, grads: dict) -> None:
    _check_arrays(params, "params")
    _check_arrays(grads, "grads")
    missing = sorted(set(params) - set(grads))
    extra = sorted(set(grads) - set(params))
    if missing or extra:
        raise ValueError(
            f"grads must have exactly the keys of params; "
            f"missing {missing}, extra {extra}"
        )
    for k, p in params.items():
        if grads[k].shape != p.shape:
            raise ValueError(f"grads[{k!r}] must have shape {p.shape}; "
                             f"got {grads[k].shape}")


class SGD:
    """Stochastic gradient descent: θ ← θ − η g for every parameter array, in place.

    lr: the learning rate η > 0.
    """

    def __init__(self, lr: float):
        check_positive_number(lr, "lr")
        self.lr = lr

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """θ_k ← θ_k − η g_k for each key k. params, grads: dicts with the same keys and
        shapes."""
        _check_keys(params, grads)
        for k, p in params.items():
            p -= p.dtype.type(self.lr) * grads[k].astype(p.dtype, copy=False)

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr})"


class Adam:
    """Adam, the adaptive-moment optimiser of Kingma and Ba (2015), with bias
    correction.

    For each parameter θ with gradient g, at step s = 1, 2, …:
        m ← β1 m + (1 − β1) g            (running mean of g)
        v ← β2 v + (1 − β2) g²           (running mean of g², element-wise)
        m̂ = m / (1 − β1^s),  v̂ = v / (1 − β2^s)   (bias correction: m, v start at 0)
        θ ← θ − η m̂ / (sqrt(v̂) + ε)
    lr: η; beta1, beta2 in [0, 1); eps: ε > 0. The state (m, v and the step count s) is
    kept per key and created at the first ``step``, in the parameter's dtype.
    """

    def __init__(
        self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
        eps: float = 1e-8,
    ):
        check_positive_number(lr, "lr")
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            real = isinstance(beta, (int, float, np.floating))
            if isinstance(beta, bool) or not real:
                raise TypeError(f"{name} must be a number in [0, 1); "
                                f"got {type(beta).__name__}")
            if not 0 <= beta < 1:
                raise ValueError(f"{name} must lie in [0, 1); got {beta}")
        check_positive_number(eps, "eps")
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}
        self.s = 0

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """One Adam update of every parameter array, in place. params, grads: dicts with
        the same keys and shapes."""
        _check_keys(params, grads)
        if self.m and set(self.m) != set(params):
            raise ValueError(
                f"this Adam was used with keys {sorted(self.m)}; got {sorted(params)}: "
                f"use one optimiser per model"
            )
        self.s += 1
        b1, b2 = self.beta1, self.beta2
        correction1 = 1 - b1**self.s
        correction2 = 1 - b2**self.s
        for k, p in params.items():
            g = grads[k].astype(p.dtype, copy=False)
            if k not in self.m:
                self.m[k] = np.zeros_like(p)
                self.v[k] = np.zeros_like(p)
            m, v = self.m[k], self.v[k]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            m_hat = m / correction1
            v_hat = v / correction2
            step = self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
            p -= step.astype(p.dtype, copy=False)

    def __repr__(self) -> str:
        return (f"Adam(lr={self.lr}, beta1={self.beta1}, beta2={self.beta2}, "
                f"eps={self.eps})")
