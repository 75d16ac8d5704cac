#!/usr/bin/env python3
"""PyTorch (eager) side of bench/gpu.sh, on the GPU.

gemm: torch.matmul on square random matrices in fp32 (TF32 off), TF32 and
bf16 (bf16 in and out), timed with CUDA events: after 3 warm-ups, the median
of REPS products, one JSON line per size and precision.

train: the same work as `troupe bench train --device cuda`: LeNet-300-100 or
LeNet-5, SGD with momentum 0.9 at a constant learning rate 0.01, the given
batch, one epoch over the MNIST training set held on the GPU (or random data
of MNIST's shape when no data folder is given), reshuffled on the GPU and
gathered per batch. cuDNN autotuning is on: PyTorch's fastest eager setting.
Only the epoch is timed, after warm-up steps on both batch shapes of the
epoch, with a synchronisation at its end. One JSON line.

Usage: gpu_torch.py gemm [SIZES [PRECISIONS [REPS]]]
       gpu_torch.py train MODEL BATCH [DATA_DIR]
"""
import json
import sys
import time

import torch
from torch import nn

from train_torch import model, read_idx


def gemm(sizes, precs, reps):
    for n in sizes:
        a = torch.rand(n, n, device="cuda") * 2 - 1
        b = torch.rand(n, n, device="cuda") * 2 - 1
        for p in precs:
            torch.backends.cuda.matmul.allow_tf32 = p == "tf32"
            x, y = (a.bfloat16(), b.bfloat16()) if p == "bf16" else (a, b)
            for _ in range(3):
                torch.matmul(x, y)
            times = []
            for _ in range(reps):
                s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                s.record()
                torch.matmul(x, y)
                e.record()
                e.synchronize()
                times.append(s.elapsed_time(e))
            times.sort()
            med = times[len(times) // 2]
            print(json.dumps({"bench": "gemm", "impl": "pytorch", "version": torch.__version__,
                              "device": torch.cuda.get_device_name(), "precision": p,
                              "m": n, "n": n, "k": n, "median_ms": med,
                              "tflops": 2 * n ** 3 / (med / 1e3) / 1e12}), flush=True)
    torch.backends.cuda.matmul.allow_tf32 = False


def train(name, batch, data_dir):
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(1)
    if data_dir:
        x = read_idx(f"{data_dir}/train-images-idx3-ubyte.gz").float().div_(255)
        x = x.sub_(0.1307).div_(0.3081).unsqueeze(1).contiguous()
        y = read_idx(f"{data_dir}/train-labels-idx1-ubyte.gz").long()
        x, y = x.cuda(), y.cuda()
    else:
        x = torch.randn(60000, 1, 28, 28, device="cuda")
        y = torch.randint(0, 10, (60000,), device="cuda")
    n = len(y)
    net = model(name).cuda()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step(idx):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x[idx]), y[idx])
        loss.backward()
        opt.step()
        return loss

    # Warm-up, untimed: the full batch and the epoch's smaller last batch, so
    # kernel loading and cuDNN's autotuning for both shapes stay out of the
    # timed epoch (troupe warms up the same shapes).
    perm = torch.randperm(n, device="cuda")
    for i in range(5):
        step(perm[i * batch:(i + 1) * batch])
    if n % batch:
        step(perm[:n % batch])
    torch.cuda.synchronize()
    start = time.perf_counter()
    perm = torch.randperm(n, device="cuda")
    for i in range(0, n, batch):
        loss = step(perm[i:i + batch])
    torch.cuda.synchronize()
    secs = time.perf_counter() - start
    print(json.dumps({"bench": "train", "impl": "pytorch", "version": torch.__version__,
                      "device": torch.cuda.get_device_name(), "model": name, "batch": batch,
                      "samples_per_sec": n / secs, "final_loss": loss.item()}), flush=True)


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("gemm", "train"):
        raise SystemExit(__doc__)
    if sys.argv[1] == "gemm":
        sizes = [int(s) for s in (sys.argv[2] if len(sys.argv) > 2 else "4096,8192").split(",")]
        precs = (sys.argv[3] if len(sys.argv) > 3 else "fp32,tf32,bf16").split(",")
        reps = int(sys.argv[4]) if len(sys.argv) > 4 else 20
        gemm(sizes, precs, reps)
    else:
        train(sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "")


if __name__ == "__main__":
    main()
