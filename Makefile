# Two entry points: `make demo` and `make test`. Each installs what it needs on a fresh Debian 12 machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEBSTAMP := $(VENV)/.debian-deps
PYTHON ?= python3

.PHONY: demo demo-ui test lint typecheck bench deps clean openapi screenshots image image-smoke image-boot

deps: $(STAMP)

$(DEBSTAMP): scripts/install-debian-deps.sh
	bash scripts/install-debian-deps.sh
	@mkdir -p $(VENV) && touch $@

$(STAMP): $(DEBSTAMP) pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[hq,dev]'
	@touch $@

## The whole appliance on embedded defaults: local HQ, simulated gateway, emulated printer, camera from images.
## With a screen it opens the touch UI; without one it runs scripted customers and writes receipts and screenshots.
demo: deps
	$(VENV)/bin/kiosk demo --out demo-out

test: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	# three worker processes, one test file each at a time: the suite waits on servers, subprocesses
	# and Xvfb more than it computes, so on a 2-core machine with a CPU-bound process beside it three
	# workers took 808 s where two took 964 s (2026-12-02, docs/benchmarks.md "Test suite"); the slow
	# and Kivy files go first (tests/conftest.py) so that the workers finish together
	$(VENV)/bin/pytest -q -n 3 --dist loadfile

lint: deps
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

typecheck: deps
	$(VENV)/bin/mypy

bench: deps
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

## A PNG of every customer screen in zh_CN and en at 1024x600 and 800x480, into docs/screens/ (Xvfb)
screenshots: deps
	PY=$(PY) bash scripts/screenshots.sh

## HQ's OpenAPI document, committed as docs/hq-openapi.json (a test checks it matches the code)
openapi: deps
	$(VENV)/bin/hq openapi --out docs/hq-openapi.json

## The Raspberry Pi SD-card image (pi-gen in Docker; image/README.md says what the host needs).
## Pass a bundle, the TUF root and IT's SSH keys with IMAGE_ARGS="--bundle kiosk.tar --ota-root 1.root.json --it-keys it.pub" (without --it-keys SSH stays off until IT's list is put on the card).
image: deps
	bash image/build.sh $(IMAGE_ARGS)

## The image's install path in an arm64 Debian 13 root (debootstrap; qemu on x86-64), as root:
## install-kiosk.sh, systemd-analyze verify, first boot, kiosk doctor, a headless demo against a local HQ.
## Tens of minutes under emulation, so not part of make test (docs/benchmarks.md, "Image smoke").
image-smoke: deps
	bash image/smoke.sh $(SMOKE_ARGS)

## Boots the root image-smoke saved, as a disk in qemu-system-aarch64, twice, as root: the data partition,
## the read-only root, the kiosk up (Type=notify), the watchdog restarting a hung kiosk, what a reboot keeps.
## Run image-smoke first. Tens of minutes under emulation (docs/benchmarks.md, "Image boot").
image-boot: deps
	bash image/qemu-boot/run.sh $(BOOT_ARGS)

clean:
	rm -rf $(VENV) demo-out .pytest_cache .mypy_cache .ruff_cache *.egg-info
