# Two commands on a fresh machine: `make demo` and `make test`.
# Both create .venv with pinned dependencies on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Debian packages the tests drive for real: the browser for the analysts' app and
# Alertmanager for alert delivery. Installed with apt-get when missing (CI runs as root).
SYSTEM_BINARIES := /usr/bin/chromium /usr/bin/chromedriver /usr/bin/prometheus-alertmanager
SYSTEM_PACKAGES := chromium chromium-driver prometheus-alertmanager

.PHONY: demo test bench install clean system-packages

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -m flows.compiled_cache  # compiled loops into Numba's cache: no first-run compiling
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/revguard demo

system-packages:
	@for bin in $(SYSTEM_BINARIES); do test -x $$bin || missing=1; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $(SYSTEM_PACKAGES)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null; \
	fi

test: $(STAMP) system-packages
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .revguard
