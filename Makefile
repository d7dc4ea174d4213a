# Two entry points do everything on a fresh machine: `make run`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test install install-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(STAMP)

install: $(STAMP)
install-test: $(TEST_STAMP)

# A local 3-shard cluster on ports 7000-7002 (Ctrl-C stops it).
run: $(STAMP)
	$(BIN)/shardis cluster start --shards 3 --port 7000

test: $(TEST_STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

bench: $(TEST_STAMP)
	$(BIN)/python bench/node_vs_redis.py

clean:
	rm -rf $(VENV) build *.egg-info
