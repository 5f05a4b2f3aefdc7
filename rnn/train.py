"""Training and evaluating a language model: minibatches, truncated BPTT, clipping and
perplexity; and the one training loop, ``_train_loop``, that
``rnn.classifier.train_sequence_model`` uses too.

Perplexity is exp of the mean negative log-likelihood per predicted token,

    PPL = exp( −(1/N) Σ_{i=1..N} log P(x_i | x_1..x_{i−1}) ),

so a model that guesses uniformly among V tokens has PPL = V and a perfect one has
PPL = 1.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Iterable

import numpy as np

from rnn._common import as_rng, check_id_range, check_int, check_positive_number
from rnn.data import batches_random, batches_sequential, num_batches
from rnn.functional import log_softmax
from rnn.model import (
    LanguageModel,
    _lm_forward,
    _lm_loss_and_grads,
    check_language_model,
)
from rnn.optim import check_optimizer, clip_grad_norm, global_norm

DIVERGENCE_FACTOR = 10.0   # training stops when a minibatch loss exceeds 10 · ln V


@dataclass
class History:
    """What a training run measured: ``train_language_model`` and
    ``rnn.classifier.train_sequence_model`` both return one.

    train_ppl: per epoch, exp of the mean training loss over that epoch's minibatches
        (measured while training; for a classifier, exp of its mean cross-entropy).
    valid_ppl: per epoch, ``evaluate_perplexity`` on the validation ids after the epoch
        (empty without them, and for a classifier).
    loss: per step (minibatch), the mean cross-entropy of that minibatch, before the
        update.
    grad_norm: per step, the global gradient norm ‖g‖ before clipping (empty when
        ``train_sequence_model`` neither clips nor records it).
    elapsed: per epoch, wall-clock seconds since training started (varies from run to
        run).
    steps: the number of updates applied to the parameters.
    stopped: None, or the message saying why training stopped early, when a diverging
        run is told to stop rather than raise (``train_sequence_model``'s
        on_nonfinite="stop"); the failing step's loss and gradient norm are then the
        last entries of ``loss`` and ``grad_norm``.

    A History also reads like a dict: ``history["loss"]`` is ``history.loss``, for
    every field above (``train_sequence_model`` returned a dict with the keys "loss",
    "grad_norm", "steps" and "stopped" before it shared this record, and the notebooks
    read it that way). Other keys raise KeyError.
    """

    train_ppl: list[float] = field(default_factory=list)
    valid_ppl: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    elapsed: list[float] = field(default_factory=list)
    steps: int = 0
    stopped: str | None = None

    def __getitem__(self, key: str):
        """``history[key]`` is ``getattr(history, key)`` for a field's name."""
        names = [f.name for f in fields(self)]
        if key not in names:
            raise KeyError(f"History has no entry {key!r}; its entries are {names}")
        return getattr(self, key)


