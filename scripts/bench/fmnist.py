# PyTorch side of scripts/bench/fmnist, at its best: data preloaded as tensors,
# batches by slicing a per-epoch permutation, same threads, same init scheme
# (Keras's glorot_uniform kernels, zero biases), warm-up excluded.
# usage: fmnist.py mlp|cnn|tiny threads epochs
import gzip, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

which, threads, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(0)

def peak_rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

def keras_init(m):
    if isinstance(m, (nn.Linear, nn.Conv2d)):
        nn.init.xavier_uniform_(m.weight)
        nn.init.zeros_(m.bias)

if which == "tiny":
    lin = nn.Linear(4, 4)
    x, y = torch.randn(4, 4), torch.randn(4, 4)
    opt = torch.optim.SGD(lin.parameters(), lr=0.01)
    def step():
        opt.zero_grad()
        loss = F.mse_loss(lin(x), y)
        loss.backward()
        opt.step()
    for _ in range(2000):
        step()
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(20000):
            step()
        best = min(best, (time.perf_counter() - t0) / 20000)
    print(f"tiny {best * 1e6:.3f}")
    sys.exit(0)

D = "/usr/share/datasets/fashion-mnist/"
def idx(name, offset):
    with gzip.open(D + name) as f:
        return np.frombuffer(bytearray(f.read()), np.uint8, offset=offset)
x_train = torch.from_numpy(idx("train-images-idx3-ubyte.gz", 16)).float().div_(255)
y_train = torch.from_numpy(idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64))
x_test = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz", 16)).float().div_(255)
y_test = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz", 8).astype(np.int64))
if which == "cnn":
    x_train, x_test = x_train.view(-1, 1, 28, 28), x_test.view(-1, 1, 28, 28)
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10))
else:
    x_train, x_test = x_train.view(-1, 784), x_test.view(-1, 784)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
model.apply(keras_init)
opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)

WARMUP = 20
n = x_train.shape[0]
timed, t0 = 0, None
for _ in range(epochs):
    perm = torch.randperm(n)
    for step, i in enumerate(range(0, n, 64)):
        if step == WARMUP and t0 is None:
            t0 = time.perf_counter()
        idxs = perm[i:i + 64]
        xb, yb = x_train[idxs], y_train[idxs]
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        if t0 is not None:
            timed += xb.shape[0]
sps = timed / (time.perf_counter() - t0)
with torch.no_grad():
    correct = sum((model(x_test[i:i + 1000]).argmax(1) == y_test[i:i + 1000]).sum().item()
                  for i in range(0, x_test.shape[0], 1000))
print(f"{which} {sps:.1f} {correct / x_test.shape[0]:.4f} {peak_rss_mb():.1f}")
