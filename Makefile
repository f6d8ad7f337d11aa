# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install browser lint clean

run: install
	$(BIN)/litreview init
	$(BIN)/litreview load-sample
	$(BIN)/litreview serve --host $(HOST) --port $(PORT)

test: install browser
	$(BIN)/pytest

# The browser tests use Debian's chromium; install it when missing and we may (root).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "install Debian's chromium package (sudo apt-get install chromium) for the browser tests"; exit 1; fi; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,team]'
	touch $@

clean:
	rm -rf $(VENV) instance .pytest_cache
