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
# make nbval NB=book/07_vanishing_exploding.ipynb checks one notebook (both numeric paths).
NB ?= $(NOTEBOOKS)

# One BLAS thread for everything make runs (tests, notebooks, lab): the course's matrices are small,
# where threads cost more than they give on a busy machine, and a fixed thread count keeps float32
# results identical from run to run, which nbval's output comparison relies on.
export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1

.PHONY: all install book test unit nbval book-strict browser lab refresh bench clean distclean

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

# nbval twice: under this machine's numeric path and under the portable one (OpenBLAS
# Sandybridge kernels, numpy's AVX2/AVX-512 dispatch off); see tests/nbval_paths.py.
nbval: install
	$(BIN)/python tests/nbval_paths.py $(NB) -- $(NBVAL)

book-strict: install
	$(BIN)/jupyter-book build . --all -W -n --keep-going

# Needs a built book (make book or book-strict first) and Chromium (apt-get install chromium);
# without Chromium the checks are skipped with that hint. Screenshots: _build/screenshots/.
browser: install
	$(BIN)/pytest -p no:cacheprovider tests/browser

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
