# Two commands set everything up on a fresh machine with Python >= 3.11:
#   make book   create .venv, install, build the HTML book into _build/html
#   make test   create .venv, install, run unit tests, nbval on every notebook, strict book build,
#               then open every page of the built book in headless Chromium (make browser)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NBVAL  := --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider
NOTEBOOKS := $(sort $(wildcard book/*.ipynb))

# One BLAS thread for everything make runs (tests, notebooks, lab): the course's matrices are small,
# where threads cost more than they give on a busy machine, and a fixed thread count keeps float32
# results identical from run to run, which nbval's output comparison relies on.
export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1

.PHONY: all install book test unit nbval book-strict browser pdf lab refresh bench clean distclean

all: book

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), f"Python >= 3.11 is needed; {sys.executable} is {sys.version.split()[0]}"'
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the project's requirements change; a second run skips it.
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[data,book,test]"
	@touch $(STAMP)

install: $(STAMP)

book: install
	$(BIN)/jupyter-book build . --keep-going
	@echo "Open _build/html/index.html in a browser."

test: unit nbval book-strict browser

unit: install
	$(BIN)/pytest tests

nbval: install
	$(BIN)/pytest $(NBVAL) $(NOTEBOOKS)

book-strict: install
	$(BIN)/jupyter-book build . --all -W -n --keep-going

# Needs a built book (make book or book-strict first) and Chromium (apt-get install chromium);
# without Chromium the checks are skipped with that hint. Screenshots: _build/screenshots/.
browser: install
	$(BIN)/pytest -p no:cacheprovider tests/browser

# The whole book as one PDF, _build/latex/book.pdf (xelatex; about 5 minutes), then the HTML
# book, which copies it to _build/html/rnn-book.pdf and offers it in every page's download menu
# (book/_ext/book_pdf.py; a book built without the PDF has neither). tests/pdf then checks it.
# Needs TeX Live and fonts from Debian (as root; nothing is downloaded at build time):
#   apt-get install --no-install-recommends texlive-xetex texlive-latex-recommended \
#     texlive-latex-extra texlive-fonts-recommended texlive-lang-chinese latexmk xindy \
#     fonts-freefont-otf fonts-noto-cjk        (about 250 MB to download, 700 MB on disk)
PDF_LATEX := -interaction=nonstopmode -halt-on-error -file-line-error
pdf: install
	@command -v xelatex >/dev/null && command -v latexmk >/dev/null || { echo "make pdf needs \
	xelatex and latexmk: see the apt-get line above the pdf target in the Makefile"; exit 1; }
	$(BIN)/jupyter-book build . --builder latex -W -n --keep-going
	$(MAKE) -C _build/latex all-pdf LATEXOPTS="$(PDF_LATEX)" || \
	  { rm -f _build/latex/book.pdf; exit 1; }  # no half-built PDF for the HTML book to link
	$(BIN)/jupyter-book build . --keep-going
	$(BIN)/pytest -p no:cacheprovider tests/pdf

lab: install
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[lab]"
	$(BIN)/jupyter lab book

# Re-execute every notebook top to bottom in a fresh kernel and store its outputs.
refresh: install
	cd book && for nb in $(notdir $(NOTEBOOKS)); do ../$(BIN)/jupyter execute --inplace $$nb || exit 1; done

# Speed figures are printed by a script, never asserted in tests (see benchmarks/README.md; the comparison
# with torch.nn runs in a separate environment that has PyTorch).
bench: install
	$(BIN)/python benchmarks/bench_step.py

clean:
	rm -rf _build .pytest_cache .hypothesis
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) *.egg-info
