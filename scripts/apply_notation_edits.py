"""Apply the notation decisions of book/notation.md to the chapters (one-off).

Run from the repository root: ``python scripts/apply_notation_edits.py``. Every edit is
an exact replacement in the sources of the cells of one type of one notebook, and
asserts how often its old text occurs there before it is applied, so an edit that no
longer fits the notebook fails loudly instead of silently. ``word`` edits rename an
identifier or symbol only where it is a whole word (not part of a longer name). A few
edits also change the stored output of a code cell whose printed header changes, so the
notebooks stay consistent without re-execution. Nothing is written unless every edit
applies.

The decisions (see book/notation.md, "One name per quantity"):
- dA_t = ∂L/∂A_t, the gradient of the pre-activation (code `dA`, `dA_r`, ...),
  replaces A′ (ch 9), G^r_t, G^g_t (ch 10, 11) and Δ (ch 12); dH_t = ∂L/∂H_t (code
  `dH_t`) replaces δ_t in the row-vector text (ch 10, 11, 12); dC_t replaces ε_t
  (ch 11). Source 000's column-vector δ^{(t)} stays in the column-vector derivations
  of ch 6.
- K (code `K`), with K_T / K_C for final states and cells, are the fixed random weights
  of a test loss L = Σ K ⊙ Hs (were G in ch 10, 11 and R, S in ch 9, 12).
- Ω is a random orthogonal matrix (was Q in ch 5; Q is the output size).
- N_blocks is the number of affine blocks of a cell (was G in ch 13).
- θ is only the clipping threshold: a generic parameter is w (source 001's name; was θ
  in ch 6), the least-squares coefficients of ch 2 are β (were θ).
- Gradients are written with an italic d, dH_t, as in ch 6 (ch 7 used \\mathrm{d}).
"""

import json
import re
import sys
from pathlib import Path

TEXT, WORD = "text", "word"

