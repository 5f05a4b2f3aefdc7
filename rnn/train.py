"""Training and evaluating a language model: minibatches, truncated BPTT, clipping, perplexity.

Perplexity is exp of the mean negative log-likelihood per predicted token,

    PPL = exp( −(1/N) Σ_{i=1..N} log P(x_i | x_1..x_{i−1}) ),

so a model that guesses uniformly among V tokens has PPL = V and a perfect one has PPL = 1.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from rnn.data import batches_random, batches_sequential, num_batches
from rnn.functional import log_softmax
from rnn.model import LanguageModel, lm_forward, lm_loss_and_grads
from rnn.optim import clip_grad_norm, global_norm


@dataclass
class History:
    """What ``train_language_model`` measured.

    train_ppl: per epoch, exp of the mean training loss over that epoch's minibatches (measured while training).
    valid_ppl: per epoch, ``evaluate_perplexity`` on the validation ids after the epoch (empty without them).
    loss: per step (minibatch), the mean cross-entropy of that minibatch, before the update.
    grad_norm: per step, the global gradient norm ‖g‖ before clipping.
    elapsed: per epoch, wall-clock seconds since training started (varies from run to run).
    """

    train_ppl: list[float] = field(default_factory=list)
    valid_ppl: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    elapsed: list[float] = field(default_factory=list)


def _check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer ≥ 1; got {value!r}")
    return int(value)


def _check_corpus(ids, name: str) -> np.ndarray:
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"{name} must be a 1-D integer array of token ids, shape (N,); got {ids.dtype} {ids.shape}")
    return ids


def evaluate_perplexity(model: LanguageModel, ids: np.ndarray, batch_size: int, num_steps: int) -> float:
    """exp of the mean negative log-likelihood of every next token of the corpus ``ids``.

    ids: (N,) token ids. The first B·L + 1 tokens, L = (N − 1) // B, are laid out as B rows of L
    consecutive tokens (no random offset, so the result is deterministic), read num_steps columns at a
    time (the last block may be shorter) with the state carried from block to block, as in sequential
    training. Every one of the B·L predicted tokens counts once. No gradients are computed.

    With batch_size=1 this scores exactly ids[1:], each token given everything before it from one state
    carried from the start: the convention of ``rnn.ngram.NGramLM.perplexity``, so use batch_size=1 to
    compare with an n-gram model. With B > 1 each of the B rows starts from a zero state and up to B − 1
    final tokens are left out: faster, and fine for comparing two networks evaluated the same way.
    """
    ids = _check_corpus(ids, "ids")
    B = _check_positive_int("batch_size", batch_size)
    T = _check_positive_int("num_steps", num_steps)
    L = (len(ids) - 1) // B
    if L < 1:
        raise ValueError(f"need at least batch_size + 1 = {B + 1} tokens to evaluate with batch_size={B}; "
                         f"got {len(ids)}: use a smaller batch_size")
    X_all = ids[: B * L].reshape(B, L)
    Y_all = ids[1: B * L + 1].reshape(B, L)
    state, total_nll = None, 0.0
    for start in range(0, L, T):
        X, Y = X_all[:, start:start + T], Y_all[:, start:start + T]
        O, state, _ = lm_forward(model, X, state)                        # O: (B, T, V)
        logp = log_softmax(O)
        total_nll -= float(np.take_along_axis(logp, Y[..., None], axis=-1).sum(dtype=np.float64))
    return _perplexity(total_nll / (B * L))


def _perplexity(mean_nll: float) -> float:
    """exp(mean NLL), or inf when that overflows (a diverged model)."""
    return math.exp(mean_nll) if mean_nll < 700 else float("inf")


def _diverged(what: str, value, epoch: int, step: int, clip) -> FloatingPointError:
    if clip is None:
        hint = "lower the learning rate or clip the gradients (e.g. clip=1.0)"
    else:
        hint = f"lower the learning rate (the gradients are already clipped to norm {clip})"
    return FloatingPointError(f"{what} became {value} at epoch {epoch}, step {step}: training diverged; {hint}")


def train_language_model(
    model: LanguageModel,
    train_ids: np.ndarray,
    *,
    valid_ids: np.ndarray | None = None,
    batch_size: int,
    num_steps: int,
    epochs: int,
    optimizer,
    clip: float | None = 1.0,
    partition: str = "sequential",
    seed: int,
    progress: bool | None = None,
    callback: Callable[[int, History], bool | None] | None = None,
    valid_batch_size: int | None = None,
) -> History:
    """Minibatch training of ``model`` (in place) on the corpus ``train_ids`` (N,); returns a History.

    Each step: loss, grads = lm_loss_and_grads on a (B, T) = (batch_size, num_steps) minibatch; record ‖g‖;
    clip g to norm ``clip`` (None: no clipping); ``optimizer.step(model.params, grads)``.
    partition="sequential": ``batches_sequential``, and the final state of each minibatch is the initial
    state of the next (truncated BPTT: values carried, gradients stopped at the boundary); the state restarts
    from zeros each epoch. partition="random": ``batches_random`` and a zero state for every minibatch.
    Use "random" for a bidirectional model: its backward direction's final state belongs to the start of
    the minibatch, so carrying it into the next one would be meaningless.
    seed fixes every random draw (the minibatch offsets and order), so two runs from the same initial model
    give the same History apart from ``elapsed``.
    progress: None shows a one-line progress display only when sys.stdout is a terminal; False never prints;
    True always prints (one updated line, then a final newline).
    callback(epoch, history) runs after each epoch (epoch counts from 1); return True from it to stop early.
    It may also change ``optimizer.lr`` (a learning-rate schedule): the optimisers read it at every step.
    valid_batch_size: the batch size of ``evaluate_perplexity`` on ``valid_ids`` (None: batch_size; 1 scores
    every validation token after the first, comparable with ``rnn.ngram``).
    Raises FloatingPointError naming the epoch and step if the loss, the gradient or the parameters stop
    being finite.
    """
    train_ids = _check_corpus(train_ids, "train_ids")
    if valid_ids is not None:
        valid_ids = _check_corpus(valid_ids, "valid_ids")
    B = _check_positive_int("batch_size", batch_size)
    T = _check_positive_int("num_steps", num_steps)
    epochs = _check_positive_int("epochs", epochs)
    B_valid = B if valid_batch_size is None else _check_positive_int("valid_batch_size", valid_batch_size)
    if partition not in ("sequential", "random"):
        raise ValueError(f"partition must be 'sequential' or 'random'; got {partition!r}")
    if clip is not None and not clip > 0:
        raise ValueError(f"clip must be a positive number or None; got {clip!r}")
    if not hasattr(optimizer, "step"):
        raise TypeError(f"optimizer must have a .step(params, grads) method, e.g. rnn.optim.Adam(lr=1e-2); "
                        f"got {type(optimizer).__name__}")
    if progress is None:
        progress = sys.stdout.isatty()
    make_batches = batches_sequential if partition == "sequential" else batches_random
    K = num_batches(len(train_ids), B, T, partition)
    rng = np.random.default_rng(seed)
    history = History()
    params = model.params
    start = last_print = time.perf_counter()

    try:
        for epoch in range(1, epochs + 1):
            state, epoch_loss = None, 0.0
            for step, (X, Y) in enumerate(make_batches(train_ids, B, T, rng), start=1):
                # Divergence is reported below as a FloatingPointError, so numpy's overflow warnings are muted.
                with np.errstate(over="ignore", invalid="ignore"):
                    loss, grads, state_T = lm_loss_and_grads(model, X, Y, state)
                    if not math.isfinite(loss):
                        raise _diverged("the loss", loss, epoch, step, clip)
                    try:
                        norm = global_norm(grads) if clip is None else clip_grad_norm(grads, clip)
                    except FloatingPointError:
                        norm = float("nan")
                    if not math.isfinite(norm):
                        raise _diverged("the gradient norm", norm, epoch, step, clip)
                    optimizer.step(params, grads)
                    if not all(np.isfinite(p.sum()) for p in params.values()):
                        raise _diverged("a parameter", "non-finite", epoch, step, clip)
                if partition == "sequential":
                    state = state_T
                history.loss.append(loss)
                history.grad_norm.append(norm)
                epoch_loss += loss
                if progress and time.perf_counter() - last_print > 0.1:
                    last_print = time.perf_counter()
                    print(f"\repoch {epoch}/{epochs}  step {step}/{K}  loss {loss:.3f}  "
                          f"grad norm {norm:.2f}  {last_print - start:.1f} s", end="", flush=True)
            history.train_ppl.append(_perplexity(epoch_loss / K))
            if valid_ids is not None:
                history.valid_ppl.append(evaluate_perplexity(model, valid_ids, B_valid, T))
            history.elapsed.append(time.perf_counter() - start)
            if progress:
                valid = f"  valid ppl {history.valid_ppl[-1]:.2f}" if valid_ids is not None else ""
                print(f"\repoch {epoch}/{epochs}  train ppl {history.train_ppl[-1]:.2f}{valid}  "
                      f"{history.elapsed[-1]:.1f} s" + " " * 20, end="", flush=True)
            if callback is not None and callback(epoch, history):
                break
    finally:
        if progress:
            print(flush=True)
    return history
