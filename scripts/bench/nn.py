# PyTorch side of scripts/bench/nn, at its best: tensors preallocated, same
# threads, warm-up excluded, best of 7.  Prints "pytorch <seconds per step>".
import math
import sys
import time

import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(threads)
torch.manual_seed(0)

sizes, batch = (784, 256, 128, 10), 64
x = torch.rand(batch, sizes[0])
W = [(torch.randn(sizes[i], sizes[i + 1]) / math.sqrt(sizes[i])).requires_grad_() for i in range(3)]
B = [torch.zeros(sizes[i + 1], requires_grad=True) for i in range(3)]
params = W + B


def step():
    h = x
    for i in range(3):
        h = torch.addmm(B[i], h, W[i])
        if i < 2:
            h = torch.relu(h)
    loss = h.sum()
    for p in params:
        p.grad = None
    loss.backward()


for _ in range(50):
    step()
best, reps = float("inf"), 200
for _ in range(7):
    t0 = time.perf_counter()
    for _ in range(reps):
        step()
    best = min(best, (time.perf_counter() - t0) / reps)
print(f"pytorch {best:.9f}")
