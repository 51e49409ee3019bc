"""The canonical MLP recipe in PyTorch, Keras's semantics (Glorot-uniform
kernels, zero biases, Adam eps=1e-7, last 10% as validation before
shuffling, EarlyStopping(val_loss, patience=2, restore_best_weights)):
prints "seed <s> <test accuracy>"."""
import gzip, os, sys, copy
import numpy as np
import torch

seed = int(sys.argv[1]) if len(sys.argv) > 1 else 42
torch.manual_seed(seed)
np.random.seed(seed)
torch.set_num_threads(int(os.environ.get("THREADS", "2")))
D = "/usr/share/datasets/fashion-mnist"


def idx(name, offset):
    for root, _, files in os.walk(D):
        for f in files:
            if f.startswith(name):
                with gzip.open(os.path.join(root, f)) as fh:
                    return np.frombuffer(fh.read(), np.uint8, offset=offset)
    raise SystemExit("no " + name)


xtr = torch.tensor(idx("train-images", 16).reshape(-1, 784), dtype=torch.float32) / 255
ytr = torch.tensor(idx("train-labels", 8), dtype=torch.long)
xte = torch.tensor(idx("t10k-images", 16).reshape(-1, 784), dtype=torch.float32) / 255
yte = torch.tensor(idx("t10k-labels", 8), dtype=torch.long)
n_val = int(len(xtr) * 0.1)
xv, yv, xt, yt = xtr[-n_val:], ytr[-n_val:], xtr[:-n_val], ytr[:-n_val]

model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                            torch.nn.Linear(256, 10))
for m in model:
    if isinstance(m, torch.nn.Linear):
        torch.nn.init.xavier_uniform_(m.weight)
        torch.nn.init.zeros_(m.bias)
opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
loss_fn = torch.nn.CrossEntropyLoss()
best, best_state, wait = float("inf"), None, 0
for epoch in range(5):
    model.train()
    perm = torch.randperm(len(xt))
    for i in range(0, len(xt), 64):
        b = perm[i:i + 64]
        opt.zero_grad()
        loss_fn(model(xt[b]), yt[b]).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        vl = loss_fn(model(xv), yv).item()
    if best_state is None:
        best_state = copy.deepcopy(model.state_dict())
    wait += 1
    if vl < best:
        best, best_state, wait = vl, copy.deepcopy(model.state_dict()), 0
    elif wait >= 2 and epoch > 0:
        model.load_state_dict(best_state)
        break
model.eval()
with torch.no_grad():
    acc = (model(xte).argmax(1) == yte).float().mean().item()
print("seed %d %.4f" % (seed, acc))
