# minidocker: the two commands a new user runs are `make demo` and `make test`.
PY := .venv/bin/python
export PATH := $(CURDIR)/.venv/bin:$(PATH)

.PHONY: setup setup-dev demo test test-unit test-integration lint bench man clean

setup:
	scripts/setup

setup-dev:
	scripts/setup --dev

# The main job: set up, then run a container from the default busybox image.
demo: setup
	scripts/demo

test: setup-dev
	$(PY) -m pytest -q tests

test-unit: setup-dev
	$(PY) -m pytest -q tests/unit

test-integration: setup-dev
	$(PY) -m pytest -q tests/integration

lint: setup-dev
	$(PY) -m ruff check src tests
	$(PY) -m mypy

bench: setup-dev
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# man pages of every command (build/man/man1), made from the flag tables: man -l FILE
man: setup
	$(PY) -m minidocker.cli.manpages build/man/man1

clean:
	rm -rf .venv images build .pytest_cache .mypy_cache .ruff_cache
