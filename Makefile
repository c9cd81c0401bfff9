# Two commands: `make up` (set up, then run the main job) and `make test` (set up, then test).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)

# The learning tier's own environment (issue 13): Python 3.12 with LeRobot, which cannot share the
# runtime's pins. Its pins are constraints-learn.txt (a pip freeze of a working build); the project
# is installed there without dependencies so `python -m dynamical.learning.lerobot_side.<worker>` runs.
LEARN_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python) \
	$(shell python3.12 --version >/dev/null 2>&1 && command -v python3.12))
LEARN_VENV := .venv-learn
LEARN_STAMP := $(LEARN_VENV)/.installed-$(shell cat constraints-learn.txt | sha1sum | cut -c1-12)

# Fleet learning's Flower apps (issue 14): Flower 1.42 pins protobuf < 7, the runtime's OpenTelemetry
# needs 7, so Flower + Ray + TenSEAL + Opacus get their own Python 3.11 environment (pins:
# constraints-fleet.txt, a pip freeze of a working build); the project is installed without dependencies.
FLEET_VENV := .venv-fleet
FLEET_STAMP := $(FLEET_VENV)/.installed-$(shell cat constraints-fleet.txt | sha1sum | cut -c1-12)

# The dashboard (ui/): npm ci when the lock file changes, a build when any of its sources do.
UI_STAMP := ui/node_modules/.installed-$(shell cat ui/package-lock.json | sha1sum | cut -c1-12)
UI_SOURCES := $(shell find ui/src ui/public -type f 2>/dev/null) $(wildcard ui/*.html ui/*.ts ui/*.json)

.PHONY: up test setup learn fleet ui lint clean

# The two environments and the dashboard are independent: build them side by side (mostly downloads).
# A recipe's own lines still run in order.
MAKEFLAGS += -j3

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.0.1
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	# gym-aloha ships the ViperX MJCF we load through a profile. Its own dependencies pin an
	# older MuJoCo, and we only read its XML files, so it is installed without them.
	$(BIN)/python -m pip install --quiet -c constraints.txt --no-deps gym-aloha
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

$(LEARN_STAMP): constraints-learn.txt
	@test -n "$(LEARN_PYTHON)" || { echo "Python 3.12 is needed for $(LEARN_VENV): pyenv install 3.12, or python3.12 on PATH, or make LEARN_PYTHON=/path/to/python3.12"; exit 1; }
	test -x $(LEARN_VENV)/bin/python || $(LEARN_PYTHON) -m venv $(LEARN_VENV)
	$(LEARN_VENV)/bin/python -m pip install --quiet --upgrade pip==26.0.1
	$(LEARN_VENV)/bin/python -m pip install --quiet -c constraints-learn.txt 'lerobot[dataset,diffusion]' onnx onnxruntime onnxscript
	$(LEARN_VENV)/bin/python -m pip install --quiet --no-deps -e .
	rm -f $(LEARN_VENV)/.installed-*
	touch $(LEARN_STAMP)

learn: $(LEARN_STAMP)

$(FLEET_STAMP): constraints-fleet.txt
	test -x $(FLEET_VENV)/bin/python || $(PYTHON) -m venv $(FLEET_VENV)
	$(FLEET_VENV)/bin/python -m pip install --quiet --upgrade pip==26.0.1
	$(FLEET_VENV)/bin/python -m pip install --quiet -c constraints-fleet.txt 'flwr[simulation]' tenseal opacus torch numpy pydantic
	$(FLEET_VENV)/bin/python -m pip install --quiet --no-deps -e .
	rm -f $(FLEET_VENV)/.installed-*
	touch $(FLEET_STAMP)

fleet: $(FLEET_STAMP)

$(UI_STAMP): ui/package.json ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund --loglevel=error
	touch $(UI_STAMP)

ui/dist/index.html: $(UI_STAMP) $(UI_SOURCES)
	cd ui && npm run build
	touch ui/dist/index.html

ui: ui/dist/index.html

setup: $(STAMP) $(LEARN_STAMP) $(FLEET_STAMP) ui

up: $(STAMP) $(LEARN_STAMP) $(FLEET_STAMP) ui
	$(BIN)/dynamical up

lint: $(STAMP)
	$(BIN)/ruff check src tests

# The server's database tests also run on PostgreSQL: scripts/with-postgres installs it with apt
# when missing, starts a throwaway cluster for the run and sets DYNAMICAL_TEST_POSTGRES_URL.
# The dashboard's browser tests drive Debian's Chromium: scripts/ensure-chromium installs it.
# Their screenshots land in artifacts/e2e/<agent mode>/.
# The tests that bound a rate or a latency (marked timing) run apart, beside two CPU-bound
# busy processes (scripts/with-load): a user's laptop is never idle, and their bounds must hold there.
# The rest run as two pytest-xdist workers, a test file to a worker (its fixtures start once): most
# tests are one single-threaded process, so one at a time left a core idle and CI over 40 minutes.
test: $(STAMP) $(LEARN_STAMP) $(FLEET_STAMP) ui
	$(BIN)/ruff check src tests
	cd ui && npm test
	CHROMIUM_PATH=$$(scripts/ensure-chromium) scripts/with-postgres $(BIN)/pytest -m "not timing" -n 2 --dist loadfile
	scripts/with-postgres scripts/with-load $(BIN)/pytest -m timing

clean:
	rm -rf $(VENV) $(LEARN_VENV) $(FLEET_VENV) ui/node_modules ui/dist
