#!/usr/bin/env python3
"""PyTorch peer of `npm run bench`: ResEmoteNet timed with the bench's protocol.

The model is scripts/torch_resemotenet.py's ResEmoteNet (the official architecture with the
same state_dict keys and the same width rule as src/resemotenet/model.ts), imported, not copied.
`npm run bench` (section `peers`) runs this script as a child process with the configurations
it measures itself and puts the medians beside its own; it can also be run alone:

    /usr/bin/python3 bench/torch_model.py                     # the default configurations, CPU
    /usr/bin/python3 bench/torch_model.py --device cuda       # on an NVIDIA GPU
    /usr/bin/python3 bench/torch_model.py --configs train:1/4:48:64,infer:1:64:1 --runs 5 --warmup 1

A configuration is MODE:WIDTH:SIZE:BATCH (MODE infer or train, WIDTH the channel multiplier,
e.g. 1 or 1/4, SIZE the input side). The default list is the one the bench uses:
train 1/4 48x48 batch 64 (the shipped model's recipe), train 1 64x64 batch 16, infer 1 64x64 at
batch 1, 16 and 64, infer 1/4 48x48 at batch 1 and 16.

Protocol per configuration (the same as bench/model.ts): a fresh model (torch.manual_seed(0)),
random input and labels; the first run is reported as cold (time to first result); with
`--threads auto` on the CPU one uncounted run per candidate thread count (1, 2, 4, ... up to the
core count), keeping the fastest; then `--warmup` uncounted runs and `--runs` counted runs;
median, min, max. A run is timed from the call to the end of the readback: inference is
`model.eval()` under `torch.no_grad()` up to `logits.cpu()`; a training step is
`optimizer.zero_grad()`, forward (train mode, dropout on), `F.cross_entropy`, `backward()`,
`torch.optim.SGD(lr=0.01, momentum=0.9).step()`, up to `loss.item()` (and
`torch.cuda.synchronize()` on CUDA).

Output: one JSON object on stdout (see `main`); progress lines on stderr. Exit status 0 when
every configuration ran, 1 when some failed (their records carry "error"), 2 on bad arguments.
"""
import argparse
import json
import math
import os
import platform
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
from torch_resemotenet import ResEmoteNet  # noqa: E402

DEFAULT_CONFIGS = "train:1/4:48:64,train:1:64:16,infer:1:64:1,infer:1:64:16,infer:1:64:64,infer:1/4:48:1,infer:1/4:48:16"
CLASSES = 7


def parse_width(s):
    """'1/4' -> 0.25, '1' -> 1.0."""
    if "/" in s:
        a, b = s.split("/")
        return float(a) / float(b)
    return float(s)


def parse_configs(spec):
    """'train:1/4:48:64,infer:1:64:1' -> [{'mode', 'width', 'size', 'batch'}]; raises ValueError."""
    out = []
    for item in filter(None, (s.strip() for s in spec.split(","))):
        parts = item.split(":")
        if len(parts) != 4 or parts[0] not in ("infer", "train"):
            raise ValueError(f"bad configuration '{item}': expected MODE:WIDTH:SIZE:BATCH with MODE infer or train")
        try:
            width, size, batch = parse_width(parts[1]), int(parts[2]), int(parts[3])
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"bad configuration '{item}': WIDTH must be a number or a fraction (1/4), SIZE and BATCH integers") from None
        if not (width > 0 and size >= 8 and batch >= 1):
            raise ValueError(f"bad configuration '{item}': width > 0, size >= 8 and batch >= 1 are required")
        out.append({"mode": parts[0], "width": width, "size": size, "batch": batch})
    if not out:
        raise ValueError("no configurations given")
    return out


def stats(samples):
    """Median, min, max and mean of milliseconds (the bench's Stats record)."""
    s = sorted(samples)
    m = len(s) // 2
    median = s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2
    return {"median": median, "min": s[0], "max": s[-1], "mean": sum(s) / len(s), "samples": [round(x, 4) for x in samples]}


def fmt_ms(v):
    """Milliseconds with about 3 significant digits, never in exponent form."""
    return f"{v:.0f}" if v >= 100 else f"{v:.3g}"


