# PyTorch side of scripts/bench/conv, at its best: NCHW (PyTorch's native
# layout, oneDNN convolutions), the same shapes and threads, warm-up excluded,
# best of 7.  Prints "name seconds" lines.
import sys, time, torch
import torch.nn.functional as F

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(threads)
torch.manual_seed(0)


def bench(name, reps, fn):
    for _ in range(3):
        fn()
    best = float("inf")
    for _ in range(7):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t0) / reps)
    print(f"{name} {best:.9f}")


x = torch.rand(64, 1, 28, 28)
w1, b1 = (torch.randn(32, 1, 3, 3) * 0.3).requires_grad_(), torch.zeros(32, requires_grad=True)
w2, b2 = (torch.randn(64, 32, 3, 3) * 0.1).requires_grad_(), torch.zeros(64, requires_grad=True)
params = [w1, b1, w2, b2]


def zero_grads():
    for t in params:
        t.grad = None


def layers():
    zero_grads()
    h = F.max_pool2d(F.conv2d(x, w1, b1), 2)
    h = F.max_pool2d(F.conv2d(h, w2, b2), 2)
    h.sum().backward()


bench("layers_fwd_bwd", 30, layers)

with torch.no_grad():
    h1 = F.conv2d(x, w1, b1)
    p1 = F.max_pool2d(h1, 2)
    h2 = F.conv2d(p1, w2, b2)
for t in (h1, p1, h2):
    t.requires_grad_()


def nograd(fn):
    def run():
        with torch.no_grad():
            fn()
    return run


def leaf_step(leaf, fn):
    def run():
        zero_grads()
        leaf.grad = None
        fn().sum().backward()
    return run


bench("conv1_fwd", 30, nograd(lambda: F.conv2d(x, w1, b1)))
bench("conv1_fwd_bwd", 30, lambda: (zero_grads(), F.conv2d(x, w1, b1).sum().backward()))
bench("pool1_fwd_bwd", 30, leaf_step(h1, lambda: F.max_pool2d(h1, 2)))
bench("conv2_fwd", 30, nograd(lambda: F.conv2d(p1, w2, b2)))
bench("conv2_fwd_bwd", 30, leaf_step(p1, lambda: F.conv2d(p1, w2, b2)))
bench("pool2_fwd_bwd", 30, leaf_step(h2, lambda: F.max_pool2d(h2, 2)))
