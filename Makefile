# Two commands on a fresh Debian 12 machine: `make demo` and `make test`.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)

.PHONY: deps configure build demo test test-asan bench format clean

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

# The same tests under AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DFAXGW_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

# Programs that print figures (not tests). The Postfix one needs root.
bench: build
	$(BUILD)/bin/faxgw-bench-lines
	$(BUILD)/bin/faxgw-bench-latency
	$(BUILD)/bin/faxgw-bench-render
	$(BUILD)/bin/faxgw-bench-submit-memory
	$(BUILD)/bin/faxgw-bench-postfix

format:
	find faxgw faxcore mailgw render milter tests -name '*.cc' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
