# Two entry points for a fresh machine: `make demo` and `make test` (what CI runs).
#
# Installs are locked: requirements.lock pins every direct and transitive dependency with its
# SHA-256 (pip-compile output, see `make lock`), and `make setup` installs exactly that, without
# resolving anything. torch is the CPU build (2.13.0+cpu): pip takes it from its configured
# find-links/indexes, else from PyTorch's CPU index (TORCH_INDEX).
PYTHON      ?= python3
VENV        ?= .venv
LOCK        ?= requirements.lock
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
PY          := $(VENV)/bin/python
PIP_FLAGS   := --quiet --disable-pip-version-check
STAMP       := $(VENV)/.installed

.PHONY: setup demo test test-slow test-latest lock clean

setup: $(STAMP)

$(STAMP): pyproject.toml $(LOCK) Makefile
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if v == (3, 11) else f"error: $(LOCK) is locked for CPython 3.11, $(PYTHON) is {v[0]}.{v[1]}; run make with PYTHON=python3.11, or make lock for your Python")'
	$(PYTHON) -m venv $(VENV)
	@awk '/^torch==/{p=1} p{print} p && !/\\$$/{exit}' $(LOCK) > $(VENV)/torch.lock
	@$(PY) -m pip install $(PIP_FLAGS) --require-hashes --no-deps -r $(VENV)/torch.lock 2>/dev/null || { \
	  echo "torch's CPU build is not in pip's configured indexes; trying $(TORCH_INDEX)"; \
	  $(PY) -m pip install $(PIP_FLAGS) --require-hashes --no-deps --extra-index-url $(TORCH_INDEX) -r $(VENV)/torch.lock; }
	$(PY) -m pip install $(PIP_FLAGS) --require-hashes --no-deps -r $(LOCK)
	$(PY) -m pip install $(PIP_FLAGS) --no-deps --no-build-isolation -e .
	@if $(PY) -m pip list 2>/dev/null | grep -qi '^nvidia-'; then \
	  echo "error: CUDA wheels were installed; torch must stay the CPU build" >&2; exit 1; fi
	touch $(STAMP)

demo: setup
	$(VENV)/bin/raynas search --searcher zc --compare optuna-gp

test: setup
	$(PY) -m pytest -q

test-slow: setup
	$(PY) -m pytest -q --runslow

# The canary before refreshing the lock: the newest versions pyproject.toml allows, in their own venv.
test-latest:
	rm -rf .venv-latest
	$(PYTHON) -m venv .venv-latest
	@awk '/^torch==/{p=1} p{print} p && !/\\$$/{exit}' $(LOCK) > .venv-latest/torch.lock
	@.venv-latest/bin/python -m pip install $(PIP_FLAGS) --require-hashes --no-deps -r .venv-latest/torch.lock 2>/dev/null || \
	  .venv-latest/bin/python -m pip install $(PIP_FLAGS) --require-hashes --no-deps --extra-index-url $(TORCH_INDEX) -r .venv-latest/torch.lock
	.venv-latest/bin/python -m pip install $(PIP_FLAGS) --upgrade --upgrade-strategy eager -c constraints.txt -e '.[test]'
	.venv-latest/bin/python -m pip install $(PIP_FLAGS) --no-deps alethiometer==1.1.2
	@if .venv-latest/bin/python -m pip list 2>/dev/null | grep -qi '^nvidia-'; then \
	  echo "error: CUDA wheels were installed; torch must stay the CPU build" >&2; exit 1; fi
	.venv-latest/bin/python -m pip list --format=freeze 2>/dev/null | grep -i -E '^(optuna|ray|torch|numpy|pandas|scikit-learn|scipy)=='
	.venv-latest/bin/python -m pytest -q

# Re-resolve the newest versions pyproject.toml allows (torch pinned by constraints.txt) into the lock.
lock:
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install $(PIP_FLAGS) pip-tools==7.6.2
	CUSTOM_COMPILE_COMMAND="make lock" .venv-lock/bin/pip-compile --quiet --upgrade --extra test --extra onnx --all-build-deps --generate-hashes --strip-extras \
	  --allow-unsafe --no-emit-index-url --no-emit-find-links -c constraints.txt -o $(LOCK) pyproject.toml
	.venv-lock/bin/python .ci/lock_peer.py $(LOCK) alethiometer==1.1.2

clean:
	rm -rf $(VENV) .venv-latest .venv-lock raynas_results
