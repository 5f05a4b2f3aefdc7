"""rnn: the numpy package behind the course. Every formula the book derives lives here.

One flat module per idea, in the order the book introduces them:

- ``functional``, ``gradcheck``: softmax, cross-entropy, sigmoid; central-difference
  gradient checks
- ``data``, ``ngram``, ``autoregressive``, ``embedding``: corpora (names, Shakespeare),
  vocabularies, minibatches; n-gram language models (Kneser–Ney) and perplexity;
  AR(τ) models; embedding lookups
- ``rnn_layer``, ``bptt``, ``gru``, ``lstm``, ``layers``: the recurrent layers with
  hand-written backpropagation through time; truncated BPTT; bidirectional and stacked
  layers
- ``model``, ``optim``, ``train``, ``generate``, ``checkpoint``: a language model,
  SGD/Adam and gradient clipping, the training loop, sampling, saving and loading
- ``experiment``: a named recipe run over several seeds, and a comparison that calls a
  difference real only beyond a stated multiple of its standard error
- ``tasks``, ``classifier``, ``interop``: generated tasks; the sequence classifiers
  trained on them; conversion to and from PyTorch's and Keras' parameter layouts
- ``seq2seq``, ``decoding``, ``bleu``: the encoder–decoder with its masks, hand-written
  backward pass and training; greedy decoding, sampling, beam and exhaustive search;
  corpus BLEU
- ``attention``: additive and dot-product attention, forward and backward, and the
  encoder–decoder with attention
- ``diagrams``: the book's box-and-arrow figures (book-only, needs matplotlib)
- ``book``: ``glue``, which hands a number computed in a cell to the chapter's prose
  (book-only; myst-nb's glue when it is installed)

``import rnn`` imports all of them except ``diagrams`` and ``book``, so
``rnn.layers.recurrent_forward`` works after it and the core needs numpy only. The
book-only ``rnn.diagrams`` is imported explicitly, where a figure is drawn:
``from rnn.diagrams import draw_rnn_cell``.
"""

from rnn import functional, gradcheck  # noqa: F401  (the pieces everything else uses)
from rnn import data, ngram, autoregressive, embedding  # noqa: F401
from rnn import rnn_layer, bptt, gru, lstm, layers  # noqa: F401
from rnn import model, optim, train, generate, checkpoint  # noqa: F401
from rnn import classifier, tasks, interop  # noqa: F401
from rnn import experiment  # noqa: F401  (uses data, model, train, classifier, tasks)
from rnn import seq2seq, decoding, bleu  # noqa: F401  (seq2seq uses tasks and train)
from rnn import attention  # noqa: F401  (uses seq2seq)

__version__ = "0.1.0"
