# graft: `make demo` runs the sample pipeline, `make test` runs every test. Both install the
# Debian packages graft needs when they are missing, then build.
SWIFT ?= swift

.PHONY: all deps build release demo test venv clean

all: build

deps:
	@Tools/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

demo: release
	GRAFT=$(CURDIR)/.build/release/graft Samples/pipeline.sh

test: deps
	$(SWIFT) build
	$(SWIFT) test
	GRAFT=$(CURDIR)/.build/debug/graft Tests/spark/run.sh

venv:
	Tools/setup-venv.sh

clean:
	rm -rf .build
