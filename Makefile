# Two commands work on a fresh machine with Python 3.11 and Node.js:
#   make demo   a local pipeline run on the bundled Palmer penguins data
#   make test   the whole test suite (less the tests that download from the package index:
#               make test-images runs those)
# Each creates .venv and installs what it needs (once; again when pyproject.toml changes).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NPM_STAMP := node_modules/.installed-stamp

.PHONY: demo test test-images lint setup clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,infra]"
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

setup: $(STAMP) $(NPM_STAMP)

demo: $(STAMP)
	$(BIN)/automl-lite run examples/penguins/manifest.json

test: setup
	$(BIN)/python -m pytest -n 2 --dist loadfile -q -m "not registry"

# The images' wheels for their own Python and platform, and the shared libraries they link to:
# downloads the pins from the package index (cached in .cache/image-wheels).
test-images: $(STAMP)
	$(BIN)/python -m pytest -q -m registry tests/infra/test_image_wheels.py

lint: $(STAMP)
	$(BIN)/ruff check automl_lite lambdas training_image cdk_app tests benchmarks scripts
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache
