# Set-up is automatic: every target that needs the environment creates .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST := $(BIN)/python -m pytest

.PHONY: install test test-slow run bench bench-approx leaderboard lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install rntk-bench with its test dependencies

test: $(STAMP)  ## the fast test suite (what `make test` promises: every test must pass)
	$(PYTEST) -q

# pytest exits 5 when the marker selects nothing: that would hide a broken marker, so it fails loudly.
test-slow: $(STAMP)  ## the wider finite-width and end-to-end tier (marked `slow`)
	$(PYTEST) -q -m slow; status=$$?; \
	if [ $$status -eq 5 ]; then echo "error: no test is marked slow" >&2; exit 1; fi; exit $$status

run: $(STAMP)  ## the main job: benchmark the embedded demo suite with all kernels
	$(BIN)/rntk-bench run

bench: $(STAMP)  ## speed benchmarks; prints the tables and writes results/bench/
	$(BIN)/python -m benchmarks
	$(BIN)/python -m benchmarks.fits $(if $(DATA_DIR),--data-dir $(DATA_DIR))

bench-approx: $(STAMP)  ## exact Gram matrices against approximate features (one core, ~30 min); writes results/approx/
	$(BIN)/python -m benchmarks.approx_tradeoff --jobs 1 $(if $(DATA_DIR),--data-dir $(DATA_DIR))

# The data folder beside the repository when there is one, else RNTK_BENCH_DATA / the user cache.
DATA_DIR ?= $(wildcard ../shared/datasets)
JOBS     ?= 2

leaderboard: $(STAMP)  ## regenerate the published results under results/ (resumable; hours on 2 cores)
	$(BIN)/rntk-bench leaderboard --jobs $(JOBS) $(if $(DATA_DIR),--data-dir $(DATA_DIR))

lint: $(STAMP)
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/ruff check rntk_bench tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
