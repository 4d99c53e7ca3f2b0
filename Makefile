# dlcourse: `make demo` and `make test` bootstrap .venv by themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_PIN := $(shell grep -E '^torch==' constraints.txt)
STAMP := $(VENV)/.installed

.PHONY: demo demo-all test install clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned: an unpinned resolve would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet "$(TORCH_PIN)"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

# The test suite starts a real PostgreSQL server (gradebook tests) and a real
# JupyterHub driven in a real browser (tests/hub): what is missing comes from
# the system's package manager (postgresql, chromium) and npm
# (configurable-http-proxy).
SYSTEM_STAMP := $(VENV)/.system-deps
$(SYSTEM_STAMP): | $(STAMP)
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	  else echo "missing system packages:$$missing (the gradebook and hub tests need them)"; fi; \
	fi
	@if ! command -v configurable-http-proxy >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v npm >/dev/null 2>&1; then npm install -g --silent configurable-http-proxy; \
	  else echo "configurable-http-proxy missing: npm install -g configurable-http-proxy (hub tests)"; fi; \
	fi
	@# bubblewrap: the grading sandbox's allow-list filesystem (grading refuses without it)
	@if ! command -v bwrap >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap; \
	  else echo "bwrap missing: install the bubblewrap package for the sandbox tests"; fi; \
	fi
	touch $(SYSTEM_STAMP)

install: $(STAMP)

# demo: one topic (perceptron), a few minutes; demo-all: every topic, about 25 minutes on 2 cores.
demo: $(STAMP)
	rm -rf demo-course
	$(BIN)/dlcourse demo --course demo-course

demo-all: $(STAMP)
	rm -rf demo-course
	$(BIN)/dlcourse demo --course demo-course --all-topics

test: $(STAMP) $(SYSTEM_STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup tests

clean:
	rm -rf $(VENV) demo-course dist build
