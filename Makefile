# The two commands of the README: `make demo` and `make test`. Both build the
# virtualenv (.venv) from nothing when it is missing or requirements changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.seg_perception-installed
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: venv demo test lint bench clean

venv: $(STAMP)

$(STAMP): requirements.txt setup.py setup.cfg package.xml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.txt
	$(PIP) install --no-deps -e .
	@touch $(STAMP)

# `make demo BAG=seg_perception/samples/bags/camvid_sample.mcap` plays a bag's frames
demo: $(STAMP)
	$(BIN)/seg-perception demo $(if $(BAG),--bag $(BAG))

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/seg-perception bench

clean:
	rm -rf $(VENV) build install log out .pytest_cache
