# PyTorch side of scripts/bench/losses, at its best: same threads, tensors
# preallocated, warm-up excluded, best of 5.  Prints "name seconds_per_step".
import sys, time, torch
import torch.nn.functional as F

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(threads)


def bench(name, reps, fn):
    for _ in range(3):
        fn()
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t0) / reps)
    print(f"{name} {best:.9f}")


for n, c, reps in ((64, 10, 20000), (256, 1000, 300)):
    torch.manual_seed(0)
    x = torch.randn(n, c, requires_grad=True)
    y = torch.randint(0, c, (n,))

    def step():
        F.cross_entropy(x, y).backward()
        x.grad = None

    bench(f"sparse_xent_{n}x{c}", reps, step)
    bench(f"sparse_xent_object_{n}x{c}", reps, step)
