# Launchplane developer tasks. `make help` lists them.
# The README's two set-up commands are `make demo` (the main job) and `make test` (the tests).

CARGO ?= cargo
SHELL := /bin/bash

.PHONY: help build plugin demo test fmt fmt-check clippy core-deps-check unit crds crds-check chart-crds chart-check e2e cluster-start cluster-stop bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build every crate
	$(CARGO) build --workspace --all-targets

TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)

# The `launchplane` binary exactly as `cargo test --workspace` builds it (same features, so
# the same artifact): `cargo run -p launchplane` resolves features for one package and would
# compile the controller a second time (~250 MB of target/) only to print the CRDs.
LAUNCHPLANE := $(TARGET_DIR)/debug/launchplane
define build-launchplane
	$(CARGO) build -q --workspace --bins --tests
endef

# kubectl finds a plugin by its file name on PATH: the same binary, copied under the plugin's
# name, takes the plugin's commands directly (docs/kubectl-plugin.md; `ln -s` works as well).
plugin: ## build the kubectl plugin: target/debug/kubectl-launchplane, next to the launchplane binary
	$(CARGO) build -q -p launchplane --bin launchplane
	cp -f $(LAUNCHPLANE) $(TARGET_DIR)/debug/kubectl-launchplane
	@echo "built $(TARGET_DIR)/debug/kubectl-launchplane: put it on PATH, then run: kubectl launchplane status"

demo: ## the main job: standalone reconcile of docs/examples/ against the Dokploy simulator
	$(CARGO) build -q -p launchplane --bin launchplane --example demo
	$(TARGET_DIR)/debug/examples/demo $(TARGET_DIR)/debug/launchplane

test: fmt-check clippy core-deps-check unit crds-check chart-check e2e ## everything CI runs
	@echo "make test: all checks passed"

fmt: ## format the code
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The reconcile core does no I/O: Cargo keeps kube's client and runtime, HTTP clients and tokio
# out of its dependency tree, and this check keeps it that way.
CORE_FORBIDDEN := kube-client kube-runtime reqwest hyper tokio rustls
core-deps-check: ## fail when launchplane-core depends on an I/O crate
	@deps=$$($(CARGO) tree -q -p launchplane-core -e normal --prefix none | awk '{print $$1}' | sort -u); \
	bad=$$(for c in $(CORE_FORBIDDEN); do echo "$$deps" | grep -qx "$$c" && echo "$$c"; done); \
	if [ -n "$$bad" ]; then echo "launchplane-core depends on I/O crates: $$bad" >&2; exit 1; fi; \
	echo "launchplane-core depends on no I/O crate"

unit: ## every Rust test but the e2e tier (make e2e runs that, against a real API server)
	$(CARGO) test --workspace --no-fail-fast -- --skip on_a_real_cluster

crds: ## regenerate crds/ (and the chart's copy) from the Rust types
	$(build-launchplane)
	$(LAUNCHPLANE) crds --out-dir crds
	$(MAKE) chart-crds

crds-check: ## fail when crds/ differs from what the code generates
	$(build-launchplane)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(LAUNCHPLANE) crds --out-dir "$$tmp" 2>/dev/null && \
	if ! diff -ru crds "$$tmp"; then echo "crds/ is out of date: run 'make crds' and commit the result" >&2; exit 1; fi
	@echo "crds/ matches the code"

chart-crds: ## copy crds/ into the Helm chart
	mkdir -p charts/launchplane/crds
	rm -f charts/launchplane/crds/*.yaml
	cp crds/*.yaml charts/launchplane/crds/

chart-check: ## helm lint + template + chart CRDs equal crds/ (installs helm locally)
	./scripts/check-chart.sh

e2e: ## e2e tests on a real API server: KUBECONFIG's, else the local one built from Go modules
	./scripts/e2e.sh

cluster-start: ## start the local API server (scripts/cluster.sh); prints its KUBECONFIG
	./scripts/cluster.sh start

cluster-stop: ## stop the local API server
	./scripts/cluster.sh stop

bench: ## benchmarks against the Dokploy simulator; prints a table, writes target/bench/*.json
	./scripts/bench.sh
