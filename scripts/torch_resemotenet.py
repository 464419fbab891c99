#!/usr/bin/env python3
"""PyTorch reference for ResEmoteNet on FER2013: the official architecture (with this library's
width option) trained with the official recipe, reporting PrivateTest accuracy.

Run from the repository root with the system Python that has torch 1.13 (no torchvision needed):

    /usr/bin/python3 scripts/torch_resemotenet.py --width 1/16 --epochs 3 --out runs/torch_w16

Architecture: github.com/ArnabKumarRoy02/ResEmoteNet, approach/ResEmoteNet.py (SEBlock with
bias-free linears and reduction 16, ResidualBlock with a 1x1 conv + BatchNorm shortcut when the
stride or width changes, fc1..fc4 with dropout 0.2 / 0.5), with `num_classes` and a width
multiplier: every conv / hidden linear width n becomes max(16, round(n * width)) (round half up,
as JavaScript's Math.round), exactly as src/resemotenet/model.ts. width 1 is the paper's model
(80,238,599 parameters).

Recipe: train_files/ResEmoteNet_train.py: transforms Resize((64, 64)) -> Grayscale(3) ->
RandomHorizontalFlip() -> ToTensor() -> Normalize(ImageNet mean/std), written here by hand
(PIL's resize with BILINEAR, as torchvision's Resize on a PIL image; flip after resize, which is
the same as torchvision's order); CrossEntropyLoss; SGD(lr=0.001, momentum=0.9,
weight_decay=1e-4); batch 16, shuffled; up to 80 epochs; the best model by validation accuracy
(here FER2013's PublicTest), early stopping after --patience epochs without a better one (this
library's rule: stop when `epochs_since_best >= patience`; the official script's
`patience_counter > patience` runs one more epoch). The best weights are scored on PrivateTest at
the end. `--recipe shipped` switches to the recipe of the weights shipped in weights/ (see
RECIPES below and src/resemotenet/train.ts): width 1/4 at 48x48, batch 64, SGD with Nesterov
momentum under OneCycleLR (peak lr 0.05, stepped per batch), weight decay 5e-4, label smoothing
0.1, random rotation / zoom / shift (F.affine_grid + F.grid_sample, border padding; this library
samples the same ranges with its own bilinear warp) and flips, dropout 0.1 / 0.25, 30 epochs, no
early stopping. Explicit options override the preset. Seeds: torch.manual_seed(seed) for weights and dropout, a torch.Generator(seed) for the
shuffle order and flips (the numbers differ from the TypeScript run's, which uses Philox; the
statistics are the same).

Data: FER2013 CSV (emotion,pixels,Usage; gzip or plain), default ../shared/data/fer2013/fer2013.csv.gz
relative to the repository root (see ../shared/data/README.md), or --data / RESEMOTENET_DATA.

Output (with --out DIR): DIR/torch_log.jsonl (per-epoch metrics), DIR/torch_result.json (final
metrics incl. PrivateTest accuracy and confusion matrix), DIR/torch_best.pth (state_dict, the
official checkpoint format, importable with `resemotenet import`).
"""
import argparse
import gzip
import io
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
USAGES = ["Training", "PublicTest", "PrivateTest"]
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def js_round(x):
    """JavaScript's Math.round: half up."""
    return int(math.floor(x + 0.5))


def chan(n, width):
    return max(16, js_round(n * width))


