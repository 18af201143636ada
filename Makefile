# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt
STAMP  := $(VENV)/.installed

.PHONY: setup demo test test-slow clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) torch==2.13.0   # the CPU build, before anything that depends on torch
	$(PIP) -e '.[test]'
	$(PIP) --no-deps alethiometer==1.1.2   # test-only peer of the proxies; its torch stack is ours (DESIGN.md)
	@if $(PY) -m pip list 2>/dev/null | grep -qi '^nvidia-'; then \
	  echo "error: CUDA wheels were installed; torch must stay the CPU build" >&2; exit 1; fi
	touch $(STAMP)

demo: setup
	$(VENV)/bin/raynas search

test: setup
	$(PY) -m pytest -q

test-slow: setup
	$(PY) -m pytest -q --runslow

clean:
	rm -rf $(VENV) raynas_results
