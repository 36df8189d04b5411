# Thin wrapper over the CMake presets (CMakePresets.json). Every target is one command line.
#   make            build everything (optimised) into build/, programs in build/bin/
#   make check      install missing packages, build with ASan+UBSan, run every test (CI runs this)
#   make asan       build the ASan+UBSan tree only (build-asan/)
#   make fuzz T=http_request SECS=60   run one libFuzzer target (build-fuzz/)
#   make coverage   build with gcov counters (build-cov/), run every test, print lines and branches
#                   per module, check scripts/coverage-floors (docs/coverage.md)
#   make bench      run the benchmarks in bench/ (numbers go to docs/BENCHMARKS.md by hand)
#   make demo       run the tutorial demo end to end
#   make format     clang-format every C file
#   make lint       house rules (scripts/lint: banned functions, module order, file size) and
#                   clang-tidy's focused checks over src/ and cmd/ (CI runs it; docs/lint.md)
#   make analyze    clang-tidy with the clang static analyzer over src/ (slow: not in CI)
#   make image      the container images warden:VERSION and warden-examples:VERSION (podman or
#                   docker; BASE_IMAGE=... for another Debian 12 base, see deploy/kubernetes;
#                   without a registry, podman as root builds on `make base-image`'s)
#   make base-image a Debian 12 base image from Debian's packages, where no registry is reachable
#   make check-images  build the images and run deploy/kubernetes with podman kube play (CI runs it)
JOBS ?= $(shell nproc)
T ?=
SECS ?= 60
SRC_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

.PHONY: all build check asan dev fuzz bench demo format lint analyze bootstrap clean image \
	base-image check-images coverage

all: build

bootstrap:
	@scripts/bootstrap --quiet

build: bootstrap
	@cmake --preset release >/dev/null
	@cmake --build build -j $(JOBS)

dev: bootstrap
	@cmake --preset dev >/dev/null
	@cmake --build build-dev -j $(JOBS)

asan: bootstrap
	@cmake --preset asan >/dev/null
	@cmake --build build-asan -j $(JOBS)

check: asan
	@scripts/check

coverage: bootstrap
	@cmake --preset coverage >/dev/null
	@cmake --build build-cov -j $(JOBS)
	@scripts/coverage

fuzz: bootstrap
	@test -n "$(T)" || { echo "usage: make fuzz T=<target> [SECS=60]; targets: $$(ls fuzz/corpus)"; exit 2; }
	@cmake --preset fuzz >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzz-$(T)
	@mkdir -p build-fuzz/corpus/$(T)
	build-fuzz/bin/fuzz-$(T) -max_total_time=$(SECS) -dict=fuzz/dict/$(T).dict \
		build-fuzz/corpus/$(T) fuzz/corpus/$(T)

bench: build
	@scripts/bench

demo: build
	@scripts/demo

format:
	clang-format -i $(SRC_FILES)

# Both read build/compile_commands.json, which configuring the release preset writes (no build).
TIDY_FILES = $(filter src/%.c cmd/%.c,$(SRC_FILES))

lint: bootstrap
	@scripts/lint
	@cmake --preset release >/dev/null
	@printf '%s\n' $(TIDY_FILES) | xargs -P $(JOBS) -n 8 clang-tidy -p build --quiet \
		--warnings-as-errors='*' 2>/dev/null

analyze: bootstrap
	@cmake --preset release >/dev/null
	@printf '%s\n' $(TIDY_FILES) | xargs -P $(JOBS) -n 4 clang-tidy -p build --quiet \
		--checks='-*,clang-analyzer-*,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling'

clean:
	rm -rf build build-dev build-asan build-fuzz build-cov

# No bootstrap here: a docker user on another system builds the images without Debian's tools.
image:
	@scripts/image

base-image:
	@scripts/base-image

# tests/images/run.sh exits 77 when this machine cannot run the engine; that is a skip, said so.
check-images: bootstrap
	@sh tests/images/run.sh; rc=$$?; \
	if [ $$rc = 77 ]; then echo "check-images: SKIPPED (the reason is above)"; exit 0; fi; exit $$rc
