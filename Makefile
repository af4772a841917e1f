# StockRace: `make run` starts the whole stack, `make test` runs every test.
# Both create .venv and install on first use; nothing else is needed but Python 3.11+ and npm.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: run test install assets browsers stop status bench clean help

help:
	@echo "make run     install, migrate, seed the demo and start every process (Ctrl-C stops all)"
	@echo "make test    install and run the whole test suite"
	@echo "make stop    stop the embedded PostgreSQL and Redis if something left them running"
	@echo "make status  show whether the embedded services run"

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (found " + sys.version.split()[0] + ")")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing Python packages into $(VENV)..."
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

assets:
	@./scripts/fetch_assets.sh

browsers:
	@./scripts/install_browser.sh

run: install assets
	@$(BIN)/python -m stockrace.launcher

test: install assets browsers
	@$(BIN)/python -m stockrace.embedded exec -- $(BIN)/python -m pytest $(PYTEST_ARGS)

stop:
	@$(BIN)/python -m stockrace.embedded stop

status:
	@$(BIN)/python -m stockrace.embedded status

clean:
	rm -rf $(VENV) var static/vendor