# (notebook, cell type, kind, old, new, expected occurrences before the edit)
EDITS = [
    # ch 2: theta is the clipping threshold; the least-squares coefficients are beta.
    ("02_sequence_models.ipynb", "markdown", TEXT,
     r"\boldsymbol\theta", r"\boldsymbol\beta", 4),
    ("02_sequence_models.ipynb", "code", WORD, "theta", "beta", 2),
    # ch 5: Q is the output size; the orthogonal matrix is Omega.
    ("05_forward_propagation.ipynb", "markdown", TEXT,
     r"We make $W_{hh} = \rho\, Q$ with $Q$ a random orthogonal matrix",
     r"We make $W_{hh} = \rho\, \Omega$ with $\Omega$ a random orthogonal matrix", 1),
    ("05_forward_propagation.ipynb", "code", WORD, "Q_rand", "Omega", 2),
    # ch 6: a generic parameter is w (source 001's name), not the clipping threshold.
    ("06_bptt.ipynb", "markdown", TEXT,
     r"$\theta \leftarrow \theta - \eta\, \partial L / \partial \theta$",
     r"$w \leftarrow w - \eta\, \partial L / \partial w$", 1),
    ("06_bptt.ipynb", "markdown", TEXT,
     r"$\theta - \eta \nabla(L/N) = \theta - (\eta/N) \nabla L$",
     r"$w - \eta \nabla(L/N) = w - (\eta/N) \nabla L$", 1),
    ("06_bptt.ipynb", "code", TEXT,
     "# 5. update: theta <- theta - lr * gradient",
     "# 5. update: w <- w - lr * gradient", 1),
    # ch 7: italic d for gradients, as in ch 6; a random matrix is not G.
    ("07_vanishing_exploding.ipynb", "markdown", TEXT, r"\mathrm{d}", "d", 7),
    ("07_vanishing_exploding.ipynb", "code", TEXT,
     "G = rng.standard_normal((H, H))", "W_rand = rng.standard_normal((H, H))", 1),
    ("07_vanishing_exploding.ipynb", "code", TEXT,
     "W_unit = G / np.max(np.abs(np.linalg.eigvals(G)))",
     "W_unit = W_rand / np.max(np.abs(np.linalg.eigvals(W_rand)))", 1),
    # ch 9: the pre-activation gradients are dA; the test-loss weights are K and K_T;
    # the pixel grid of the 2-D exercise is `grid`, not G.
    ("09_bidirectional.ipynb", "markdown", TEXT,
     r"\overrightarrow{A}'_t", r"d\overrightarrow{A}_t", 2),
    ("09_bidirectional.ipynb", "markdown", TEXT,
     r"\overleftarrow{A}'_t", r"d\overleftarrow{A}_t", 2),
    ("09_bidirectional.ipynb", "markdown", TEXT,
     r"$L = \sum Hs \odot R + \sum \text{state} \odot S$ with random weights $R$"
     r" and $S$",
     r"$L = \sum Hs \odot K + \sum \text{state} \odot K_T$ with random weights $K$ and"
     r" $K_T$", 1),
    ("09_bidirectional.ipynb", "code", TEXT,
     "    R = rng.normal(size=(T, B, 2 * H))  # weights of the test loss\n"
     "    S = tuple(",
     "    K = rng.normal(size=(T, B, 2 * H))  # weights of the test loss\n"
     "    K_T = tuple(",
     1),
    ("09_bidirectional.ipynb", "code", TEXT,
     "np.sum(Hs * R) + sum(np.sum(f * s) for f, s in zip(finals, S))",
     "np.sum(Hs * K) + sum(np.sum(f * k) for f, k in zip(finals, K_T))", 1),
    ("09_bidirectional.ipynb", "code", TEXT,
     "recurrent_backward(spec, params, R, pack(S), cache)",
     "recurrent_backward(spec, params, K, pack(K_T), cache)", 1),
    ("09_bidirectional.ipynb", "code", WORD, "G", "grid", 6),
    ("09_bidirectional.ipynb", "code", WORD, "dG_rows", "dgrid_rows", 2),
    ("09_bidirectional.ipynb", "code", WORD, "dG_cols", "dgrid_cols", 2),
    # ch 10: dH_t for the state gradient, dA^r_t, dA^z_t, dA^h_t (code dA_r, dA_z,
    # dA_h) for the pre-activation gradients, K for the test-loss weights.
    ("10_gru.ipynb", "markdown", TEXT, r"\delta_t", "dH_t", 8),
    ("10_gru.ipynb", "markdown", TEXT, "G^h_t", "dA^h_t", 6),
    ("10_gru.ipynb", "markdown", TEXT, "G^z_t", "dA^z_t", 2),
    ("10_gru.ipynb", "markdown", TEXT, "G^r_t", "dA^r_t", 5),
    ("10_gru.ipynb", "markdown", TEXT,
     r"The loss $L = \sum_t \sum_{b, j} G_t[b, j]\, H_t[b, j]$ with a fixed random $G$",
     r"The loss $L = \sum_t \sum_{b, j} K_t[b, j]\, H_t[b, j]$ with a fixed random $K$",
     1),
    ("10_gru.ipynb", "markdown", TEXT,
     "through the outputs is simply $G_t$.", "through the outputs is simply $K_t$.", 1),
    ("10_gru.ipynb", "code", WORD, "G", "K", 6),
    # ch 11: dH_t and dC_t for the two state gradients, dA^g_t for the pre-activation
    # gradients (no generic gate G), K and K_C for the test-loss weights.
    ("11_lstm.ipynb", "markdown", TEXT,
     r"so its total gradient, call it $\varepsilon_t$, is",
     r"so its total gradient, $dC_t$, is", 1),
    ("11_lstm.ipynb", "markdown", TEXT,
     r"(`dC` is $\varepsilon_t$)", r"(the local `dC` is $dC_t$)", 1),
    ("11_lstm.ipynb", "markdown", TEXT, r"\varepsilon", "dC", 10),
    ("11_lstm.ipynb", "markdown", TEXT, r"\delta_t", "dH_t", 4),
    ("11_lstm.ipynb", "markdown", TEXT,
     r"$G^g_t = (\partial L / \partial G_t) \odot G_t \odot (1 - G_t)$ for the gates"
     r" $G = I, F, O$ and $G^c_t = ",
     r"$dA^i_t = (\partial L / \partial I_t) \odot I_t \odot (1 - I_t)$ for the input"
     r" gate, likewise $dA^f_t$ and $dA^o_t$ with $F_t$ and $O_t$, and $dA^c_t = ", 1),
    ("11_lstm.ipynb", "markdown", TEXT, "G^g_t", "dA^g_t", 4),
    ("11_lstm.ipynb", "markdown", TEXT,
     r"$L = \sum G \odot H_t + \sum G^C \odot C_T$",
     r"$L = \sum K \odot H_t + \sum K_C \odot C_T$", 1),
    ("11_lstm.ipynb", "markdown", TEXT,
     r"$L = \sum G \odot H_T$ with a fixed random $G$",
     r"$L = \sum K \odot H_T$ with a fixed random $K$", 1),
    ("11_lstm.ipynb", "code", WORD, "G", "K", 5),
    ("11_lstm.ipynb", "code", WORD, "G_C", "K_C", 4),
    ("11_lstm.ipynb", "code", WORD, "G_flow", "K_flow", 5),
    # ch 12: dH^{(l)}_t and dA^{(l)}_t; K and K_T for the test-loss weights.
    ("12_deep_rnns.ipynb", "markdown", TEXT, r"\delta^{(", "dH^{(", 5),
    ("12_deep_rnns.ipynb", "markdown", TEXT, r"\Delta^{(", "dA^{(", 14),
    ("12_deep_rnns.ipynb", "markdown", TEXT,
     r"with $\Delta$ for gradients at pre-activations",
     r"with $dA$ for gradients at pre-activations", 1),
    ("12_deep_rnns.ipynb", "markdown", TEXT, r"$H^\top \Delta$", r"$H^\top dA$", 2),
    ("12_deep_rnns.ipynb", "code", WORD, "Delta_Z2", "dA_Z2", 3),
    ("12_deep_rnns.ipynb", "code", WORD, "Delta_S2", "dA_S2", 3),
    ("12_deep_rnns.ipynb", "code", TEXT,
     "    R = rng.normal(size=(T, B, H))  # weights of the test loss\n"
     "    S = tuple(",
     "    K = rng.normal(size=(T, B, H))  # weights of the test loss\n"
     "    K_T = tuple(", 1),
    ("12_deep_rnns.ipynb", "code", TEXT,
     "np.sum(Hs * R) + sum(np.sum(f * s) for f, s in zip(finals, S))",
     "np.sum(Hs * K) + sum(np.sum(f * k) for f, k in zip(finals, K_T))", 1),
    ("12_deep_rnns.ipynb", "code", TEXT,
     "recurrent_backward(spec, params, R, pack(S), cache)",
     "recurrent_backward(spec, params, K, pack(K_T), cache)", 1),
    # ch 13: the number of blocks is N_blocks, not G.
    ("13_side_by_side.ipynb", "markdown", WORD, "G", r"N_{\text{blocks}}", 14),
    ("13_side_by_side.ipynb", "code", TEXT,
     "# G * H * (D + H + 1), plus H for the reset-after GRU's second candidate bias"
     " b_hh",
     "# N_blocks * H * (D + H + 1), plus H for the reset-after GRU's second bias b_hh",
     1),
    ("13_side_by_side.ipynb", "code", TEXT, "{'G':>3}", "{'blocks':>7}", 1),
    ("13_side_by_side.ipynb", "code", TEXT,
     "{BLOCKS[kind]:>3}", "{BLOCKS[kind]:>7}", 1),
]

