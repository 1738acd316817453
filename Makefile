# make up: install into .venv and run everything on the embedded defaults.
# make test: install and run the whole test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install up test lint format bench browser clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP)

# Browser tests drive Debian's Chromium; espeak-ng makes test speech; the colour emoji
# font lets reactions render; axe-core (npm) checks the pages' accessibility; coturn
# (TURN) and nginx (an HLS cache) stand in front of the room server in the tests.
AXE := $(VENV)/npm/node_modules/axe-core/axe.min.js

browser: $(AXE)
	@command -v chromium >/dev/null 2>&1 && command -v espeak-ng >/dev/null 2>&1 \
	  && command -v turnserver >/dev/null 2>&1 && [ -x /usr/sbin/nginx ] \
	  && [ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || { \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium espeak-ng \
	    fonts-noto-color-emoji coturn nginx; }

$(AXE):
	npm install --silent --no-audit --no-fund --prefix $(VENV)/npm axe-core@4.14

up: install
	$(BIN)/spaces up

# The suite runs in TEST_PROCESSES processes at once (pytest-xdist), a file's tests in one.
TEST_PROCESSES ?= 2

test: install browser
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist loadfile --no-loadscope-reorder

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/spaces bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
