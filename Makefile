# opencoder — two commands:
#   make run    set up everything (Docker, runner image, web client) and serve on $PORT (default 4000)
#   make test   install what the tests need and run every test
SHELL := /bin/bash
.DEFAULT_GOAL := run
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: run test deps-test sandbox web web-deps build-release test-rust test-interop test-web test-e2e test-deploy bench clean

run: sandbox web build-release
	./target/release/opencoder serve

build-release: web
	$(CARGO) build --release -p opencoder

## The execution sandbox: Docker Engine (from Debian) and the runner image (mmdebstrap + docker import).
sandbox:
	scripts/ensure-docker.sh
	scripts/build-runner-image.sh

web-deps:
	cd web && npm ci --no-audit --no-fund

web: web-deps
	cd web && npm run build

## Everything the suites need beyond the Rust toolchain.
deps-test: sandbox
	scripts/ensure-gvisor.sh
	scripts/ensure-chromium.sh
	scripts/ensure-postgres.sh
	scripts/ensure-redis.sh
	scripts/ensure-docker-compose.sh

test: deps-test web
	$(MAKE) test-rust
	$(MAKE) test-interop
	$(MAKE) test-web
	$(MAKE) test-e2e
	$(MAKE) test-deploy

test-rust:
	$(CARGO) build -p opencoder
	$(CARGO) test --workspace --no-fail-fast

test-interop:
	cd tests/interop && npm ci --no-audit --no-fund && OPENCODER_BIN=$(CURDIR)/target/debug/opencoder npm test

test-web:
	cd web && npm run test:unit

# The single sign-on flow runs the interop suite's OpenID provider (tests/interop/oidc_provider.mjs).
test-e2e:
	cd tests/interop && npm ci --no-audit --no-fund
	cd e2e && npm ci --no-audit --no-fund && OPENCODER_BIN=$(CURDIR)/target/debug/opencoder WEB_DIST=$(CURDIR)/web/dist npm test

## The container images and both compose files (single node, cluster), deployed and smoke-checked
## (the debug binary in the image: no release build here).
test-deploy:
	$(CARGO) build -p opencoder
	test -d tests/interop/node_modules || (cd tests/interop && npm ci --no-audit --no-fund)
	OPENCODER_BIN=$(CURDIR)/target/debug/opencoder WEB_DIST=$(CURDIR)/web/dist tests/deploy/run.sh

bench:
	@cat bench/README.md

clean:
	$(CARGO) clean
	rm -rf web/dist web/node_modules tests/interop/node_modules e2e/node_modules artifacts
