# graft: `make demo` runs the sample pipeline, `make test` runs every test. Both install the
# Debian packages graft needs when they are missing, then build.
SWIFT ?= swift

.PHONY: all deps build release demo test fuzz venv clean

all: build

deps:
	@Tools/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

demo: release
	GRAFT=$(CURDIR)/.build/release/graft Samples/pipeline.sh

# The runtime and importer parity tests run a second time on graft's own kernels only
# (GRAFT_KERNELS=graft), which run wherever oneDNN has no kernel, and a third time with oneDNN's
# direct convolutions only (GRAFT_WINOGRAD=0, what `--exact` asks for); the runtime tests run a
# fourth time without graft's AVX2 kernels (GRAFT_AVX2=0: the plain x86-64 Winograd transforms and
# OpenBLAS products, what a CPU without AVX2 runs), and a fifth without its AVX-512 ones
# (GRAFT_AVX512=0: what an AVX2 CPU runs; the same as the first run on one). After the release
# build, Tools/check-avx2-isolation.sh checks that the AVX2- and AVX-512-compiled modules share no
# code with the rest. The command-line tests run twice: on the debug build, then on the release build (optimised
# code can expose undefined behaviour that a debug build hides); Spark runs the release build.
# Last, a short fuzzing pass (Tools/fuzz/run.sh --ci): each libFuzzer target for a fixed number of
# executions from its seed corpus with a fixed seed (about 10 s each here), after replaying the
# reproducers of earlier findings; the same inputs on every machine, so the pass is repeatable.
test: deps
	$(SWIFT) build
	$(SWIFT) test
	GRAFT_KERNELS=graft $(SWIFT) test --skip-build --filter 'GraftRuntimeTests|GraftKerasImportTests|GraftCaffeImportTests|GraftONNXImportTests'
	GRAFT_WINOGRAD=0 $(SWIFT) test --skip-build --filter 'GraftRuntimeTests|GraftKerasImportTests|GraftCaffeImportTests|GraftONNXImportTests|GraftFeatureExtractionTests'
	GRAFT_AVX2=0 $(SWIFT) test --skip-build --filter 'GraftRuntimeTests'
	GRAFT_AVX512=0 $(SWIFT) test --skip-build --filter 'GraftRuntimeTests'
	$(SWIFT) build -c release --product graft
	Tools/check-avx2-isolation.sh
	GRAFT_BINARY=$(CURDIR)/.build/release/graft $(SWIFT) test --skip-build --filter GraftCLITests
	GRAFT=$(CURDIR)/.build/release/graft Tests/spark/run.sh
	Tools/fuzz/run.sh --ci

# Every libFuzzer target for 10^6 executions (the reliability bar; hours on 2 cores).
fuzz: deps
	GRAFT_FUZZ_OPTIMIZE=1 Tools/fuzz/run.sh --runs 1000000

venv:
	Tools/setup-venv.sh

clean:
	rm -rf .build .build-fuzz .build-fuzz-opt
