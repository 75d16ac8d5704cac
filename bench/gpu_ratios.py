#!/usr/bin/env python3
"""Prints bench/gpu.sh's comparison tables from the JSON lines in a folder."""
import json
import os
import sys


def load(path):
    if not os.path.exists(path):
        return []
    out = []
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def main():
    d = sys.argv[1]
    tg = {(r["precision"], r["m"]): r for r in load(f"{d}/gemm_troupe.jsonl")}
    pg = {(r["precision"], r["m"]): r for r in load(f"{d}/gemm_torch.jsonl")}
    if tg:
        print("GEMM            troupe TFLOP/s  torch.matmul TFLOP/s  ratio")
        for k in sorted(tg):
            t, p = tg[k]["tflops"], pg.get(k, {}).get("tflops")
            ratio = f"{t / p:.2f}" if p else "-"
            print(f"{k[0]:5s} {k[1]:5d}     {t:12.1f}  {p if p is None else round(p, 1)!s:>20}  {ratio:>5}")
    tt = {(r["model"], r["batch"]): r for r in load(f"{d}/train_troupe.jsonl")}
    pt = {(r["model"], r["batch"]): r for r in load(f"{d}/train_torch.jsonl")}
    if tt or pt:
        print("train              troupe samples/s  PyTorch eager samples/s  ratio")
        for k in sorted(set(tt) | set(pt)):
            t, p = tt.get(k, {}).get("samples_per_sec"), pt.get(k, {}).get("samples_per_sec")
            ratio = f"{t / p:.2f}" if t and p else "-"
            print(f"{k[0]:6s} batch {k[1]:4d}  {t or 0:16.0f}  {p or 0:23.0f}  {ratio:>5}")


if __name__ == "__main__":
    main()
