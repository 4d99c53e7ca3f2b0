# dlcourse: `make demo` and `make test` bootstrap .venv by themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_PIN := $(shell grep -E '^torch==' constraints.txt)
STAMP := $(VENV)/.installed

.PHONY: demo test install clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned: an unpinned resolve would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet "$(TORCH_PIN)"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

# The test suite starts a real PostgreSQL server (gradebook tests): its
# binaries come from the system's package manager when missing.
SYSTEM_STAMP := $(VENV)/.system-deps
$(SYSTEM_STAMP): | $(STAMP)
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; \
	  else echo "PostgreSQL server binaries missing: install the postgresql package for the gradebook tests"; fi; \
	fi
	@# bubblewrap: the grading sandbox's allow-list filesystem (grading refuses without it)
	@if ! command -v bwrap >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap; \
	  else echo "bwrap missing: install the bubblewrap package for the sandbox tests"; fi; \
	fi
	touch $(SYSTEM_STAMP)

install: $(STAMP)

demo: $(STAMP)
	rm -rf demo-course
	$(BIN)/dlcourse demo --course demo-course

test: $(STAMP) $(SYSTEM_STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup tests

clean:
	rm -rf $(VENV) demo-course dist build
