# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

SARIF_SCHEMA := $(VENV)/share/sarif-schema-2.1.0.json

.PHONY: venv demo test lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "kdlens needs Python 3.10 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	@touch $(STAMP)

venv: $(STAMP)

# The official SARIF 2.1.0 schema, for the test that validates `kdlens check --format sarif`.
# It ships inside an npm package; fetched once, never committed.
$(SARIF_SCHEMA):
	@mkdir -p $(VENV)/share/tmp
	@if command -v npm >/dev/null 2>&1; then \
	  (cd $(VENV)/share/tmp && npm pack --silent @microsoft/jest-sarif@1.0.0-beta.0 >/dev/null && \
	   tar xzf microsoft-jest-sarif-1.0.0-beta.0.tgz package/lib/schemas/sarif-2.1.0-rtm.5.json && \
	   mv package/lib/schemas/sarif-2.1.0-rtm.5.json ../sarif-schema-2.1.0.json) || \
	  echo "note: could not fetch the SARIF schema; its test will be skipped"; \
	else echo "note: npm not found; the SARIF schema test will be skipped"; fi
	@rm -rf $(VENV)/share/tmp

demo: venv
	$(BIN)/kdlens check examples/mydriver-leak/kd-session.log examples/mydriver-leak/kd-session-nosymbols.log --symbol-path examples/mydriver-leak/symbols --fail-on never

test: venv $(SARIF_SCHEMA)
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check server tests bench
	$(BIN)/ruff format --check server tests bench
	$(BIN)/mypy

bench: venv
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info server/*.egg-info .pytest_cache .mypy_cache .ruff_cache bench/out
