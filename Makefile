# hybrid — set-up, demo and tests on a fresh Debian machine with Python 3.11.
# `make demo` and `make test` do all set-up themselves (venv, package, Tesseract).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEBIAN_PACKAGES := tesseract-ocr tesseract-ocr-deu tesseract-ocr-eng poppler-utils postgresql chromium

.PHONY: setup system-packages demo test benchmark benchmark-sms clean

setup: system-packages $(VENV)/.installed

# Debian packages: installed with apt-get when missing and running as root, else named.
system-packages:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing Debian packages:$$missing"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	  else \
	    echo "Missing Debian packages:$$missing"; \
	    echo "Install them with: sudo apt-get install$$missing"; exit 4; \
	  fi; \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

demo: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash samples/demo.sh

test: setup
	$(PY) -m pytest

benchmark: setup
	$(PY) benchmarks/print_speed.py

benchmark-sms: setup
	$(PY) benchmarks/sms_load.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache
