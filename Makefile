# Two commands for a newcomer: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test check setup system-deps samples lint bench clean

demo: setup samples
	$(BIN)/signage demo

# The tests run behind the gate (scripts/check): formatting, lint and types first, then the suite
# with warnings as errors. CI (.ci/run) runs this.
test: setup samples
	@scripts/ensure-postgres.sh
	BIN=$(BIN) scripts/check $(PYTEST_ARGS)

setup: system-deps $(STAMP)

system-deps:
	@scripts/system-deps.sh

# torch is installed first with its exact pin so that pip takes the local CPU wheel and
# nothing later pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	# OCR: rapidocr declares opencv-python-headless, whose cv2 would overwrite opencv-contrib-python's;
	# its other dependencies are listed in pyproject.toml, so it goes in without its own.
	$(BIN)/pip install -q --no-deps rapidocr==3.10.0
	$(BIN)/python -c "import cv2, rapidocr; assert hasattr(cv2, 'face'), 'cv2 is not opencv-contrib-python'"
	touch $(STAMP)

samples: setup
	$(BIN)/python -m signage.samples

lint: setup
	$(BIN)/ruff check signage classifier tests bench
	$(BIN)/mypy signage classifier tests

# The same gate under its own name.
check: test

bench: setup samples
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
