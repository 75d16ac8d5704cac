#!/usr/bin/env python3
"""PyTorch side of bench/train.sh: one epoch of MNIST training, timed.

Same work as `troupe bench train`: the same model (LeNet-300-100 or LeNet-5),
SGD with momentum 0.9 at a constant learning rate 0.01, the same batch size,
the normalised MNIST training set held in memory and shuffled once. Only the
training loop is timed (no data loading, no evaluation). Prints one JSON line
per thread count.

Usage: train_torch.py DATA_DIR MODEL BATCH THREADS...
"""
import gzip
import json
import struct
import sys
import time

import torch
from torch import nn


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        magic = struct.unpack(">I", f.read(4))[0]
        dims = [struct.unpack(">I", f.read(4))[0] for _ in range(magic & 0xFF)]
        data = f.read()
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).reshape(dims)


def model(name):
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.ReLU(),
                             nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10))
    if name == "lenet5":
        return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                             nn.Linear(84, 10))
    raise SystemExit(f"unknown model {name}")


def main():
    data_dir, name, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
    threads = [int(t) for t in sys.argv[4:]] or [1]
    x = read_idx(f"{data_dir}/train-images-idx3-ubyte.gz").float().div_(255)
    x = x.sub_(0.1307).div_(0.3081).unsqueeze(1).contiguous()
    y = read_idx(f"{data_dir}/train-labels-idx1-ubyte.gz").long()
    for t in threads:
        torch.set_num_threads(t)
        torch.manual_seed(1)
        net = model(name)
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()
        perm = torch.randperm(len(y))
        xs, ys = x[perm], y[perm]
        # warm-up: a few steps outside the timed loop, as troupe's allocator warms up too
        for i in range(3):
            opt.zero_grad(set_to_none=True)
            loss_fn(net(xs[i * batch:(i + 1) * batch]), ys[i * batch:(i + 1) * batch]).backward()
            opt.step()
        start = time.perf_counter()
        n = 0
        for i in range(0, len(ys), batch):
            xb, yb = xs[i:i + batch], ys[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
            n += len(yb)
        secs = time.perf_counter() - start
        print(json.dumps({"bench": "train", "impl": "pytorch", "version": torch.__version__,
                          "model": name, "batch": batch, "threads": t,
                          "samples_per_sec": n / secs, "final_loss": float(loss)}), flush=True)


if __name__ == "__main__":
    main()
