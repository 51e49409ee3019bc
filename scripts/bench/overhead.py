# PyTorch side of scripts/bench/overhead, at its best: same threads, warm-up
# excluded, best of 5.  Prints "name seconds_per_op" lines.
import sys, time, torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(threads)
torch.set_grad_enabled(False)

def bench(name, reps, fn):
    fn(); fn()
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t0) / reps)
    print(f"{name} {best:.9f}")

a, b = torch.rand(4, 4), torch.rand(4, 4)
bench("add_4x4", 200000, lambda: a + b)
bench("matmul_4x4", 200000, lambda: a.matmul(b))
bench("relu_4x4", 200000, lambda: a.relu())
for n in (1000000, 10000000):
    x, y = torch.rand(n), torch.rand(n)
    reps = 20 if n >= 10**7 else 200
    bench(f"add_{n}", reps, lambda: x + y)
    bench(f"sum_{n}", reps, lambda: x.sum())
m1, m2 = torch.rand(1024, 1024), torch.rand(1024, 1024)
bench("matmul_1024", 10, lambda: m1.matmul(m2))
