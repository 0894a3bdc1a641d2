# ymchat — developer tasks. `make ci` is what CI runs (.ci/run) and what the README names.
GO          ?= go
BIN         := $(CURDIR)/.bin
STATICCHECK := $(BIN)/staticcheck
STATICCHECK_VERSION := v0.8.2
GENERATED   := api/types.gen.go api/client.gen.go api/server.gen.go

.PHONY: all generate check-generated lint test fuzz fuzz-short bench bench-check bench-fleet demo ci tools

all: ci

## generate: regenerate package api from openapi.yaml (oapi-codegen, pinned in go.mod)
generate:
	$(GO) generate ./...

## check-generated: fail when the committed generated code differs from what the spec gives
check-generated:
	@tmp=$$(mktemp -d) && cp $(GENERATED) $$tmp/ && \
	$(GO) generate ./... && \
	for f in $(GENERATED); do \
	  if ! cmp -s $$tmp/$$(basename $$f) $$f; then \
	    echo "$$f is stale: run 'make generate' and commit the result"; diff -u $$tmp/$$(basename $$f) $$f | head -40; \
	    cp $$tmp/$$(basename $$f) $$f; rm -rf $$tmp; exit 1; \
	  fi; \
	done; rm -rf $$tmp; echo "generated code is up to date"

$(STATICCHECK):
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

tools: $(STATICCHECK)

## lint: gofmt, go vet and staticcheck
lint: $(STATICCHECK)
	@out=$$(gofmt -l .); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

## test: every test, with the race detector
test:
	$(GO) test -race -count=1 ./...

# target:package pairs
FUZZ_TARGETS := FuzzResponseDecoding:./chatclient FuzzRequestBuilding:./chatclient FuzzDecode:./chatclient/notify
FUZZTIME     ?= 2m

## fuzz: run every fuzz target for FUZZTIME (default 2m) each
fuzz:
	@for tp in $(FUZZ_TARGETS); do \
	  f=$${tp%%:*}; p=$${tp#*:}; \
	  echo "== $$f in $$p ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$p || exit 1; \
	done

## fuzz-short: every fuzz target for 30,000 executions each (part of ci; a few seconds
## each). A count, not a duration: Go before 1.27 can fail a duration-bound run with a
## spurious "context deadline exceeded" as the time runs out (golang/go#75804).
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=30000x

## bench: the comparisons against their baselines; writes bench.out and BENCHMARKS.md
bench:
	@# One binary, run repeatedly: baseline and chatclient alternate, so that a drift in
	@# the machine's speed hits both sides alike (-count would run each side's
	@# repetitions back to back).
	$(GO) test -c -o $(BIN)/bench.test ./internal/bench
	@rm -f bench.out
	@for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do $(BIN)/bench.test -test.run '^$$' -test.bench 'CallOverhead' -test.benchmem | tee -a bench.out; done
	@# Iteration and history: 11 paired runs, so that the median ratio holds on a busy
	@# machine where five runs let one slow spell decide it.
	@for i in 1 2 3 4 5 6 7 8 9 10 11; do $(BIN)/bench.test -test.run '^$$' -test.bench 'Iterate|History' -test.benchmem | tee -a bench.out; done
	$(BIN)/bench.test -test.run '^$$' -test.bench 'SendFile' -test.benchmem -test.benchtime 5x | tee -a bench.out
	$(BIN)/bench.test -test.run '^$$' -test.bench 'Quota' -test.benchtime 1x | tee -a bench.out
	$(GO) test -run '^$$' -bench 'BenchmarkSendUnderFaults' -benchtime 1x ./chatclient | tee -a bench.out
	$(GO) test -run '^$$' -bench 'CatchUp|SteadyState|StateBytes' -benchtime 1x ./chatclient/inbox | tee -a bench.out
	$(GO) test -run '^$$' -bench 'PushToHandler' -benchtime 200x ./chatclient/inbox | tee -a bench.out
	$(MAKE) --no-print-directory bench-fleet | tee -a bench.out
	$(GO) run ./internal/bench/benchsummary -o BENCHMARKS.md < bench.out

## bench-check: fail when a benchmark figure misses its goal (timing-sensitive: not in ci)
bench-check: bench
	$(GO) run ./internal/bench/benchsummary -check < bench.out > /dev/null

# progress runs a command and, while it runs, prints a line every 5 s, so that a cold
# build (minutes on 2 cores, with nothing else printed) never looks hung. The ticker
# runs in the background and the command in the foreground, so Ctrl-C reaches the
# command; the ticker stops with the shell (trap) or when the shell is gone.
progress = sh -c 'me=$$$$; ( s=0; while sleep 5 && kill -0 $$me 2>/dev/null; do s=$$((s+5)); echo "  ... still working ($$s s): $(1)" >&2; done ) & t=$$!; trap "kill $$t 2>/dev/null" EXIT INT TERM; "$$@"' progress

## demo: the library at work against the built-in fake Market (no account needed)
demo:
	@echo "Building ymchat (a cold first build compiles about 270 packages:"
	@echo "1 to 1.5 minutes on 2 idle cores, 2 to 3 on busy ones)..."
	@$(call progress,compiling ymchat) $(GO) build -o $(BIN)/ymchat ./cmd/ymchat
	@$(BIN)/ymchat demo

## ci: everything CI checks (a line every 5 s while it runs: cold builds take minutes)
ci:
	@$(call progress,make ci) $(MAKE) --no-print-directory check-generated lint test fuzz-short

## bench-fleet: 4 OS processes on one key, shared Redis vs in-process limits, and Redis's round trips and time per call beside a PING (timing-sensitive: not in ci)
bench-fleet:
	$(GO) test -run '^$$' -bench 'BenchmarkFleet' -benchtime 1x -count 3 ./internal/fleet/
	$(GO) test -run '^$$' -bench 'BenchmarkOverhead' -count 5 ./chatclient/redislimit/
