# zoomlive: make demo | make test | make install | make bench | make docs | make format
BUILD   ?= build
PREFIX  ?= /usr/local
JOBS    ?= 2
CMAKE_FLAGS ?=

.PHONY: all setup build demo test install bench clean check-fresh lint docs format format-check

all: build

setup:
	@sh scripts/setup.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS)

build: setup $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	@sh scripts/demo.sh $(BUILD)

test: build
	@sh scripts/test.sh $(BUILD)

lint: setup
	luacheck lua spec examples bin bench tests types

# PREFIX is applied here, not only when the build tree was first made (a
# `make demo` before `make install PREFIX=...` must not install elsewhere)
install: build
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)
	cmake --install $(BUILD)

bench: build
	@sh bench/run.sh $(BUILD)

# the API reference (LDoc, config.ld) into $(BUILD)/docs, then the doc check
docs: setup
	@sh scripts/docs.sh $(BUILD)/docs

# one C style (.clang-format) over every C file of the tree
format: setup
	@sh scripts/format.sh apply

format-check: setup
	@sh scripts/format.sh check

clean:
	rm -rf $(BUILD)
