# The two commands: `make demo` and `make test`. Both set up what they need.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# apt-get as root, or through sudo when we are not root.
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

PORT   ?= 8080
UI     := kiosk_ui
UI_STAMP := $(UI)/node_modules/.installed
# The official socket.io-client, as the pages load it (the wheel ships this copy).
VENDOR := $(UI)/static/vendor/socket.io.esm.min.js

.PHONY: demo test lint types pytest system-deps system-deps-demo venv ui bench clean

demo: venv system-deps-demo
	$(BIN)/storeedge demo --port $(PORT)

test: venv system-deps lint types pytest

venv: $(STAMP)

# Front-end dependencies from the npm registry, pinned by the lockfile; Debian's npm
# is installed when the machine has none.
ui: $(VENDOR)

$(UI_STAMP): $(UI)/package.json $(UI)/package-lock.json
	@command -v npm >/dev/null || { echo "installing: npm"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq npm; }
	cd $(UI) && npm ci --no-audit --no-fund --loglevel=error
	touch $(UI_STAMP)

$(VENDOR): $(UI_STAMP)
	mkdir -p $(UI)/static/vendor
	cp $(UI)/node_modules/socket.io-client/dist/socket.io.esm.min.js $(VENDOR)

$(STAMP): pyproject.toml $(VENDOR)
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required (Debian 12: apt-get install python3 python3-venv)"; exit 1; }
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# mosquitto for the broker, chromium for browser tests, dbus-daemon and Debian's
# python3-dbusmock (run under /usr/bin/python3) for the BlueZ stand-in.
system-deps:
	@missing=""; \
	command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing="$$missing mosquitto"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v dbus-daemon >/dev/null || missing="$$missing dbus"; \
	/usr/bin/python3 -c 'import dbusmock' 2>/dev/null || missing="$$missing python3-dbusmock"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

system-deps-demo:
	@command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || { \
	  echo "installing: mosquitto"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq mosquitto; }

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: venv
	$(BIN)/mypy

pytest: venv
	$(BIN)/pytest -q

bench: venv
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis $(UI)/node_modules $(UI)/static/vendor