class SEBlock(nn.Module):
    def __init__(self, in_channels, reduction=16):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(
            nn.Linear(in_channels, in_channels // reduction, bias=False),
            nn.ReLU(inplace=True),
            nn.Linear(in_channels // reduction, in_channels, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x):
        b, c, _, _ = x.size()
        y = self.avg_pool(x).view(b, c)
        y = self.fc(y).view(b, c, 1, 1)
        return x * y.expand_as(x)


class ResidualBlock(nn.Module):
    def __init__(self, in_ch, out_ch, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, kernel_size=3, stride=stride, padding=1)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, kernel_size=3, stride=1, padding=1)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(nn.Conv2d(in_ch, out_ch, kernel_size=1, stride=stride, padding=0), nn.BatchNorm2d(out_ch))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return F.relu(out)


class ResEmoteNet(nn.Module):
    def __init__(self, num_classes=7, width=1.0, dropout=0.2, fc_dropout=0.5):
        super().__init__()
        c = lambda n: chan(n, width)
        self.conv1 = nn.Conv2d(3, c(64), kernel_size=3, padding=1)
        self.bn1 = nn.BatchNorm2d(c(64))
        self.conv2 = nn.Conv2d(c(64), c(128), kernel_size=3, padding=1)
        self.bn2 = nn.BatchNorm2d(c(128))
        self.conv3 = nn.Conv2d(c(128), c(256), kernel_size=3, padding=1)
        self.bn3 = nn.BatchNorm2d(c(256))
        self.relu = nn.ReLU(inplace=True)
        self.se = SEBlock(c(256))
        self.res_block1 = ResidualBlock(c(256), c(512), stride=2)
        self.res_block2 = ResidualBlock(c(512), c(1024), stride=2)
        self.res_block3 = ResidualBlock(c(1024), c(2048), stride=2)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc1 = nn.Linear(c(2048), c(1024))
        self.fc2 = nn.Linear(c(1024), c(512))
        self.fc3 = nn.Linear(c(512), c(256))
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(fc_dropout)
        self.fc4 = nn.Linear(c(256), num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = F.relu(self.bn3(self.conv3(x)))
        x = F.max_pool2d(x, 2)
        x = self.se(x)
        x = self.res_block1(x)
        x = self.res_block2(x)
        x = self.res_block3(x)
        x = self.pool(x)
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        x = F.relu(self.fc2(x))
        x = self.dropout2(x)
        x = F.relu(self.fc3(x))
        x = self.dropout2(x)
        return self.fc4(x)


def load_fer_csv(path, limits):
    """{usage: (uint8 [n, 48, 48], int64 [n])}; `limits[usage]` keeps the first rows of that usage."""
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    pix = {u: [] for u in USAGES}
    lab = {u: [] for u in USAGES}
    with opener(path, "rt") as f:
        header = f.readline().strip().split(",")
        ie, ip, iu = header.index("emotion"), header.index("pixels"), header.index("Usage")
        for line in f:
            if not line.strip():
                continue
            parts = line.rstrip("\n").split(",")
            u = parts[iu].strip()
            lim = limits.get(u)
            if lim is not None and len(lab[u]) >= lim:
                if all(limits.get(v) is not None and len(lab[v]) >= limits[v] for v in USAGES):
                    break
                continue
            lab[u].append(int(parts[ie]))
            pix[u].append(np.array(parts[ip].split(), dtype=np.uint8).reshape(48, 48))
    return {u: (np.stack(pix[u]) if pix[u] else np.zeros((0, 48, 48), np.uint8), np.array(lab[u], dtype=np.int64)) for u in USAGES}


def resize_all(imgs, size):
    """PIL Image.resize((size, size), BILINEAR) of every 48x48 grey image (torchvision's Resize on PIL)."""
    from PIL import Image

    out = np.empty((len(imgs), size, size), dtype=np.uint8)
    for i, a in enumerate(imgs):
        out[i] = np.asarray(Image.fromarray(a, mode="L").resize((size, size), Image.BILINEAR))
    return out


def to_input(u8, flips=None):
    """uint8 [n, H, W] (+ flip mask) -> normalised float32 [n, 3, H, W] (Grayscale(3), ToTensor, Normalize)."""
    x = torch.from_numpy(u8).float().div(255.0)
    if flips is not None:
        x = torch.where(flips.view(-1, 1, 1), x.flip(-1), x)
    x = x.unsqueeze(1).expand(-1, 3, -1, -1)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


@torch.no_grad()
def evaluate(model, imgs, labels, batch, num_classes):
    model.eval()
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    loss_sum = 0.0
    for s in range(0, len(labels), batch):
        x = to_input(imgs[s : s + batch])
        y = torch.from_numpy(labels[s : s + batch])
        out = model(x)
        loss_sum += F.cross_entropy(out, y, reduction="sum").item()
        pred = out.argmax(1).numpy()
        for t, p in zip(labels[s : s + batch], pred):
            cm[t, p] += 1
    n = max(1, len(labels))
    return {"loss": loss_sum / n, "accuracy": float(np.trace(cm)) / n, "confusion": cm.tolist()}


def augment(x, gen, rotation, scale, translate):
    """Random affine per sample on normalised [n, C, H, W]: angle in +-rotation degrees, zoom in
    [1-scale, 1+scale], shift in +-translate of the side; bilinear, border padding."""
    n = x.shape[0]
    u = torch.rand(n, 4, generator=gen) * 2 - 1
    ang = u[:, 0] * rotation * math.pi / 180
    zoom = 1 + u[:, 1] * scale
    tx, ty = u[:, 2] * translate * 2, u[:, 3] * translate * 2  # normalised coordinates span 2
    c, s = torch.cos(ang) / zoom, torch.sin(ang) / zoom
    theta = torch.stack([torch.stack([c, -s, -(c * tx - s * ty)], 1), torch.stack([s, c, -(s * tx + c * ty)], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


RECIPES = {
    "official": {},
    "shipped": dict(width=0.25, image_size=48, batch_size=64, eval_batch_size=256, epochs=30, lr=0.05, momentum=0.9, nesterov=True,
                    weight_decay=5e-4, scheduler="onecycle", label_smoothing=0.1, rotation=15.0, scale_jitter=0.15, translate=0.1,
                    dropout=0.1, fc_dropout=0.25, patience=0),
}


def read_safetensors(path):
    """A safetensors file (8-byte little-endian header length, JSON header, raw little-endian data)
    as {name: torch.Tensor}; F16 is widened to float32 (as this library's loader does)."""
    dtypes = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I32": np.int32, "I64": np.int64}
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in dtypes:
            raise SystemExit(f"{path}: tensor {name} has dtype {info['dtype']}, not one of {sorted(dtypes)}")
        a, b = info["data_offsets"]
        arr = np.frombuffer(data[a:b], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
        if arr.dtype == np.float16:
            arr = arr.astype(np.float32)
        out[name] = torch.from_numpy(arr.copy())
    return out


def read_checkpoint(path):
    """This library's checkpoint: a .safetensors file, or a sidecar .json naming its model_file."""
    if path.endswith(".json"):
        with open(path) as f:
            side = json.load(f)
        path = os.path.join(os.path.dirname(path), side["model_file"])
    state = read_safetensors(path)
    # num_batches_tracked is int64 in PyTorch (int32 in this library's files)
    return {k: (v.long() if k.endswith("num_batches_tracked") else v) for k, v in state.items()}


def parse_width(s):
    if "/" in s:
        a, b = s.split("/")
        return float(a) / float(b)
    return float(s)


def main(argv=None):
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    default_data = os.environ.get("RESEMOTENET_DATA") or os.path.join(repo, "..", "shared", "data", "fer2013", "fer2013.csv.gz")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=default_data)
    ap.add_argument("--recipe", choices=sorted(RECIPES), default="official")
    ap.add_argument("--width", type=parse_width, default=None, help="default 1/16 (official), 1/4 (shipped)")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--eval-batch-size", type=int)
    ap.add_argument("--lr", type=float, help="onecycle: the peak lr")
    ap.add_argument("--momentum", type=float)
    ap.add_argument("--nesterov", action="store_true", default=None)
    ap.add_argument("--weight-decay", type=float)
    ap.add_argument("--scheduler", choices=["none", "onecycle"])
    ap.add_argument("--label-smoothing", type=float)
    ap.add_argument("--rotation", type=float)
    ap.add_argument("--scale-jitter", type=float)
    ap.add_argument("--translate", type=float)
    ap.add_argument("--dropout", type=float)
    ap.add_argument("--fc-dropout", type=float)
    ap.add_argument("--patience", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--image-size", type=int)
    ap.add_argument("--limit-train", type=int)
    ap.add_argument("--limit-val", type=int)
    ap.add_argument("--limit-test", type=int)
    ap.add_argument("--time-budget", type=float, help="minutes; stops after the epoch that crosses it")
    ap.add_argument("--pct-start", type=float, default=0.3, help="onecycle: fraction of the steps spent warming up")
    ap.add_argument("--init", default=None, help="start from this library's checkpoint: a .safetensors file or its sidecar .json (a second stage, fine-tuning)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on the 2-core CI machine; 2 was 30x slower there)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    defaults = dict(width=1 / 16, epochs=80, batch_size=16, eval_batch_size=64, lr=0.001, momentum=0.9, nesterov=False, weight_decay=1e-4,
                    scheduler="none", label_smoothing=0.0, rotation=0.0, scale_jitter=0.0, translate=0.0, dropout=0.2, fc_dropout=0.5,
                    patience=15, image_size=64)
    for k, v in {**defaults, **RECIPES[a.recipe]}.items():
        if getattr(a, k) is None:
            setattr(a, k, v)

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    t0 = time.time()
    data = load_fer_csv(a.data, {"Training": a.limit_train, "PublicTest": a.limit_val, "PrivateTest": a.limit_test})
    tr_x, tr_y = data["Training"]
    va_x, va_y = data["PublicTest"]
    te_x, te_y = data["PrivateTest"]
    tr_x, va_x, te_x = (resize_all(x, a.image_size) for x in (tr_x, va_x, te_x))
    print(f"data {a.data}: train {len(tr_y)}, val {len(va_y)}, test {len(te_y)} ({time.time() - t0:.1f} s)", file=sys.stderr)

    model = ResEmoteNet(num_classes=7, width=a.width, dropout=a.dropout, fc_dropout=a.fc_dropout)
    if a.init:
        state = read_checkpoint(a.init)
        model.load_state_dict(state, strict=True)
        print(f"initialised from {a.init} ({len(state)} tensors)", file=sys.stderr)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"ResEmoteNet width {a.width}: {n_params:,} parameters, {a.threads} threads", file=sys.stderr)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum, weight_decay=a.weight_decay, nesterov=a.nesterov)
    gen = torch.Generator().manual_seed(a.seed)
    augmenting = a.rotation or a.scale_jitter or a.translate
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        logf = open(os.path.join(a.out, "torch_log.jsonl"), "w")
    best_acc, best_epoch, since_best = -1.0, 0, 0
    best_state = None
    history = []
    start = time.time()
    n = len(tr_y)
    drop_last = n % a.batch_size == 1
    nb = n // a.batch_size if drop_last else math.ceil(n / a.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=a.epochs * nb, pct_start=a.pct_start) if a.scheduler == "onecycle" else None
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        flips = torch.rand(n, generator=gen) < 0.5
        loss_sum, correct, seen = 0.0, 0, 0
        te = time.time()
        lr_epoch = opt.param_groups[0]["lr"]
        for b in range(nb):
            idx = perm[b * a.batch_size : (b + 1) * a.batch_size]
            x = to_input(tr_x[idx.numpy()], flips[idx])
            if augmenting:
                x = augment(x, gen, a.rotation, a.scale_jitter, a.translate)
            y = torch.from_numpy(tr_y[idx.numpy()])
            opt.zero_grad()
            out = model(x)
            loss = F.cross_entropy(out, y, label_smoothing=a.label_smoothing)
            loss.backward()
            opt.step()
            if sched:
                sched.step()
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == y).sum().item()
            seen += len(idx)
        train_s = time.time() - te
        v = evaluate(model, va_x, va_y, a.eval_batch_size, 7)
        improved = v["accuracy"] > best_acc
        if improved:
            best_acc, best_epoch, since_best = v["accuracy"], epoch + 1, 0
            best_state = {k: t.detach().clone() for k, t in model.state_dict().items()}
        else:
            since_best += 1
        rec = {"epoch": epoch + 1, "train_loss": loss_sum / seen, "train_acc": correct / seen, "val_loss": v["loss"], "val_acc": v["accuracy"], "lr": lr_epoch, "images_per_s": seen / train_s, "train_seconds": train_s, "improved": improved}
        history.append(rec)
        print(json.dumps(rec), file=sys.stderr)
        if a.out:
            logf.write(json.dumps(rec) + "\n")
            logf.flush()
        if a.patience > 0 and since_best >= a.patience:
            print(f"early stopping after epoch {epoch + 1}", file=sys.stderr)
            break
        if a.time_budget and time.time() - start > a.time_budget * 60:
            print(f"time budget reached after epoch {epoch + 1}", file=sys.stderr)
            break
    model.load_state_dict(best_state)
    t = evaluate(model, te_x, te_y, a.eval_batch_size, 7)
    result = {
        "width": a.width,
        "parameters": n_params,
        "epochs": len(history),
        "best_epoch": best_epoch,
        "best_val_acc": best_acc,
        "test_split": "PrivateTest",
        "test_count": int(len(te_y)),
        "test_acc": t["accuracy"],
        "test_loss": t["loss"],
        "confusion": t["confusion"],
        "class_names": EMOTIONS,
        "seconds": time.time() - t0,
        "config": vars(a),
        "torch": torch.__version__,
    }
    print(f"PrivateTest accuracy {t['accuracy'] * 100:.2f}% ({len(te_y)} images), best validation {best_acc * 100:.2f}% at epoch {best_epoch}", file=sys.stderr)
    if a.out:
        logf.close()
        torch.save(best_state, os.path.join(a.out, "torch_best.pth"))
        with open(os.path.join(a.out, "torch_result.json"), "w") as f:
            json.dump(result, f, indent=2)
    print(json.dumps({k: result[k] for k in ("width", "parameters", "epochs", "best_epoch", "best_val_acc", "test_acc", "test_count", "seconds")}))
    return result


if __name__ == "__main__":
    main()
