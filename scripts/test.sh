#!/bin/sh
# make test: every C unit test and busted spec, through ctest.
set -eu
BUILD=${1:-build}
cd "$(dirname "$0")/.."
# a plain ctest run ends with its summary line ("100% tests passed, ...")
exec ctest --test-dir "$BUILD" --output-on-failure --timeout 900 ${CTEST_ARGS:-}
