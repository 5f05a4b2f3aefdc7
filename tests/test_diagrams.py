"""Smoke tests for rnn.diagrams: every drawing runs on an Agg figure, adds shapes and labels, and uses no CJK text."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from rnn import diagrams  # noqa: E402


def artists(ax):
    return len(ax.patches) + len(ax.texts)


def check(ax, min_patches=3):
    assert len(ax.patches) >= min_patches and len(ax.texts) >= 1
    assert not ax.axison                                                  # diagrams have no axis frame
    for text in ax.texts:
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in text.get_text())   # no Chinese glyphs in figures


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("name", ["draw_rnn_cell", "draw_gru_cell", "draw_lstm_cell"])
def test_cells(name):
    fig, ax = plt.subplots()
    getattr(diagrams, name)(ax)
    check(ax, min_patches=6)
    fig.canvas.draw()                                                     # renders (mathtext parses)


def test_folded_and_unrolled_grows_with_T():
    fig, (a, b) = plt.subplots(1, 2)
    diagrams.draw_folded_and_unrolled(a, b, T=3)
    check(a)
    check(b)
    fig.canvas.draw()
    fig2, (c, d) = plt.subplots(1, 2)
    diagrams.draw_folded_and_unrolled(c, d, T=5)
    assert artists(d) > artists(b)
    labels = [t.get_text() for t in d.texts]
    assert labels.count("$W_{hh}$") == 5 and labels.count("$W_{xh}$") == 5   # one shared matrix per step


@pytest.mark.parametrize("name", ["draw_design_patterns", "draw_io_shapes"])
def test_three_panel_drawings(name):
    fig, axes = plt.subplots(1, 3)
    getattr(diagrams, name)(axes)
    for ax in axes:
        check(ax)
    fig.canvas.draw()


def test_bidirectional_and_stacked():
    fig, (a, b) = plt.subplots(1, 2)
    diagrams.draw_bidirectional(a, T=3)
    diagrams.draw_stacked(b, T=3, layers=3)
    check(a)
    check(b)
    assert sum("overleftarrow" in t.get_text() for t in a.texts) == 3
    assert sum("^{(3)}" in t.get_text() for t in b.texts) == 3
    fig.canvas.draw()