# (notebook, old line of a stored stream output, new line, expected occurrences)
OUTPUT_EDITS = [
    ("13_side_by_side.ipynb",
     "cell                 G  param_count   formula  whole LM\n",
     "cell                blocks  param_count   formula  whole LM\n", 1),
] + [
    ("13_side_by_side.ipynb",
     f"{label:<19}{n:>3}{rest}\n", f"{label:<19}{n:>7}{rest}\n", 1)
    for label, n, rest in [
        ("RNN", 1, "         5952      5952      7772"),
        ("GRU", 3, "        17856     17856     19676"),
        ("GRU (reset-after)", 3, "        17920     17920     19740"),
        ("LSTM", 4, "        23808     23808     25628"),
    ]
]


def pattern(kind: str, old: str) -> re.Pattern:
    if kind == WORD:
        return re.compile(r"(?<![\w\\])" + re.escape(old) + r"(?!\w)")
    return re.compile(re.escape(old))


def apply(book: Path) -> dict[str, int]:
    notebooks: dict[str, dict] = {}
    done: dict[str, int] = {}
    errors = []
    for name, cell_type, kind, old, new, expected in EDITS:
        nb = notebooks.setdefault(name, json.loads((book / name).read_text("utf-8")))
        cells = [c for c in nb["cells"] if c["cell_type"] == cell_type]
        pat = pattern(kind, old)
        found = sum(len(pat.findall("".join(c["source"]))) for c in cells)
        if found != expected:
            errors.append(f"{name} {cell_type}: {old!r} occurs {found} times, "
                          f"expected {expected}")
            continue
        for c in cells:
            text = pat.sub(lambda _: new, "".join(c["source"]))
            c["source"] = text.splitlines(keepends=True)
        done[name] = done.get(name, 0) + expected
    for name, old, new, expected in OUTPUT_EDITS:
        nb = notebooks.setdefault(name, json.loads((book / name).read_text("utf-8")))
        found = 0
        for c in nb["cells"]:
            for out in c.get("outputs", []):
                if out.get("output_type") == "stream":
                    text = out["text"]
                    lines = text.splitlines(keepends=True) if isinstance(text, str) \
                        else text
                    found += lines.count(old)
                    out["text"] = [new if line == old else line for line in lines]
        if found != expected:
            errors.append(f"{name} output: {old!r} occurs {found} times, "
                          f"expected {expected}")
    if errors:
        sys.exit("no notebook written; stale edits:\n" + "\n".join(errors))
    for name, nb in notebooks.items():
        text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        (book / name).write_text(text, "utf-8")
    return done


if __name__ == "__main__":
    book = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("book")
    for name, count in sorted(apply(book).items()):
        print(f"{name}: {count} replacements")
