"""Gradient clipping and the two optimisers the book uses: plain SGD and Adam.

Parameters and gradients are plain ``dict[str, np.ndarray]`` with the same keys (``"W_xh"``, ``"l1.fwd.b_z"``, …).
Every update happens in place, so a model that holds the dict sees the new values, and keeps each array's dtype
(a float32 model stays float32).
"""
from __future__ import annotations

import math

import numpy as np


def global_norm(grads: dict[str, np.ndarray]) -> float:
    """‖g‖ = sqrt(Σ_k Σ_i g_k[i]²): the Euclidean norm of all gradient arrays stacked into one long vector."""
    total = 0.0
    for g in grads.values():
        g = np.asarray(g)
        total += float(np.vdot(g, g).real)
    return math.sqrt(total)


def clip_grad_norm(grads: dict[str, np.ndarray], theta: float) -> float:
    """Clip by the global norm: g ← min(1, θ / ‖g‖) · g, in place; returns ‖g‖ measured *before* clipping.

    g is every gradient array of ``grads`` seen as one vector, so the direction of the full gradient is
    kept and only its length is capped at θ (seed 001; Pascanu et al. 2013). grads: ``{name: array}``,
    modified in place; theta: the threshold θ > 0.
    Raises ValueError for θ ≤ 0 and FloatingPointError when ‖g‖ is inf or NaN (the loss has diverged:
    lower the learning rate).
    """
    if not (theta > 0 and math.isfinite(theta)):
        raise ValueError(f"theta must be a positive finite number; got {theta}")
    norm = global_norm(grads)
    if not math.isfinite(norm):
        raise FloatingPointError(
            f"the gradient norm is {norm}: training has diverged; try a lower learning rate"
        )
    if norm > theta:
        scale = theta / norm
        for g in grads.values():
            g *= g.dtype.type(scale)
    return norm


def _check_keys(params: dict, grads: dict) -> None:
    missing = sorted(set(params) - set(grads))
    extra = sorted(set(grads) - set(params))
    if missing or extra:
        raise ValueError(
            f"grads must have exactly the keys of params; missing {missing}, extra {extra}"
        )
    for k, p in params.items():
        if grads[k].shape != p.shape:
            raise ValueError(f"grads[{k!r}] must have shape {p.shape}; got {grads[k].shape}")


class SGD:
    """Stochastic gradient descent: θ ← θ − η g for every parameter array, in place.

    lr: the learning rate η > 0.
    """

    def __init__(self, lr: float):
        if not lr > 0:
            raise ValueError(f"lr must be positive; got {lr}")
        self.lr = lr

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """θ_k ← θ_k − η g_k for each key k. params, grads: dicts with the same keys and shapes."""
        _check_keys(params, grads)
        for k, p in params.items():
            p -= p.dtype.type(self.lr) * grads[k].astype(p.dtype, copy=False)

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr})"


class Adam:
    """Adam, the adaptive-moment optimiser of Kingma and Ba (2015), with bias correction.

    For each parameter θ with gradient g, at step s = 1, 2, …:
        m ← β1 m + (1 − β1) g            (running mean of g)
        v ← β2 v + (1 − β2) g²           (running mean of g², element-wise)
        m̂ = m / (1 − β1^s),  v̂ = v / (1 − β2^s)   (bias correction: m and v start at 0)
        θ ← θ − η m̂ / (sqrt(v̂) + ε)
    lr: η; beta1, beta2 in [0, 1); eps: ε > 0. The state (m, v and the step count s) is kept per key and
    created at the first ``step``, in the parameter's dtype.
    """

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        if not lr > 0:
            raise ValueError(f"lr must be positive; got {lr}")
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"beta1 and beta2 must lie in [0, 1); got {beta1}, {beta2}")
        if not eps > 0:
            raise ValueError(f"eps must be positive; got {eps}")
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}
        self.s = 0

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """One Adam update of every parameter array, in place. params, grads: dicts with the same keys and shapes."""
        _check_keys(params, grads)
        if self.m and set(self.m) != set(params):
            raise ValueError(
                f"this Adam was used with keys {sorted(self.m)}; got {sorted(params)}: use one optimiser per model"
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
            p -= (self.lr * m_hat / (np.sqrt(v_hat) + self.eps)).astype(p.dtype, copy=False)

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr}, beta1={self.beta1}, beta2={self.beta2}, eps={self.eps})"