def _check_corpus(ids, name: str, V: int) -> np.ndarray:
    """A corpus: a 1-D integer array of token ids in [0, V), at least two tokens."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"{name} must be a 1-D integer array of token ids, "
                         f"shape (N,); got {ids.dtype} {ids.shape}")
    if len(ids) < 2:
        raise ValueError(f"{name} must hold at least 2 tokens (an input and its next "
                         f"token); got {len(ids)}")
    return check_id_range(ids, V, name)


def _check_eval_length(ids: np.ndarray, B: int, name: str) -> None:
    if (len(ids) - 1) // B < 1:
        raise ValueError(f"need at least batch_size + 1 = {B + 1} tokens in {name} to "
                         f"evaluate with batch_size={B}; got {len(ids)}: use a smaller "
                         f"batch_size")


def evaluate_perplexity(
    model: LanguageModel, ids: np.ndarray, batch_size: int, num_steps: int
) -> float:
    """exp of the mean negative log-likelihood of every next token of the corpus ids.

    ids: (N,) token ids. The first B·L + 1 tokens, L = (N − 1) // B, are laid out as B
    rows of L consecutive tokens (no random offset, so the result is deterministic),
    read num_steps columns at a time (the last block may be shorter) with the state
    carried from block to block, as in sequential training. Every one of the B·L
    predicted tokens counts once. No gradients are computed.

    With batch_size=1 this scores exactly ids[1:], each token given everything before it
    from one state carried from the start: the convention of
    ``rnn.ngram.NGramLM.perplexity``, so use batch_size=1 to compare with an n-gram
    model. With B > 1 each of the B rows starts from a zero state and up to B − 1 final
    tokens are left out: faster, and fine for comparing two networks evaluated the same
    way.
    """
    check_language_model(model, "evaluate_perplexity")
    ids = _check_corpus(ids, "ids", model.vocab_size)
    B = check_int(batch_size, "batch_size")
    T = check_int(num_steps, "num_steps")
    _check_eval_length(ids, B, "ids")
    L = (len(ids) - 1) // B
    X_all = ids[: B * L].reshape(B, L)
    Y_all = ids[1: B * L + 1].reshape(B, L)
    state, total_nll = None, 0.0
    for start in range(0, L, T):
        X, Y = X_all[:, start:start + T], Y_all[:, start:start + T]
        O, state, _ = _lm_forward(model, X, state)                      # O: (B, T, V)
        logp = log_softmax(O)
        logp_Y = np.take_along_axis(logp, Y[..., None], axis=-1)
        total_nll -= float(logp_Y.sum(dtype=np.float64))
    return _perplexity(total_nll / (B * L))


def _perplexity(mean_nll: float) -> float:
    """exp(mean NLL), or inf when that overflows (a diverged model)."""
    return math.exp(mean_nll) if mean_nll < 700 else float("inf")


def _above(loss: float, max_loss: float, note: str) -> str:
    """The loss, and the limit it crossed, for the divergence message."""
    return f"{loss:.4g}, above max_loss = {max_loss:.4g} ({note})"


def _check_max_loss(max_loss, K: int, symbol: str) -> float:
    """The divergence limit: a number > 0 (math.inf: no limit), or None for
    ``DIVERGENCE_FACTOR`` · ln K, ten times the loss of a uniform guess among the K
    outputs (V tokens or Q classes, called ``symbol`` in the message)."""
    if max_loss is None:
        return DIVERGENCE_FACTOR * math.log(K) if K > 1 else math.inf
    if isinstance(max_loss, bool) or not isinstance(max_loss, (int, float)) \
            or not max_loss > 0:
        raise ValueError(f"max_loss must be a number > 0 (math.inf: no limit) or None "
                         f"(10 · ln {symbol}); got {max_loss!r}")
    return float(max_loss)


def _diverged(what: str, value, epoch: int, step: int, clip) -> FloatingPointError:
    if clip is None:
        hint = "lower the learning rate or clip the gradients (e.g. clip=1.0)"
    else:
        hint = (f"lower the learning rate (the gradients are already clipped to norm "
                f"{clip})")
    return FloatingPointError(f"{what} became {value} at epoch {epoch}, step {step}: "
                              f"training diverged; {hint}")


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
    max_loss: float | None = None,
    max_updates: int | None = None,
) -> History:
    """Minibatch training of ``model`` (in place) on the corpus ``train_ids`` (N,);
    returns a History.

    Each step: loss, grads = lm_loss_and_grads on a (B, T) = (batch_size, num_steps)
    minibatch; record ‖g‖; clip g to norm ``clip`` (None: no clipping);
    ``optimizer.step(model.params, grads)``.
    partition="sequential": ``batches_sequential``, and the final state of each
    minibatch is the initial state of the next (truncated BPTT: values carried,
    gradients stopped at the boundary); the state restarts from zeros each epoch.
    partition="random": ``batches_random`` and a zero state for every minibatch. Use
    "random" for a bidirectional model: its backward direction's final state belongs to
    the start of the minibatch, so carrying it into the next one would be meaningless.
    seed: an int seed or a numpy Generator; it fixes every random draw (the minibatch
    offsets and order), so two runs from the same initial model give the same History
    apart from ``elapsed``.
    progress: None shows a one-line progress display only when sys.stdout is a terminal;
    False never prints; True always prints (one updated line, then a final newline).
    callback(epoch, history) runs after each epoch (epoch counts from 1); return True
    from it to stop early. It may also change ``optimizer.lr`` (a learning-rate
    schedule): the optimisers read it at every step.
    valid_batch_size: the batch size of ``evaluate_perplexity`` on ``valid_ids`` (None:
    batch_size; 1 scores every validation token after the first, comparable with
    ``rnn.ngram``).
    max_loss: the divergence threshold in nats per token (None: 10 · ln V).
    max_updates: stop after this many updates (None: after ``epochs`` epochs); the run
    is the same as the full one up to there, so its first updates can be replayed.

    Every argument is checked before the first step, including that the parameters are
    finite and that the ids of both corpora lie in [0, V).

    Divergence policy: training stops with a FloatingPointError naming the epoch and the
    step when the loss, the gradient norm or a parameter stops being finite, and also
    when the loss of a minibatch exceeds ``max_loss``, by default 10 · ln V
    (``DIVERGENCE_FACTOR`` = 10 times ln V, the loss of the uniform guess that an
    untrained model starts near). A loss that high means a model confidently wrong
    about most tokens; training with a sound learning rate never gets there, and going
    on would only report ``train_ppl = inf`` for the remaining epochs. The parameters
    reached so far stay in ``model``. Pass max_loss=math.inf to stop only at non-finite
    values.
    """
    check_language_model(model, "train_language_model")
    V = model.vocab_size
    train_ids = _check_corpus(train_ids, "train_ids", V)
    B = check_int(batch_size, "batch_size")
    T = check_int(num_steps, "num_steps")
    epochs = check_int(epochs, "epochs")
    B_valid = B if valid_batch_size is None else check_int(valid_batch_size,
                                                           "valid_batch_size")
    if valid_ids is not None:
        valid_ids = _check_corpus(valid_ids, "valid_ids", V)
        _check_eval_length(valid_ids, B_valid, "valid_ids")
    if partition not in ("sequential", "random"):
        raise ValueError(f"partition must be 'sequential' or 'random'; "
                         f"got {partition!r}")
    if clip is not None:
        clip = check_positive_number(clip, "clip (None for no clipping)")
    max_loss = _check_max_loss(max_loss, V, "V")
    check_optimizer(optimizer)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be a function (epoch, history) -> bool | None, "
                        f"or None; got {type(callback).__name__}")
    if progress not in (None, True, False):
        raise TypeError(f"progress must be None, True or False; got {progress!r}")
    if progress is None:
        progress = sys.stdout.isatty()
    if max_updates is not None:
        max_updates = check_int(max_updates, "max_updates (None for no limit)")
    make_batches = batches_sequential if partition == "sequential" else batches_random
    K = num_batches(len(train_ids), B, T, partition)
    rng = as_rng(seed, "seed")

    def loss_and_grads(batch, state):
        """One minibatch; under truncated BPTT its final state starts the next one."""
        X, Y = batch
        loss, grads, state_T = _lm_loss_and_grads(model, X, Y, state)
        return loss, grads, (state_T if partition == "sequential" else None)

    def evaluate() -> float:
        """The validation perplexity after an epoch."""
        return evaluate_perplexity(model, valid_ids, B_valid, T)

    limit_note = (f"default 10 · ln V = {DIVERGENCE_FACTOR * math.log(V):.4g}; a "
                  f"uniform guess scores ln V = {math.log(V):.4g}")
    return _train_loop(model.params, optimizer,
                       lambda rng: make_batches(train_ids, B, T, rng), loss_and_grads,
                       rng, epochs=epochs, steps_per_epoch=K, clip=clip,
                       max_loss=max_loss, limit_note=limit_note,
                       evaluate=None if valid_ids is None else evaluate,
                       callback=callback, progress=progress, max_updates=max_updates)


def _measure_and_clip(grads: dict[str, np.ndarray], clip: float | None,
                      record: bool) -> float | None:
    """‖g‖ before clipping, and g clipped to norm ``clip`` in place if given; None
    when neither clipping nor recording needs the norm."""
    if clip is None:
        return global_norm(grads) if record else None
    try:
        return clip_grad_norm(grads, clip)
    except FloatingPointError:       # ‖g‖ is inf or NaN: reported by the caller
        return global_norm(grads)


def _train_loop(
    params: dict[str, np.ndarray],
    optimizer,
    batches: Callable[[np.random.Generator], Iterable[Any]],
    loss_and_grads: Callable[[Any, Any], tuple[float, dict[str, np.ndarray], Any]],
    rng: np.random.Generator,
    *,
    epochs: int,
    steps_per_epoch: int,
    clip: float | None,
    max_loss: float,
    limit_note: str,
    record_grad_norm: bool = True,
    on_divergence: str = "raise",
    evaluate: Callable[[], float] | None = None,
    callback: Callable[[int, History], bool | None] | None = None,
    progress: bool = False,
    max_updates: int | None = None,
) -> History:
    """The training loop of both model families, on arguments already checked.

    Every epoch starts from state = None and runs, for each minibatch of
    ``batches(rng)``:

        loss, grads, state = loss_and_grads(batch, state)
        ‖g‖ measured (and g clipped to norm ``clip``), both recorded in the History
        stop if the loss or ‖g‖ is not finite, or the loss exceeds ``max_loss``
        optimizer.step(params, grads); stop if a parameter is no longer finite

    ``state`` is what one minibatch hands the next (the language model's final hidden
    state under truncated BPTT; None otherwise). After each epoch: train_ppl, the
    validation perplexity ``evaluate()`` if given, elapsed, then ``callback(epoch,
    history)``, which stops training by returning True. ``steps_per_epoch`` is only
    shown in the progress line.

    Divergence, with ``on_divergence="raise"``: a FloatingPointError naming the epoch
    and the step; with "stop": the same message in ``history.stopped``, and the History
    is returned. ``limit_note`` explains ``max_loss`` in that message.
    """
    history = History()
    start = last_print = time.perf_counter()
    try:
        for epoch in range(1, epochs + 1):
            state, epoch_loss = None, 0.0
            for step, batch in enumerate(batches(rng), start=1):
                # Divergence is reported below as a FloatingPointError, so numpy's
                # overflow warnings are muted.
                with np.errstate(over="ignore", invalid="ignore"):
                    loss, grads, state = loss_and_grads(batch, state)
                    norm = _measure_and_clip(grads, clip, record_grad_norm)
                    history.loss.append(loss)
                    if norm is not None:
                        history.grad_norm.append(norm)
                    if not math.isfinite(loss):
                        raise _diverged("the loss", loss, epoch, step, clip)
                    if loss > max_loss:
                        raise _diverged("the loss", _above(loss, max_loss, limit_note),
                                        epoch, step, clip)
                    if norm is not None and not math.isfinite(norm):
                        raise _diverged("the gradient norm", norm, epoch, step, clip)
                    optimizer.step(params, grads)
                    history.steps += 1
                    if not all(np.isfinite(p.sum()) for p in params.values()):
                        raise _diverged("a parameter", "non-finite", epoch, step, clip)
                epoch_loss += loss
                if history.steps == max_updates:
                    break
                if progress and time.perf_counter() - last_print > 0.1:
                    last_print = time.perf_counter()
                    print(f"\repoch {epoch}/{epochs}  step {step}/{steps_per_epoch}  "
                          f"loss {loss:.3f}  grad norm {norm:.2f}  "
                          f"{last_print - start:.1f} s", end="", flush=True)
            history.train_ppl.append(_perplexity(epoch_loss / step))
            if evaluate is not None:
                history.valid_ppl.append(evaluate())
            history.elapsed.append(time.perf_counter() - start)
            if progress:
                valid = ("" if evaluate is None
                         else f"  valid ppl {history.valid_ppl[-1]:.2f}")
                print(f"\repoch {epoch}/{epochs}  "
                      f"train ppl {history.train_ppl[-1]:.2f}{valid}  "
                      f"{history.elapsed[-1]:.1f} s" + " " * 20, end="", flush=True)
            if callback is not None and callback(epoch, history):
                break
            if history.steps == max_updates:
                break
    except FloatingPointError as error:   # raised above: training diverged
        if on_divergence == "raise":
            raise
        history.stopped = str(error)
    finally:
        if progress:
            print(flush=True)
    return history
