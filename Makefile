# czoo entry points. `make` builds build/czoo; `make test` runs every test
# (optimized, then under ASan+UBSan, then the bounded fuzz run); `make demo`
# runs the repository's user_config.yaml; `make bench` prints our figures
# next to the peer's. Each first runs scripts/setup.sh (installs what is
# missing, nothing otherwise; test and bench also get the PyPI oracles).
JOBS ?= $(shell nproc)
MAKEFLAGS += --no-print-directory
BUILD := build
ASAN_BUILD := build-asan
FUZZ_BUILD := build-fuzz
CTEST := ctest --output-on-failure -j$(JOBS)

.PHONY: all build setup setup-oracles test test-release test-asan test-fuzz demo bench clean

all: build

setup:
	@bash scripts/setup.sh

setup-oracles:
	@bash scripts/setup.sh --oracles

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

test: setup-oracles test-release test-asan test-fuzz

test-release: build
	cd $(BUILD) && $(CTEST)

test-asan: setup
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCZOO_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && $(CTEST) -LE valgrind

test-fuzz: setup
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	  -DCZOO_SANITIZE=ON -DCZOO_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzz_config fuzz_jpeg fuzz_png fuzz_aa fuzz_torch fuzz_safetensors fuzz_onnx
	cd $(FUZZ_BUILD) && ctest --output-on-failure -R '^fuzz\.'

demo: build
	./$(BUILD)/czoo -c user_config.yaml

bench: setup-oracles build
	bash bench/bench_config.sh $(BUILD)/czoo
	bash bench/bench_engine.sh $(BUILD)
	bash bench/bench_conv.sh $(BUILD)/bench/bench_conv
	bash bench/bench_data.sh $(BUILD)
	bash bench/bench_infer.sh $(BUILD)
	bash bench/bench_int8.sh $(BUILD)
	bash bench/bench_quant.sh $(BUILD)
	bash bench/bench_int8_acc.sh $(BUILD)
	bash bench/bench_train.sh $(BUILD)/czoo

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