def thread_candidates(cpus):
    """1, 2, 4, ... below the core count, and the core count."""
    c, n = [], 1
    while n < cpus:
        c.append(n)
        n *= 2
    c.append(cpus)
    return c


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_runner(cfg, device):
    """Builds the model, input and step for one configuration; returns (run, model, check) where
    run() -> elapsed ms and check() describes the last result."""
    torch.manual_seed(0)
    model = ResEmoteNet(num_classes=CLASSES, width=cfg["width"]).to(device)
    gen = torch.Generator().manual_seed(100 + cfg["batch"])
    x = torch.randn(cfg["batch"], 3, cfg["size"], cfg["size"], generator=gen).to(device)
    last = {}
    if cfg["mode"] == "infer":
        model.eval()

        def run():
            t0 = time.perf_counter()
            with torch.no_grad():
                y = model(x)
            logits = y.cpu()
            el = (time.perf_counter() - t0) * 1000
            last["logits"] = logits
            return el

        def check():
            y = last.get("logits")
            return "" if y is None else ("finite" if bool(torch.isfinite(y).all()) else "NON-FINITE output")

    else:
        model.train()
        labels = torch.randint(0, CLASSES, (cfg["batch"],), generator=gen).to(device)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def run():
            t0 = time.perf_counter()
            opt.zero_grad()
            loss = F.cross_entropy(model(x), labels)
            loss.backward()
            opt.step()
            v = loss.item()
            sync(device)
            el = (time.perf_counter() - t0) * 1000
            last["loss"] = v
            return el

        def check():
            v = last.get("loss")
            return "" if v is None else (f"loss {v:.3f} (finite)" if math.isfinite(v) else f"NON-FINITE loss {v}")

    return run, model, check


def measure(cfg, device, a, log):
    """One configuration with the bench's protocol; returns its JSON record."""
    rec = dict(cfg)
    run, model, check = make_runner(cfg, device)
    rec["params"] = sum(p.numel() for p in model.parameters())
    rec["coldMs"] = run()
    if device.type == "cpu" and a.threads == "auto":
        probe = {}
        for n in thread_candidates(os.cpu_count() or 1):
            torch.set_num_threads(n)
            probe[str(n)] = run()
        best = min(probe, key=probe.get)
        torch.set_num_threads(int(best))
        rec["threadProbeMs"] = probe
    rec["threads"] = torch.get_num_threads()
    for _ in range(a.warmup):
        run()
    samples = [run() for _ in range(a.runs)]
    rec["time"] = stats(samples)
    rec["imagesPerSec"] = cfg["batch"] * 1000 / rec["time"]["median"]
    rec["check"] = check()
    log(f"  {cfg['mode']} width {cfg['width']:g} {cfg['size']}x{cfg['size']} batch {cfg['batch']}: cold {rec['coldMs']:.0f} ms, "
        f"median {rec['time']['median']:.1f} ms, {rec['imagesPerSec']:.1f} img/s, {rec['threads']} threads"
        + (f" (probe {', '.join(f'{k}: {fmt_ms(v)} ms' for k, v in rec['threadProbeMs'].items())})" if "threadProbeMs" in rec else ""))
    return rec


def device_name(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def main(argv=None):
    ap = argparse.ArgumentParser(description="PyTorch peer of npm run bench: ResEmoteNet inference and training step timings as JSON")
    ap.add_argument("--configs", default=DEFAULT_CONFIGS, help="MODE:WIDTH:SIZE:BATCH, comma-separated (default: %(default)s)")
    ap.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    ap.add_argument("--threads", default="auto", help="CPU threads: a number, or 'auto' (default): try 1, 2, 4, ... per configuration and keep the fastest")
    ap.add_argument("--runs", type=int, default=5, help="counted runs (default 5)")
    ap.add_argument("--warmup", type=int, default=1, help="uncounted runs after the cold run (default 1)")
    a = ap.parse_args(argv)
    try:
        configs = parse_configs(a.configs)
        if a.threads != "auto" and int(a.threads) < 1:
            raise ValueError("--threads must be a positive number or 'auto'")
        if a.runs < 1 or a.warmup < 0:
            raise ValueError("--runs must be >= 1 and --warmup >= 0")
        device = torch.device(a.device)
    except (ValueError, RuntimeError) as e:
        ap.error(str(e))
    if device.type == "cuda" and not torch.cuda.is_available():
        msg = f"--device {a.device}: torch {torch.__version__} sees no CUDA device"
        print(msg, file=sys.stderr)
        print(json.dumps({"error": msg}))
        return 1
    if device.type == "cpu" and a.threads != "auto":
        torch.set_num_threads(int(a.threads))
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    log(f"torch {torch.__version__} on {device} ({device_name(device)}), threads {a.threads}")
    t0 = time.perf_counter()
    results, failed = [], 0
    for cfg in configs:
        try:
            results.append(measure(cfg, device, a, log))
        except Exception as e:  # one failing configuration (out of memory, say) must not hide the others
            failed += 1
            results.append({**cfg, "error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:400]})
            log(f"  {cfg['mode']} width {cfg['width']:g} {cfg['size']}x{cfg['size']} batch {cfg['batch']}: ERROR {results[-1]['error']}")
        if device.type == "cuda":
            torch.cuda.empty_cache()
    print(json.dumps({
        "engine": "torch",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": str(device),
        "deviceName": device_name(device),
        "cpuCount": os.cpu_count(),
        "threadsOption": a.threads,
        "runs": a.runs,
        "warmup": a.warmup,
        "results": results,
        "seconds": time.perf_counter() - t0,
    }))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
