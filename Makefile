# The two commands: `make run` and `make test`. Everything else is a step they use.
BUILD_DIR  ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc)
RUN_ARGS   ?=
FORMAT_SRC  = $(shell git ls-files '*.cpp' '*.hpp' 2>/dev/null)

.PHONY: run test setup setup-test setup-bench build unit e2e test-cluster bench lint format tidy clean

run: setup build
	./$(BUILD_DIR)/codex-relay serve $(RUN_ARGS)

test: setup-test lint build tidy unit e2e test-cluster

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

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

e2e: build
	tests/e2e/run.sh $(BUILD_DIR)/codex-relay

# Two relay nodes, PostgreSQL, Redis, the mock provider and egress proxies in network namespaces,
# with a node crash, a Redis cut-off and a PostgreSQL outage under load (needs root).
test-cluster: build
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
	rm -rf $(BUILD_DIR)
