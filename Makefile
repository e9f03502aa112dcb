# The two commands: `make run` and `make test`. Everything else is a step they use.
BUILD_DIR  ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc)
RUN_ARGS   ?=
# The clang ASan+UBSan build (docs/testing.md): sanitized tests and libFuzzer targets.
SAN_DIR    ?= build-san
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 30
# Any finding fails the run: ASan and UBSan stop at the first one with a stack trace, LSan checks
# every test process at exit (suppressions: third-party leaks only, see the file).
SAN_ENV = ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:print_stacktrace=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0
FORMAT_SRC  = $(shell git ls-files '*.cpp' '*.hpp' 2>/dev/null)

.PHONY: run test setup setup-test setup-bench build build-relay unit e2e test-cluster bench lint format tidy clean \
  sanitize-build sanitize fuzz-smoke fuzz

run: setup build
	./$(BUILD_DIR)/codex-relay serve $(RUN_ARGS)

# The unit suite runs once, in the sanitizer build (`sanitize`), which is stricter than the g++ one
# and keeps a clean `make test` under 30 minutes on 2 cores; the g++ build makes the relay that e2e
# and the cluster test run. `make unit` still runs the suite on the g++ build. sanitize and
# fuzz-smoke come before e2e: a memory error would otherwise show up later as a flaky e2e failure.
test: setup-test lint build-relay tidy sanitize fuzz-smoke e2e test-cluster

setup:
	@scripts/setup.sh

setup-test:
	@scripts/setup.sh --test

setup-bench:
	@scripts/setup.sh --bench

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DCMAKE_EXPORT_COMPILE_COMMANDS=ON

build: $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Only the relay binary of the g++ build (what e2e and test-cluster run).
build-relay: $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target codex-relay

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

$(SAN_DIR)/build.ninja:
	cmake -S . -B $(SAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
	  -DRELAY_SANITIZE=ON -DCMAKE_EXPORT_COMPILE_COMMANDS=ON

sanitize-build: $(SAN_DIR)/build.ninja
	cmake --build $(SAN_DIR) -j $(JOBS)

# The whole ctest suite (unit, Redis/PostgreSQL suites, fuzz smoke) under ASan+UBSan.
sanitize: sanitize-build
	cd $(SAN_DIR) && $(SAN_ENV) ctest --output-on-failure -j $(JOBS)

# Every libFuzzer target for FUZZ_SMOKE_SECONDS (make test) or FUZZ_SECONDS (make fuzz).
fuzz-smoke: sanitize-build
	FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) FUZZ_JOBS=$(JOBS) scripts/fuzz.sh $(SAN_DIR)

fuzz: sanitize-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(JOBS) scripts/fuzz.sh $(SAN_DIR)

e2e: build-relay
	tests/e2e/run.sh $(BUILD_DIR)/codex-relay

# Two relay nodes, PostgreSQL, Redis, the mock provider and egress proxies in network namespaces,
# with a node crash, a Redis cut-off and a PostgreSQL outage under load (needs root).
test-cluster: build-relay
	tests/cluster/run.sh $(BUILD_DIR)/codex-relay

# The relay against nginx and the Portkey gateway (bench/README.md); about 6 minutes, not in test.
bench: setup-bench build
	bench/run.sh $(BUILD_DIR)

lint:
	@clang-format --dry-run --Werror $(FORMAT_SRC)
	@echo "lint: clang-format clean"

format:
	clang-format -i $(FORMAT_SRC)

tidy: $(BUILD_DIR)/build.ninja
	scripts/tidy.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR) $(SAN_DIR)
