# Two commands on a fresh Debian 12 machine: `make demo` and `make test`.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SMOKE_BUILD ?= build-fuzz-smoke
JOBS ?= $(shell nproc)
# Extra ctest arguments for the sanitizer run (CI: -LE long).
ASAN_CTEST_ARGS ?=
# make fuzz: which targets, and how long each runs (FUZZ_RUNS executions, or
# FUZZ_SECONDS when FUZZ_RUNS is not given). See tests/fuzz/README.md.
FUZZ_TARGETS ?= mime auth_results number config tiff udptl
FUZZ_SECONDS ?= 600
FUZZ_RUNS ?=
# Campaigns want speed: -O1 with line tables for the stacks. The CI smoke
# build compiles at -O0, three times faster, for its few executions.
FUZZ_FLAGS ?= -O1 -gline-tables-only

.PHONY: deps configure build demo test package test-asan fuzz-build fuzz-smoke fuzz bench format clean

deps:
	tools/install-deps

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja

configure: $(BUILD)/build.ninja

build: deps configure
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(BUILD)/bin/faxgw demo

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The Debian package, from this build: $(BUILD)/faxgw_<version>_<arch>.deb
# (install it with `dpkg -i` or `apt install ./...deb`).
package: build
	cmake --build $(BUILD) --target package

# The same tests under AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DFAXGW_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
	  -DFAXGW_BENCHMARKS=OFF
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) $(ASAN_CTEST_ARGS)

# The libFuzzer targets of tests/fuzz, built with clang (libraries and
# targets only).
fuzz-build: deps
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DFAXGW_FUZZ=ON -DCMAKE_BUILD_TYPE=Fuzz \
	  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
	  -DCMAKE_C_FLAGS_FUZZ="$(FUZZ_FLAGS)" -DCMAKE_CXX_FLAGS_FUZZ="$(FUZZ_FLAGS)"
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

# A bounded number of executions per target (the CI stage): a CTest run.
fuzz-smoke:
	$(MAKE) fuzz-build FUZZ_BUILD=$(FUZZ_SMOKE_BUILD) FUZZ_FLAGS="-O0 -gline-tables-only"
	cd $(FUZZ_SMOKE_BUILD) && ctest --output-on-failure -j $(JOBS)

# Long campaigns, one target after the other; each builds on the corpus of
# the one before in $(FUZZ_BUILD)/campaign/<target>/corpus.
fuzz: fuzz-build
	for t in $(FUZZ_TARGETS); do \
	  tests/fuzz/run-fuzzer $(FUZZ_BUILD)/bin/fuzz_$$t tests/fuzz/$$t $(FUZZ_BUILD)/campaign/$$t \
	    $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_SECONDS)) || exit 1; \
	done

# Programs that print figures (not tests). The Postfix one needs root.
bench: build
	$(BUILD)/bin/faxgw-bench-lines
	$(BUILD)/bin/faxgw-bench-latency
	$(BUILD)/bin/faxgw-bench-render
	$(BUILD)/bin/faxgw-bench-submit-memory
	$(BUILD)/bin/faxgw-bench-submit-cpu
	$(BUILD)/bin/faxgw-bench-sip
	$(BUILD)/bin/faxgw-bench-postfix
	$(BUILD)/bin/faxgw-bench-milter

format:
	find faxgw faxcore mailgw render milter tests -name '*.cc' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(FUZZ_SMOKE_BUILD)
