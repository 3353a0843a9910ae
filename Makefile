# Two commands work on a fresh machine with Python 3.11, 3.12 or 3.13 and Node.js:
#   make demo   a local pipeline run on the bundled Palmer penguins data
#   make test   the whole test suite (less the tests that download from the package index:
#               make test-images runs those)
# Each creates .venv and installs exactly what uv.lock pins (once; again when the lock changes):
# the locked uv is bootstrapped with pip, then `uv sync --frozen` installs the rest. A fresh
# machine on a later day gets the versions that were tested.
#
#   make lock           re-lock after editing pyproject.toml (no upgrades) and re-pin both images
#   make upgrade        upgrade every dependency to the newest allowed release, re-pin the images,
#                       and run the checks (make test lint): the one command for an upgrade
#
# Another interpreter in its own venv: make PYTHON=python3.13 VENV=.venv-3.13 test-fast

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NPM_STAMP := node_modules/.installed-stamp
# The uv release the lock pins (dev extra), read from uv.lock itself.
UV_VERSION := $(shell sed -n '/^name = "uv"$$/{n;s/^version = "\(.*\)"/\1/p;}' uv.lock)
UV := $(BIN)/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test test-fast test-images test-browser lint setup lock upgrade clean

$(STAMP): pyproject.toml uv.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(UV) sync --frozen --all-extras --python $(BIN)/python --quiet
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

setup: $(STAMP) $(NPM_STAMP)

demo: $(STAMP)
	$(BIN)/automl-lite run examples/penguins/manifest.json
	@echo "see it in your browser: $(BIN)/automl-lite console"

test: setup
	$(BIN)/python -m pytest -n 2 --dist loadfile -q -m "not registry"

# A fast subset (no FLAML search, no CDK synthesis) for the other supported Pythons in CI.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -q -m "not registry and not slow" tests/unit

# The images' wheels for their own Python and platform, and the shared libraries they link to:
# downloads the pins from the package index (cached in .cache/image-wheels).
test-images: $(STAMP)
	$(BIN)/python -m pytest -q -m registry tests/infra/test_image_wheels.py

# The console in a real Chromium (Debian's package: apt-get install chromium; skipped without it);
# refreshes the screenshots in docs/images/ (make test runs the same tests and leaves them alone).
test-browser: $(STAMP)
	AUTOML_LITE_SCREENSHOTS=1 $(BIN)/python -m pytest -q -p no:xdist -m browser tests/browser

lint: $(STAMP)
	$(BIN)/ruff check automl_lite lambdas training_image cdk_app tests benchmarks scripts
	$(BIN)/ruff format --check .
	$(BIN)/mypy

lock: $(STAMP)
	$(UV) lock
	$(BIN)/python scripts/pin_images.py

upgrade: $(STAMP)
	$(UV) lock --upgrade
	$(BIN)/python scripts/pin_images.py
	$(MAKE) test lint

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache
