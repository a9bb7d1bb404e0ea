# esr-validator: the two commands a new user needs are
#   make validate SUB=sample_submission/team01_TinyESR.zip
#   make test
PY       ?= python3
VENV     ?= .venv
BIN      := $(VENV)/bin
SUB      ?= sample_submission/team01_TinyESR.zip
OUT      ?= out
RUNNER   ?= auto
STAMP    := $(VENV)/.installed-stamp

.PHONY: venv validate check test test-fast lint sample schemas bench clean help

help:
	@echo "make validate SUB=team16.zip   check, evaluate and score a submission"
	@echo "make check SUB=team16.zip      intake and static checks only"
	@echo "make test                      run the test suite"
	@echo "make lint                      ruff + mypy"
	@echo "make sample                    rebuild the sample submission zip"
	@echo "make image                     build the evaluation container image"

# The venv is created on first use. torch is pinned to the CPU build this kind of machine
# carries; the container pins its own build in docker/requirements-*.lock. Every install
# after torch runs under requirements/venv-constraints.txt, so none can move it. Then the
# rulesets' environment, as far as it runs without torchvision (requirements/venv-*.txt;
# a local run reports what is left out as ESR804).
VREQ     := requirements
$(STAMP): pyproject.toml $(wildcard $(VREQ)/venv-*.txt)
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -c $(VREQ)/venv-constraints.txt -e '.[dev,docker,ray]'
	$(BIN)/python -m pip install -q -c $(VREQ)/venv-constraints.txt -r $(VREQ)/venv-ruleset.txt
	$(BIN)/python -m pip install -q -c $(VREQ)/venv-constraints.txt --no-deps \
	  -r $(VREQ)/venv-nodeps.txt
	@touch $@

venv: $(STAMP)

validate: $(STAMP)
	@mkdir -p $(OUT)
	RUNNER=$(RUNNER) $(BIN)/esr-validator validate $(SUB) --out $(OUT)/report.json

check: $(STAMP)
	$(BIN)/esr-validator check $(SUB)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not docker" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy esr_validator

sample: $(STAMP)
	$(BIN)/python scripts/make_sample.py

schemas: $(STAMP)
	$(BIN)/python scripts/export_schemas.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_check.py
	$(BIN)/python benchmarks/bench_evaluate.py

clean:
	rm -rf $(OUT) .pytest_cache .mypy_cache .ruff_cache

-include docker/image.mk
