# Bastion: the two commands a newcomer needs are `make run` and `make test`.
SWIFT ?= swift
BIN_RELEASE := .build/release

.PHONY: deps build release run test bench clean

deps:
	./scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product bastion-api
	$(SWIFT) build -c release --product bastion-worker
	$(SWIFT) build -c release --product bastion-janitor

## Install what is missing, build release binaries and start api + worker + janitor (Ctrl-C stops them).
run: release
	honcho start

## Install what is missing, build, and run every test (unit and process tests on the real binaries).
test: deps
	$(SWIFT) build
	$(SWIFT) test --no-parallel

## Benchmarks: print figures next to in-run baselines.
bench: deps
	$(SWIFT) build -c release --product bastion-bench
	$(BIN_RELEASE)/bastion-bench bus

clean:
	rm -rf .build
