# PyTorch side of scripts/bench/gpu, eager mode at its best: data already on
# the device, batches by slicing, warm-up excluded, one synchronisation at the
# end (the loss's .item()); Keras's init for dense/conv kernels as dnnlua's.
# usage: gpu.py mlp|cnn|resnet device steps     prints "name samples_per_s final_loss"
import sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

which, device, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.manual_seed(0)
torch.backends.cuda.matmul.allow_tf32 = False  # dnnlua's default: float32 math
torch.backends.cudnn.allow_tf32 = False

def keras_init(m):
    if isinstance(m, (nn.Linear, nn.Conv2d)):
        nn.init.xavier_uniform_(m.weight)
        if m.bias is not None:
            nn.init.zeros_(m.bias)

class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.a = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout))
        self.c = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.proj = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                     if stride != 1 or cin != cout else None)
    def forward(self, x):
        h = self.c(F.relu(self.a(x)))
        return F.relu(h + (self.proj(x) if self.proj is not None else x))

batch, in_shape = 64, (784,)
if which == "mlp":
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
elif which == "cnn":
    in_shape = (1, 28, 28)
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10))
elif which == "resnet":
    batch, in_shape = 256, (3, 32, 32)
    blocks, cin = [], 32
    for cout in (64, 128, 256):
        for b in range(2):
            stride = 2 if b == 0 and cout != 64 else 1
            blocks.append(Block(cin, cout, stride))
            cin = cout
    model = nn.Sequential(nn.Conv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), *blocks,
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, 10))
else:
    sys.exit("gpu.py: model must be mlp, cnn or resnet")
model.apply(keras_init)
model.to(device)
opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)

n = batch * 16
xs = torch.randn(n, *in_shape, device=device)
ys = torch.randint(0, 10, (n,), device=device)

def step(i):
    s = (i % 16) * batch
    xb, yb = xs[s:s + batch], ys[s:s + batch]
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(xb), yb)
    loss.backward()
    opt.step()
    return loss

WARMUP = 20
for i in range(WARMUP):
    step(i)
if device != "cpu":
    torch.cuda.synchronize()
t0 = time.perf_counter()
for i in range(steps):
    loss = step(i)
last = loss.item()
print(f"{which} {steps * batch / (time.perf_counter() - t0):.1f} {last:.4f}")
