# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

SARIF_SCHEMA := $(VENV)/share/sarif-schema-2.1.0.json

.PHONY: venv demo test lint bench clean fuzz

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

test: venv $(SARIF_SCHEMA) vsix grammar-deps
	$(BIN)/python -m pytest -q

# ruff and mypy at the exact versions pyproject.toml pins; mypy checks server,
# tests, bench and tools (pyproject.toml lists them).
lint: venv
	$(BIN)/ruff check server tests bench tools
	$(BIN)/ruff format --check server tests bench tools
	$(BIN)/mypy

# `make bench BIG=1` adds a generated 360 MB log, `HUGE=1` a 1 GB one.
bench: venv
	$(BIN)/python bench/run.py $(if $(BIG),--big) $(if $(HUGE),--huge)
	$(BIN)/python bench/lsp.py
	$(BIN)/python bench/pdb.py

# The long fuzz run of the language server (a short one is part of `make test`).
# FUZZ_SECONDS (default 600), FUZZ_SEED (first seed, default 1000), FUZZ_STEPS,
# FUZZ_BIG=0 (no 200,000-row documents), FUZZ_KNOWN_SLOW=1 (also the known-slow requests).
# New failures land in tests/fuzz/corpus/, which the normal test run replays.
fuzz: venv
	$(BIN)/python tests/fuzz/run.py

clean:
	rm -rf $(VENV) build *.egg-info server/*.egg-info .pytest_cache .mypy_cache .ruff_cache bench/out

# The VS Code extension (client/). `make client` installs the npm packages
# exactly as client/package-lock.json pins them (install scripts off: nothing
# is fetched beyond the registry packages), type-checks and bundles;
# `make vsix` packages kdlens-<version>.vsix at the top of the checkout.
# The build also installs the server's libraries, pinned with hashes in
# client/server-requirements.lock, into the package with pip (this machine may
# use the package index; a user's machine never needs one): the pip of .venv
# when it exists (`make test` makes it first), else that of $(PYTHON).
# Under `make test` a machine without npm only gets a note (the extension's
# tests then skip); asked for directly, both targets need npm.
CLIENT_STAMP := client/node_modules/.kdlens-installed
NPM := $(shell command -v npm 2>/dev/null)
BUILD_PYTHON = $(if $(wildcard $(BIN)/python),$(abspath $(BIN)/python),$(if $(findstring /,$(PYTHON)),$(abspath $(PYTHON)),$(PYTHON)))

.PHONY: client vsix client-clean

test: KDLENS_NPM_OPTIONAL := 1

ifeq ($(NPM),)
client vsix:
	@if [ -n "$(KDLENS_NPM_OPTIONAL)" ]; then \
	  echo "note: npm not found; the VS Code extension is not built and its tests will be skipped"; \
	else \
	  echo "make $@: npm (Node.js 20 or newer) is needed to build the VS Code extension" >&2; exit 1; \
	fi
else
$(CLIENT_STAMP): client/package.json client/package-lock.json
	cd client && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

client: $(CLIENT_STAMP)
	cd client && npm run --silent lint && KDLENS_BUILD_PYTHON="$(BUILD_PYTHON)" npm run --silent build

vsix: client
	cd client && KDLENS_BUILD_PYTHON="$(BUILD_PYTHON)" npm run --silent package
endif

client-clean:
	rm -rf client/node_modules client/out client/out-test client/syntaxes client/server kdlens-*.vsix

# End-to-end: the packaged extension in a real VS Code for the web (code-server
# driven through Debian's Chromium). The first run on a machine installs
# code-server into ~/.cache/kdlens-e2e; screenshots go to tests/e2e/out/.
.PHONY: e2e
e2e: vsix
	bash tests/e2e/run.sh

# Node tools of the grammar tests in tests/grammar (vscode-tmgrammar-test, pinned by
# its package-lock.json). `npm ci` runs again when node_modules is missing or older
# than the lock file; without npm there is only a note and those tests skip.
GRAMMAR_DIR   := tests/grammar
GRAMMAR_STAMP := $(GRAMMAR_DIR)/node_modules/.kdlens-installed

.PHONY: grammar-deps
grammar-deps: $(GRAMMAR_STAMP)

$(GRAMMAR_STAMP): $(GRAMMAR_DIR)/package-lock.json $(GRAMMAR_DIR)/package.json
	@if command -v npm >/dev/null 2>&1; then \
	  cd $(GRAMMAR_DIR) && npm ci --ignore-scripts --no-audit --no-fund && touch node_modules/.kdlens-installed; \
	else \
	  echo "note: npm not found; the grammar tests will be skipped"; \
	fi
