# Two commands: `make up` (set up, then run the main job) and `make test` (set up, then test).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)

.PHONY: up test setup lint clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.0.1
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	# gym-aloha ships the ViperX MJCF we load through a profile. Its own dependencies pin an
	# older MuJoCo, and we only read its XML files, so it is installed without them.
	$(BIN)/python -m pip install --quiet -c constraints.txt --no-deps gym-aloha
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

up: $(STAMP)
	$(BIN)/dynamical up

lint: $(STAMP)
	$(BIN)/ruff check src tests

# The server's database tests also run on PostgreSQL: scripts/with-postgres installs it with apt
# when missing, starts a throwaway cluster for the run and sets DYNAMICAL_TEST_POSTGRES_URL.
test: $(STAMP)
	$(BIN)/ruff check src tests
	scripts/with-postgres $(BIN)/pytest

clean:
	rm -rf $(VENV)
