"""PyTorch side of the engine benchmark: the same MLPs, data, batch and optimizer as
offchain-worker/engine/benches/training.rs, on the CPU with a fixed thread count.

usage: python benches/pytorch_mlp.py THREADS ISA  ->  one JSON line per case: samples per
second, labelled with ISA (the set benches/compare.sh restricted PyTorch to through
ATEN_CPU_CAPABILITY and DNNL_MAX_CPU_ISA) and the capability PyTorch reports it used.
"""
import csv
import json
import pathlib
import sys
import time

import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent


def digits():
    rows = list(csv.reader(open(ROOT / "examples/data/digits.csv")))
    body = [r for r in rows if r and not r[0].startswith("#")]
    try:
        float(body[0][0])
    except ValueError:
        body = body[1:]  # header
    x = torch.tensor([[float(v) for v in r[:-1]] for r in body], dtype=torch.float32)
    y = torch.tensor([int(float(r[-1])) for r in body], dtype=torch.long)
    return x, y


def synthetic_mnist():
    g = torch.Generator().manual_seed(7)
    x = torch.rand(60_000, 784, generator=g)
    y = torch.arange(60_000) % 10
    return x, y


def model(widths):
    layers = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def throughput(widths, batch, data, seconds=5.0):
    x, y = data
    net = model(widths)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    loss_fn = torch.nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(42)

    def step():
        idx = torch.randint(0, x.shape[0], (batch,), generator=g)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x[idx]), y[idx])
        loss.backward()
        opt.step()

    for _ in range(50):
        step()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(20):
            step()
        steps += 20
    elapsed = time.perf_counter() - start
    return steps * batch / elapsed


def main():
    threads, isa = int(sys.argv[1]), sys.argv[2]
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    for name, widths, batch, data in [
        ("digits_64-128-10_b32", [64, 128, 10], 32, digits()),
        ("mnist_784-256-256-10_b128", [784, 256, 256, 10], 128, synthetic_mnist()),
    ]:
        print(json.dumps({"case": name, "threads": threads, "isa": isa,
                          "torch": torch.__version__,
                          "capability": torch.backends.cpu.get_cpu_capability(),
                          "samples_per_s": throughput(widths, batch, data)}), flush=True)


if __name__ == "__main__":
    main()
