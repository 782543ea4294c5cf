# zoomlive: make demo | make test | make install | make bench
BUILD   ?= build
PREFIX  ?= /usr/local
JOBS    ?= 2
CMAKE_FLAGS ?=

.PHONY: all setup build demo test install bench clean check-fresh lint

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
	luacheck lua spec examples bin

# PREFIX is applied here, not only when the build tree was first made (a
# `make demo` before `make install PREFIX=...` must not install elsewhere)
install: build
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)
	cmake --install $(BUILD)

bench: build
	@sh bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD)
