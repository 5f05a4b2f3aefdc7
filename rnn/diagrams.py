"""Box-and-arrow drawings of recurrent networks, drawn with matplotlib onto Axes the
caller provides.

Every figure of the book is drawn by the book: no image comes from outside. Each
``draw_*`` function takes one Axes (or a few), draws shapes, arrows and mathtext labels
in the book's notation (X_t, H_t, O_t, W_xh, W_hh, W_hq, …) and turns the axis frame
off. The colours are mid-tone fills with dark text and dark-grey edges, so the boxes
stay legible on light and dark page themes. Labels use mathtext only (no CJK glyphs,
which a reader's fonts may lack).

This module is book-only: ``import rnn`` does not load it (nor matplotlib). Import it
explicitly, e.g. ``from rnn.diagrams import draw_folded_and_unrolled``:

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3))
    draw_folded_and_unrolled(ax1, ax2, T=4)
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

# Mid-tone fills, one per role; text is dark on all of them.
COLORS = {
    "input": "#8db6e0",  # X_t: blue
    "hidden": "#8fcf8f",  # H_t: green
    # a second state (backward direction, upper layer, memory cell): lilac
    "hidden2": "#c7b2e8",
    "output": "#f2b27a",  # O_t: orange
    "gate": "#f0d36e",  # σ gates: yellow
    "op": "#d9d9d9",  # element-wise operations: grey
}
TEXT = "#1a1a1a"
EDGE = "#404040"
ARROW = "#5a5a5a"


# --------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------


def _box(
    ax: Axes,
    x: float,
    y: float,
    text: str,
    role: str = "hidden",
    w: float = 0.8,
    h: float = 0.5,
    fontsize: float = 10,
) -> tuple[float, float, float, float]:
    """A rounded box centred at (x, y) with a label; returns its (x, y, w, h) for
    arrows."""
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor=COLORS[role],
            edgecolor=EDGE,
            linewidth=1.2,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, color=TEXT)
    return (x, y, w, h)


def _op(
    ax: Axes,
    x: float,
    y: float,
    text: str,
    r: float = 0.2,
    role: str = "op",
    fontsize: float = 9,
) -> tuple[float, float, float, float]:
    """A small circle for an element-wise operation (+, ⊙, 1 −); returns its bounding
    (x, y, w, h)."""
    ax.add_patch(
        Circle((x, y), r, facecolor=COLORS[role], edgecolor=EDGE, linewidth=1.2)
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, color=TEXT)
    return (x, y, 2 * r, 2 * r)


def _edge_point(shape, toward: tuple[float, float]) -> tuple[float, float]:
    """Where the straight line from the centre of ``shape`` (x, y, w, h) towards
    ``toward`` leaves the shape."""
    x, y, w, h = shape
    dx, dy = toward[0] - x, toward[1] - y
    if dx == 0 and dy == 0:
        return x, y
    scale = min(
        (w / 2) / abs(dx) if dx else float("inf"),
        (h / 2) / abs(dy) if dy else float("inf"),
    )
    return x + dx * scale, y + dy * scale


def _arrow(
    ax: Axes,
    start,
    end,
    label: str | None = None,
    rad: float = 0.0,
    label_offset=(0.0, 0.12),
    fontsize: float = 9,
    style: str = "-|>",
    color: str = ARROW,
) -> None:
    """An arrow between two shapes (x, y, w, h) or points (x, y), clipped at the
    shapes' borders, with an optional label near its middle (shifted by
    label_offset)."""
    p = start[:2] if len(start) == 2 else _edge_point(start, end[:2])
    q = end[:2] if len(end) == 2 else _edge_point(end, start[:2])
    ax.add_patch(
        FancyArrowPatch(
            p,
            q,
            arrowstyle=style,
            mutation_scale=11,
            color=color,
            linewidth=1.3,
            connectionstyle=f"arc3,rad={rad}",
            shrinkA=1,
            shrinkB=1,
        )
    )
    if label:
        mx = (p[0] + q[0]) / 2 + label_offset[0]
        my = (p[1] + q[1]) / 2 + label_offset[1]
        ax.text(mx, my, label, ha="center", va="center", fontsize=fontsize, color=TEXT)


def _self_loop(ax: Axes, shape, label: str) -> None:
    """A loop leaving the right side of a box and coming back into it: the recurrence
    of a folded network."""
    x, y, w, h = shape
    ax.add_patch(
        FancyArrowPatch(
            (x + w / 2, y + h / 4),
            (x + w / 2, y - h / 4),
            arrowstyle="-|>",
            mutation_scale=11,
            color=ARROW,
            linewidth=1.3,
            shrinkA=0,
            shrinkB=0,
            connectionstyle="arc,angleA=0,angleB=0,armA=28,armB=28,rad=8",
        )
    )
    ax.text(x + w / 2 + 0.6, y, label, ha="left", va="center", fontsize=10, color=TEXT)


def _canvas(
    ax: Axes,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    title: str | None = None,
) -> None:
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)


def _chain(
    ax: Axes,
    T: int,
    y: float,
    symbol: str,
    role: str,
    dx: float = 1.6,
    x0: float = 1.0,
    first: int = 1,
) -> list:
    """A row of T boxes labelled symbol_t, t = first..first+T−1, at height y; returns
    the shapes."""
    return [
        _box(ax, x0 + i * dx, y, f"${symbol}_{{{i + first}}}$", role) for i in range(T)
    ]


# --------------------------------------------------------------------------------------
# Chapter 1: folding, unrolling, design patterns, input/output shapes
# --------------------------------------------------------------------------------------


def draw_folded_and_unrolled(ax_folded: Axes, ax_unrolled: Axes, T: int = 4) -> None:
    """Left: the folded RNN, one cell with a self-loop W_hh. Right: the same network
    unrolled over T steps, every copy using the same W_xh, W_hh and W_hq."""
    _canvas(ax_folded, (-0.2, 3.0), (-0.5, 3.5), "folded")
    x, h, o = (
        _box(ax_folded, 1.0, y, s, r)
        for y, s, r in (
            (0.3, "$X_t$", "input"),
            (1.5, "$H_t$", "hidden"),
            (2.7, "$O_t$", "output"),
        )
    )
    _arrow(ax_folded, x, h, "$W_{xh}$", label_offset=(-0.42, 0))
    _arrow(ax_folded, h, o, "$W_{hq}$", label_offset=(-0.42, 0))
    _self_loop(ax_folded, h, "$W_{hh}$")

    dx = 1.6
    _canvas(
        ax_unrolled,
        (-0.9, 1.0 + (T - 1) * dx + 0.6),
        (-0.5, 3.5),
        f"unrolled over T = {T} steps",
    )
    xs, hs, os_ = (
        _chain(ax_unrolled, T, y, s, r, dx)
        for y, s, r in ((0.3, "X", "input"), (1.5, "H", "hidden"), (2.7, "O", "output"))
    )
    h0 = _box(ax_unrolled, -0.35, 1.5, "$H_0$", "hidden", w=0.7)
    for t in range(T):
        _arrow(
            ax_unrolled, xs[t], hs[t], "$W_{xh}$", label_offset=(-0.35, 0), fontsize=8
        )
        _arrow(
            ax_unrolled, hs[t], os_[t], "$W_{hq}$", label_offset=(-0.35, 0), fontsize=8
        )
        _arrow(
            ax_unrolled,
            h0 if t == 0 else hs[t - 1],
            hs[t],
            "$W_{hh}$",
            label_offset=(0, 0.17),
            fontsize=8,
        )


def draw_design_patterns(axes) -> None:
    """The three recurrent designs (three Axes):
    (a) an output at every step and hidden-to-hidden recurrence;
    (b) an output at every step and recurrence only from the output O_{t−1} to the next
    hidden state;
    (c) hidden-to-hidden recurrence that reads the whole sequence, then one output O_T.
    """
    titles = [
        "(a) output every step,\nrecurrence $H_{t-1} \\to H_t$",
        "(b) output every step,\nrecurrence $O_{t-1} \\to H_t$",
        "(c) read everything,\none output at the end",
    ]
    T, dx = 3, 1.6
    for k, (ax, title) in enumerate(zip(axes, titles)):
        _canvas(ax, (0.3, 1.0 + (T - 1) * dx + 0.7), (-0.5, 3.5), title)
        xs = _chain(ax, T, 0.3, "X", "input", dx)
        hs = _chain(ax, T, 1.5, "H", "hidden", dx)
        for t in range(T):
            _arrow(ax, xs[t], hs[t])
        if k == 2:
            _arrow(ax, hs[-1], _box(ax, 1.0 + (T - 1) * dx, 2.7, f"$O_{T}$", "output"))
        else:
            os_ = _chain(ax, T, 2.7, "O", "output", dx)
            for t in range(T):
                _arrow(ax, hs[t], os_[t])
        for t in range(1, T):
            if k == 1:
                _arrow(
                    ax,
                    os_[t - 1],
                    hs[t],
                    "$W_{oh}$",
                    label_offset=(0.05, 0.15),
                    fontsize=8,
                )
            else:
                _arrow(
                    ax, hs[t - 1], hs[t], "$W_{hh}$", label_offset=(0, 0.17), fontsize=8
                )


def draw_io_shapes(axes) -> None:
    """Three Axes: many-to-many (an output per input, e.g. tagging), many-to-one (one
    output after the sequence, e.g. sentiment) and one-to-many (one input, a sequence
    out, e.g. generating a caption).
    """
    T, dx = 4, 1.2
    configs = [
        ("many-to-many", range(T), range(T)),
        ("many-to-one", range(T), [T - 1]),
        ("one-to-many", [0], range(T)),
    ]
    for ax, (title, ins, outs) in zip(axes, configs):
        _canvas(ax, (0.2, 1.0 + (T - 1) * dx + 0.6), (-0.5, 3.5), title)
        hs = [
            _box(ax, 1.0 + t * dx, 1.5, "", "hidden", w=0.6, h=0.45) for t in range(T)
        ]
        for t in range(1, T):
            _arrow(ax, hs[t - 1], hs[t])
        for t in ins:
            _arrow(
                ax,
                _box(ax, 1.0 + t * dx, 0.3, f"$X_{t + 1}$", "input", w=0.6, h=0.45),
                hs[t],
            )
        for t in outs:
            _arrow(
                ax,
                hs[t],
                _box(ax, 1.0 + t * dx, 2.7, f"$O_{t + 1}$", "output", w=0.6, h=0.45),
            )


# --------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------


def _cell_frame(ax: Axes, title: str) -> None:
    """The canvas of a cell diagram, with the cell's outline dashed; inputs enter from
    the left and bottom."""
    _canvas(ax, (-0.9, 10.3), (-1.4, 5.3), title)
    ax.add_patch(
        FancyBboxPatch(
            (0.3, -0.4),
            8.4,
            5.0,
            boxstyle="round,pad=0.02,rounding_size=0.3",
            facecolor="none",
            edgecolor=EDGE,
            linewidth=1.0,
            linestyle="--",
        )
    )


def draw_rnn_cell(ax: Axes) -> None:
    """The vanilla cell: H_t = tanh(X_t W_xh + H_{t−1} W_hh + b_h); H_t goes to the
    output and the next step."""
    _cell_frame(ax, "vanilla RNN cell")
    add = _op(ax, 3.5, 2.0, "$+$", r=0.3, fontsize=11)
    act = _box(ax, 5.8, 2.0, r"$\tanh$", "hidden", w=1.2, h=0.7, fontsize=11)
    _arrow(
        ax,
        (-0.8, 2.0),
        add,
        "$H_{t-1}\\, W_{hh}$",
        label_offset=(0.5, 0.35),
        fontsize=11,
    )
    _arrow(
        ax, (3.5, -1.3), add, "$X_t\\, W_{xh}$", label_offset=(0.8, -1.1), fontsize=11
    )
    _arrow(ax, (3.5, 4.2), add, "$b_h$", label_offset=(0.4, 0.2), fontsize=11)
    _arrow(ax, add, act)
    _arrow(ax, act, (10.2, 2.0), "$H_t$", label_offset=(1.2, 0.35), fontsize=11)
    _arrow(
        ax,
        (7.6, 2.0),
        (7.6, 5.0),
        "$H_t$ to the output",
        label_offset=(1.3, 1.5),
        fontsize=10,
    )


def draw_gru_cell(ax: Axes) -> None:
    """The GRU cell: reset gate R_t, update gate Z_t, candidate
    H̃_t = tanh(X_t W_xh + (R_t ⊙ H_{t−1}) W_hh + b_h) and
    H_t = Z_t ⊙ H_{t−1} + (1 − Z_t) ⊙ H̃_t."""
    _cell_frame(ax, "GRU cell")
    top, bus = 4.0, 0.0
    r = _box(ax, 1.8, 1.3, "$R_t$: $\\sigma$", "gate", w=1.1, h=0.6)
    cand = _box(ax, 4.4, 2.6, "$\\tilde{H}_t$: $\\tanh$", "hidden", w=1.3, h=0.6)
    z = _box(ax, 5.9, 1.3, "$Z_t$: $\\sigma$", "gate", w=1.1, h=0.6)
    reset = _op(ax, 3.0, 2.6, r"$\odot$")
    keep = _op(ax, 5.9, top, r"$\odot$")
    one_minus = _op(ax, 7.2, 1.3, "$1-$", r=0.26, fontsize=8)
    mix = _op(ax, 7.9, 2.6, r"$\odot$")
    add = _op(ax, 7.9, top, "$+$")
    _arrow(ax, (-0.8, top), keep, "$H_{t-1}$", label_offset=(-2.95, 0.35), fontsize=11)
    _arrow(ax, keep, add)
    _arrow(ax, add, (10.2, top), "$H_t$", label_offset=(0.5, 0.3), fontsize=11)
    _arrow(ax, (3.0, top), reset)  # H_{t-1} to the reset product
    _arrow(ax, (0.8, top), (0.8, bus), style="-")  # H_{t-1} down to the bus
    _arrow(
        ax,
        (1.2, -1.3),
        (1.2, bus),
        "$X_t$",
        label_offset=(-0.4, -0.4),
        style="-",
        fontsize=11,
    )
    _arrow(ax, (0.8, bus), (5.9, bus), style="-")  # the bus [H_{t-1}, X_t]
    for g in (r, z):
        _arrow(ax, (g[0], bus), g)
    _arrow(ax, (4.4, bus), cand, "$X_t$", label_offset=(0.3, -0.3), fontsize=9)
    _arrow(ax, r, reset)
    _arrow(ax, reset, cand)
    _arrow(ax, z, keep)
    _arrow(ax, z, one_minus)
    _arrow(ax, one_minus, mix)
    _arrow(ax, cand, mix)
    _arrow(ax, mix, add)


def draw_lstm_cell(ax: Axes) -> None:
    """The LSTM cell: forget, input and output gates F_t, I_t, O_t, candidate C̃_t,
    memory C_t = F_t ⊙ C_{t−1} + I_t ⊙ C̃_t and H_t = O_t ⊙ tanh(C_t)."""
    _cell_frame(ax, "LSTM cell")
    top, bus = 4.0, 0.0
    f, i, c, o = (
        _box(ax, x, 1.3, label, role, w=1.1, h=0.6)
        for x, label, role in (
            (1.9, "$F_t$: $\\sigma$", "gate"),
            (3.3, "$I_t$: $\\sigma$", "gate"),
            (4.9, "$\\tilde{C}_t$: $\\tanh$", "hidden2"),
            (6.4, "$O_t$: $\\sigma$", "gate"),
        )
    )
    forget = _op(ax, 1.9, top, r"$\odot$")
    write = _op(ax, 4.9, 2.6, r"$\odot$")
    add = _op(ax, 4.9, top, "$+$")
    squash = _op(ax, 7.8, 2.7, r"$\tanh$", r=0.32, fontsize=8)
    out = _op(ax, 7.8, 1.3, r"$\odot$")
    _arrow(
        ax, (-0.8, top), forget, "$C_{t-1}$", label_offset=(-0.95, 0.35), fontsize=11
    )
    _arrow(ax, forget, add)
    _arrow(ax, add, (10.2, top), "$C_t$", label_offset=(1.5, 0.3), fontsize=11)
    _arrow(ax, (7.8, top), squash)
    _arrow(ax, squash, out)
    _arrow(ax, out, (10.2, 1.3), "$H_t$", label_offset=(0.5, 0.3), fontsize=11)
    _arrow(
        ax,
        (-0.8, bus),
        (6.4, bus),
        "$H_{t-1}$",
        label_offset=(-3.3, 0.35),
        style="-",
        fontsize=11,
    )
    _arrow(
        ax,
        (0.9, -1.3),
        (0.9, bus),
        "$X_t$",
        label_offset=(-0.4, -0.4),
        style="-",
        fontsize=11,
    )
    for g in (f, i, c, o):
        _arrow(ax, (g[0], bus), g)
    _arrow(ax, f, forget)
    _arrow(ax, i, write)
    _arrow(ax, c, write)
    _arrow(ax, write, add)
    _arrow(ax, o, out)


# --------------------------------------------------------------------------------------
# Bidirectional and stacked networks
# --------------------------------------------------------------------------------------


def draw_bidirectional(ax: Axes, T: int = 4) -> None:
    """A bidirectional RNN unrolled over T steps: forward states read left to right,
    backward states right to left, and the output at step t sees both, [H→_t, H←_t]."""
    dx = 1.6
    _canvas(
        ax, (0.2, 1.0 + (T - 1) * dx + 0.8), (-0.5, 4.7), f"bidirectional RNN, T = {T}"
    )
    xs = _chain(ax, T, 0.3, "X", "input", dx)
    fwd = [
        _box(
            ax,
            1.0 + t * dx,
            1.5,
            rf"$\overrightarrow{{H}}_{{{t + 1}}}$",
            "hidden",
            w=0.7,
        )
        for t in range(T)
    ]
    bwd = [
        _box(
            ax,
            1.0 + t * dx,
            2.7,
            rf"$\overleftarrow{{H}}_{{{t + 1}}}$",
            "hidden2",
            w=0.7,
        )
        for t in range(T)
    ]
    os_ = _chain(ax, T, 3.9, "O", "output", dx)
    for t in range(T):
        x = 1.0 + t * dx
        _arrow(ax, xs[t], fwd[t])
        # X_t to the backward state, on the left
        _arrow(ax, (x - 0.3, 0.55), (x - 0.3, 2.45), rad=-0.3)
        # forward state to O_t, on the right
        _arrow(ax, (x + 0.3, 1.75), (x + 0.3, 3.65), rad=0.3)
        _arrow(ax, bwd[t], os_[t])
        if t > 0:
            _arrow(ax, fwd[t - 1], fwd[t])
            _arrow(ax, bwd[t], bwd[t - 1])


def draw_stacked(ax: Axes, T: int = 4, layers: int = 2) -> None:
    """A deep (stacked) RNN over T steps: layer l reads the states H^(l−1)_t of the
    layer below (H^(0)_t = X_t) and passes its own state along time; the top layer feeds
    the outputs."""
    dx, dy = 1.6, 1.2
    top = 0.3 + (layers + 1) * dy
    _canvas(
        ax,
        (0.2, 1.0 + (T - 1) * dx + 0.6),
        (-0.5, top + 0.7),
        f"stacked RNN, {layers} layers, T = {T}",
    )
    below = _chain(ax, T, 0.3, "X", "input", dx)
    for l in range(1, layers + 1):
        row = [
            _box(
                ax,
                1.0 + t * dx,
                0.3 + l * dy,
                f"$H^{{({l})}}_{{{t + 1}}}$",
                "hidden" if l % 2 else "hidden2",
            )
            for t in range(T)
        ]
        for t in range(T):
            _arrow(ax, below[t], row[t])
            if t > 0:
                _arrow(ax, row[t - 1], row[t])
        below = row
    for t, o in enumerate(_chain(ax, T, top, "O", "output", dx)):
        _arrow(ax, below[t], o)
