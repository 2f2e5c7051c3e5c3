# Bastion: the two commands a newcomer needs are `make run` and `make test`.
SWIFT ?= swift
BIN_RELEASE := .build/release

.PHONY: deps build release ui ui-test api-types api-types-check browser-test run test bench clean format lint fuzz-build fuzz fuzz-smoke

deps:
	./scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product bastion-api
	$(SWIFT) build -c release --product bastion-worker
	$(SWIFT) build -c release --product bastion-janitor

## The web UI (web/) into Public/: content-hashed assets and index.html (docs/architecture.md, "Web UI").
ui: deps
	node web/build.mjs

## The UI's type check (tsc --noEmit, strict) and logic tests (node's test runner).
## The catalogue check (web/i18n-check.mjs) fails on any inline string shown to people in any file (docs/ui.md, "The
## checks"); I18N_ONLY=<files> limits what fails to those files (the others are still reported).
I18N_ONLY ?=

ui-test: deps
	cd web && tsc -p tsconfig.json
	node web/test.mjs
	node web/i18n-check.mjs $(if $(strip $(I18N_ONLY)),--only $(I18N_ONLY))

## The UI's types (web/src/api.types.ts) from the OpenAPI document `bastion-api --print-openapi` prints (docs/ui.md,
## "One contract"): `make api-types` writes them; `api-types-check` (in `make test`) fails when they are stale.
api-types: deps
	$(SWIFT) build --product bastion-api
	node web/gen-api-types.mjs --api .build/debug/bastion-api

api-types-check:
	node web/gen-api-types.mjs --api .build/debug/bastion-api --check

## The UI in Debian's Chromium (Playwright) against the debug binaries; screenshots in .build/ui-screenshots/.
browser-test: ui
	$(SWIFT) build
	rm -rf .build/ui-screenshots
	python3 Tests/Browser/ui_test.py
	python3 Tests/Browser/ui_i18n_test.py
	python3 Tests/Browser/ui_snapshots_test.py
	python3 Tests/Browser/ui_targets_test.py
	python3 Tests/Browser/ui_jobtypes_test.py
	python3 Tests/Browser/ui_dbrestore_test.py
	python3 Tests/Browser/ui_321_test.py
	python3 Tests/Browser/ui_i18n_pages_test.py
	python3 Tests/Browser/ui_charts_test.py
	python3 Tests/Browser/ui_a11y_test.py
	python3 Tests/Browser/ui_settings_test.py
	python3 Tests/Browser/ui_browse_files_test.py
	python3 Tests/Browser/ui_jobs_scale_test.py
	python3 Tests/Browser/ui_pages_test.py
	python3 Tests/Browser/ui_restore_where_test.py
	python3 Tests/Browser/ui_editor_test.py

## Install what is missing, build release binaries and the UI, and start api + worker + janitor (Ctrl-C stops them).
run: release ui
	honcho start

## Install what is missing, build, and run every test (unit, process, UI logic and browser tests on the real binaries).
test: deps lint ui-test ui
	$(SWIFT) build
	$(MAKE) --no-print-directory api-types-check
	$(SWIFT) test --no-parallel
	$(MAKE) --no-print-directory browser-test
	$(MAKE) --no-print-directory fuzz-smoke

## libFuzzer targets over every parser of outside input (docs/security.md, "Fuzzing"), built with ASan in .build-fuzz.
## `make fuzz` runs each for FUZZ_SECONDS and prints exec/s, time, corpus and crashes; crashing inputs go to
## .build-fuzz/crashes/. `make fuzz-smoke` (in `make test`) runs each for FUZZ_SMOKE_SECONDS and fails on a crash.
FUZZ_TARGETS := json jobspec bus tar manifest frames indexline cron requestpath agentmessage mariadbdump agepassphrase nameglob jobsbulk restorebody
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 5

fuzz-build: deps
	BASTION_FUZZ=1 $(SWIFT) build --scratch-path .build-fuzz --disable-index-store -Xswiftc -sanitize=fuzzer,address --product bastion-fuzz

fuzz: fuzz-build
	scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	scripts/fuzz.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

## Benchmarks: print figures next to in-run baselines.
bench: deps
	$(SWIFT) build -c release --product bastion-bench
	$(SWIFT) build -c release --product bastion-api
	$(BIN_RELEASE)/bastion-bench bus
	$(BIN_RELEASE)/bastion-bench claims
	$(BIN_RELEASE)/bastion-bench events
	$(BIN_RELEASE)/bastion-bench e2e
	$(BIN_RELEASE)/bastion-bench agents
	$(BIN_RELEASE)/bastion-bench fleet
	$(BIN_RELEASE)/bastion-bench runs
	$(BIN_RELEASE)/bastion-bench catalog
	node web/build.mjs
	python3 Tests/Browser/ui_bench.py
	$(SWIFT) build -c release --product bastion-worker
	$(BIN_RELEASE)/bastion-bench archive
	$(BIN_RELEASE)/bastion-bench archive --small-files 200000
	$(BIN_RELEASE)/bastion-bench targets
	$(BIN_RELEASE)/bastion-bench bandwidth
	$(BIN_RELEASE)/bastion-bench incremental
	$(BIN_RELEASE)/bastion-bench databases

clean:
	rm -rf .build

## Formatting (hummingbird's .swift-format); `make test` fails on lint warnings when swift-format is available.
format:
	$(SWIFT) format format --in-place --recursive Sources Tests Benchmarks Fuzz Package.swift

lint:
	@if $(SWIFT) format --version >/dev/null 2>&1; then $(SWIFT) format lint --strict --recursive Sources Tests Benchmarks Fuzz; else echo "swift format not available; skipping lint"; fi
