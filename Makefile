# fluxio: few targets. `make test` is the README's test command after `make install`.
PYTHON ?= python3
CHAOS_SCALE ?= 5

.PHONY: install lint test bench chaos demo

install:
	$(PYTHON) -m pip install -e '.[dev]'

lint:
	ruff format --check src tests bench
	ruff check src tests bench
	mypy
	lint-imports

test: lint
	$(PYTHON) -m pytest

bench:
	$(PYTHON) bench/run.py --runs 5

chaos:
	FLUXIO_CHAOS_SCALE=$(CHAOS_SCALE) $(PYTHON) -m pytest tests/recovery -m slow

demo:
	fluxio demo
