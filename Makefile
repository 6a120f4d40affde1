# wgbot: the two commands of the README, and the developer workflow.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run# what running needs: the package and its dependencies
STAMP := $(VENV)/.installed# that and the test tools (pytest, ruff, import-linter ...)

.PHONY: run test test-unit test-e2e lint messages setup-e2e clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP) $(RUN_STAMP)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

setup-e2e: node_modules/.package-lock.json

## Set up and run the bot: against Telegram when TELEGRAM_BOT_TOKEN is set, else the local console.
run: $(RUN_STAMP)
	$(BIN)/wgbot

## Set up and run the whole test suite (unit, dispatcher, end-to-end; PostgreSQL too when
## TEST_DATABASE_URL is set).
test: $(STAMP) setup-e2e lint
	$(BIN)/pytest -q

test-unit: $(STAMP)
	$(BIN)/pytest -q -m "not e2e"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

## Extract messages from the code and merge them into every catalog.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k __ -k N_ -k translate --no-location \
		--sort-output --project wgbot -o locales/messages.pot .
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching

clean:
	rm -rf $(VENV) node_modules
