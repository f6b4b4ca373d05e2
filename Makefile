# simjobs: `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
export CGO_ENABLED ?= 0
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
PLATFORMS := linux/amd64 linux/arm64 windows/amd64 windows/arm64 darwin/amd64 darwin/arm64
ARGS ?=
# CROSS_GCFLAGS lets CI compile the cross builds without optimisation
# (`make cross CROSS_GCFLAGS='all=-N -l'`): a third faster, same check.
CROSS_GCFLAGS ?=

.PHONY: help run build cross test test-short fuzz-short bench generate check-generated lint fmt clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

run: ## run the server on 127.0.0.1:8080 with data in ./simjobs-data (ARGS="--max-concurrent 2" adds flags)
	@echo "make run: building simjobs into bin/ (the first build takes a minute or two; later ones seconds)..."
	@$(GO) build -ldflags '$(LDFLAGS)' -o bin/simjobs ./cmd/simjobs
	@# The server itself, not go run: Ctrl-C drains it and make exits 0
	@# (go run would report the interrupt as a failure).
	bin/simjobs serve $(ARGS)

build: ## build the static binary ./simjobs
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o simjobs ./cmd/simjobs

cross: ## build for every supported OS and architecture into dist/
	@for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		echo "build $$os/$$arch"; \
		GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -gcflags '$(CROSS_GCFLAGS)' -ldflags '$(LDFLAGS)' -o dist/simjobs-$$os-$$arch$$ext ./cmd/simjobs || exit 1; \
	done

test: ## vet, then every test with the race detector (browser and SLURM tests skip when those are missing, fail under CI=true); ends with what was skipped and why
	$(GO) vet ./...
	@$(GO) build -o bin/testsummary ./scripts/testsummary
	set -o pipefail; CGO_ENABLED=1 $(GO) test -json -race -count=1 -timeout 15m ./... ./testdata/fakesolver | bin/testsummary

test-short: ## the tests without the race detector
	$(GO) test -count=1 ./...

# FUZZTIME is how much fuzz-short runs each target: a count of inputs
# ("5000x"), not a duration, because go1.26's fuzzer can report a spurious
# "context deadline exceeded" failure when a duration ends while a worker
# is mid-input (golang/go#75804, fixed in go1.27); a count has no deadline.
FUZZTIME ?= 5000x

fuzz-short: ## run every Fuzz* target in the tree for FUZZTIME each (default 5000x inputs; found by name, so new targets join by themselves)
	@grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u | while read -r dir; do \
		for f in $$(grep -h '^func Fuzz' $$dir/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "fuzz $$dir $$f"; \
			out=$$($(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$dir 2>&1) || { echo "$$out"; exit 1; }; \
		done; \
	done

bench: ## the load harness (ratios against same-run baselines, into bench/results.md), then the Go benchmarks
	$(GO) run ./bench -out bench/results.md
	$(GO) test -run '^$$' -bench 'StartWait|BareExec' -benchtime 400x ./engine/runner/local/
	$(GO) test -run '^$$' -bench 'Submit' -benchtime 3000x ./engine/
	$(GO) test -run '^$$' -bench 'JobInsertParallel' -benchtime 20000x ./engine/store/
	$(GO) test -run '^$$' -bench 'ListTenThousand' -benchtime 20x ./engine/runner/slurm/
	$(GO) test -run '^$$' -bench 'EncodeJobPage' -benchtime 2000x ./server/
	@echo "# at 1,000,000 jobs (the first run seeds a database under $$TMPDIR for a few minutes)"
	$(GO) test -run '^$$' -bench 'PagesMillionJobs|LiveFanout' -benchtime 20x -timeout 30m ./frontend/dashboard/
	$(GO) test -run '^$$' -bench 'JobListPage|JobCountByStatus' -benchtime 200x -timeout 30m ./engine/store/

generate: node_modules/.package-lock.json ## regenerate templ components and built assets (committed; CI checks they are current)
	$(GO) tool templ generate
	npm run --silent build

# The pinned npm packages the assets are built from (npm ci writes the marker).
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund

check-generated: generate ## fail if generated files differ from the committed ones
	@git diff --exit-code -- '*_templ.go' static/ || { echo "generated files are stale: run make generate and commit"; exit 1; }
	@untracked=$$(git ls-files --others --exclude-standard -- '*_templ.go' static/); [ -z "$$untracked" ] || { echo "uncommitted generated files: $$untracked"; exit 1; }

lint: ## gofmt check, go vet, staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "gofmt needed: $$out"; exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

fmt: ## format the Go code
	gofmt -w $$(git ls-files '*.go')

clean: ## remove build outputs
	rm -rf simjobs dist
