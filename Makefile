# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# anatomy.containers: `make site` runs the main job, `make test` passes the tests.
# Every target does its own set-up: Debian packages (from bindep.txt), a venv with the
# pinned toolchain (requirements-dev.txt), the collection built and installed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
BUILD := .build
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL := $(BUILD)/dist/anatomy-containers-$(VERSION).tar.gz
# The collection as built and installed: what site.yml, integration tests and Molecule use.
INSTALL := $(abspath $(BUILD))/install
# This checkout itself as anatomy.containers: what unit tests import.
DEV := $(abspath $(BUILD))/collections
SITE_LAB ?= site
SITE_HOSTS ?= 1
PYTEST_FLAGS ?= -q -p no:cacheprovider --import-mode=importlib

export ANSIBLE_COLLECTIONS_PATH := $(INSTALL)
export ANATOMY_COLLECTIONS_PATH := $(INSTALL)
export ANSIBLE_HOST_KEY_CHECKING := False
export ANSIBLE_PIPELINING := True
export PATH := $(BIN):$(PATH)

.PHONY: help setup system-deps venv collection site site-teardown site-down lab-up lab-down \
        test unit reuse sanity lint changelog-lint integration molecule bench clean

help:
	@echo 'make site   bring up the lab and run site.yml against it (SITE_HOSTS=$(SITE_HOSTS))'
	@echo 'make test   every quality gate: unit, reuse, sanity, lint, changelog, integration, molecule'
	@echo 'make site-down   remove the lab that make site brought up'

setup: system-deps venv

# Debian packages: what bindep.txt lists for the modules and the lab, installed when missing.
system-deps: $(BUILD)/system-deps.stamp
$(BUILD)/system-deps.stamp: bindep.txt | $(VENV)/.stamp
	@mkdir -p $(BUILD)
	missing="$$($(BIN)/bindep -b lab || true)"; \
	if [ -n "$$missing" ]; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	touch $@

venv: $(VENV)/.stamp
$(VENV)/.stamp: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(DEV)/ansible_collections/anatomy/containers:
	mkdir -p $(DEV)/ansible_collections/anatomy
	ln -sfn ../../../.. $@

# Build the artifact users install, and install it: a build_ignore mistake shows up here.
collection: $(VENV)/.stamp
	rm -rf $(BUILD)/dist $(INSTALL)
	$(BIN)/ansible-galaxy collection build --force --output-path $(BUILD)/dist . >/dev/null
	$(BIN)/ansible-galaxy collection install --force --no-deps -p $(INSTALL) $(TARBALL) >/dev/null
	@echo "installed anatomy.containers $(VERSION) into $(INSTALL)"

lab-up: setup
	$(BIN)/python -m tests.lab --lab $(SITE_LAB) up --hosts $(SITE_HOSTS)

lab-down:
	$(PYTHON) -m tests.lab --lab $(SITE_LAB) down

SITE_INVENTORY := -i /var/lib/anatomy-lab/labs/$(SITE_LAB)/inventory.yml -i inventories/demo

site: setup collection lab-up
	$(BIN)/ansible-playbook $(SITE_INVENTORY) site.yml
	$(BIN)/ansible-playbook $(SITE_INVENTORY) playbooks/demo_check.yml
	@echo "The lab stays up: 'python3 -m tests.lab --lab $(SITE_LAB) ssh h1' to look, 'make site-down' to remove it."

site-teardown:
	$(BIN)/ansible-playbook $(SITE_INVENTORY) playbooks/teardown.yml

site-down: lab-down

test: setup unit reuse sanity lint changelog-lint integration molecule

unit: $(VENV)/.stamp $(DEV)/ansible_collections/anatomy/containers
	PYTHONPATH=$(DEV) $(BIN)/pytest $(PYTEST_FLAGS) tests/unit

# Licensing (https://reuse.software): every file has a licence and copyright, in its header or in REUSE.toml.
reuse: $(VENV)/.stamp
	$(BIN)/reuse lint

# ansible-test needs the collection under ansible_collections/NAMESPACE/NAME: a copy of the
# files git knows, so nothing untracked or ignored is checked. The copy gets a git repository of
# its own, or ansible-test would find this one, where .build/ is ignored, and check nothing.
# ansible-test --venv bootstraps pip with a script from a host this machine cannot reach; pip
# runs as well from its own wheel, which PyPI serves. Its version is the one ansible-test asks for.
PIP_BOOTSTRAP_VERSION := 24.2
PIP_BOOTSTRAP := $(HOME)/.ansible/test/cache/get_pip_$(subst .,_,$(PIP_BOOTSTRAP_VERSION)).py
$(PIP_BOOTSTRAP): tests/sanity/get_pip_from_wheel.py | $(VENV)/.stamp
	mkdir -p $(dir $@)
	$(BIN)/pip download -q --disable-pip-version-check --no-deps --only-binary=:all: -d $(dir $@) pip==$(PIP_BOOTSTRAP_VERSION)
	cp tests/sanity/get_pip_from_wheel.py $@

sanity: $(VENV)/.stamp $(PIP_BOOTSTRAP)
	rm -rf $(BUILD)/sanity
	mkdir -p $(BUILD)/sanity/ansible_collections/anatomy/containers
	git ls-files -z --cached --others --exclude-standard \
	  | rsync -a --from0 --files-from=- ./ $(BUILD)/sanity/ansible_collections/anatomy/containers/
	cd $(BUILD)/sanity/ansible_collections/anatomy/containers \
	  && git init -q && git add -A \
	  && $(BIN)/ansible-test sanity --venv --python 3.11 --color no

lint: $(VENV)/.stamp
	$(BIN)/ansible-lint --profile production

changelog-lint: $(VENV)/.stamp
	$(BIN)/antsibull-changelog lint

# The tests wait on SSH and Ansible far more than on the CPU: three workers, each with a lab of
# its own, a test file per worker at a time (a file's tests share their host's state).
INTEGRATION_WORKERS ?= 3
integration: setup collection $(DEV)/ansible_collections/anatomy/containers
	PYTHONPATH=$(DEV) $(BIN)/pytest $(PYTEST_FLAGS) -n $(INTEGRATION_WORKERS) --dist loadfile tests/integration

molecule: setup collection
	$(BIN)/molecule test --all

bench: setup collection
	@for script in bench/*.sh; do [ -e "$$script" ] && bash "$$script"; done; true

clean: lab-down
	rm -rf $(BUILD) $(VENV) .ansible
