#!/usr/bin/python3
"""PyTorch CPU peer of the engine's benchmarks (`deno task cli bench` runs it).

Runs the shapes of a plan written by bench/shapes.ts (the same matmuls, convolutions, conv stack
and training step the engine runs) on the CPU with 2 threads and prints one JSON object on
stdout; progress goes to stderr.

    /usr/bin/python3 bench/peers/torch_bench.py --plan plan.json [--only kernels,stack,step]

Conv directions: "fwd" F.conv2d, "dx" and "dw" aten.convolution_backward with an output mask
(what autograd runs), each timed alone. The stack is the conditioner's convs and linears with
SiLU between them, forward + backward. The training step is tools/simulgen_reference.py's
LatentConditionerImg with AdamW, gradient clipping at 10 and SimulGen-VAE's loss
10 * MSE(y1) + MSE(y2).
"""

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def timed(fn, budget_s, max_reps, min_reps=1, warmups=1):
    """Median seconds of fn() after warm-up; reps chosen from the warm-up time."""
    warm = 0.0
    for _ in range(warmups):
        t0 = time.perf_counter()
        fn()
        warm = time.perf_counter() - t0
    # Short runs get more repetitions (their noise is larger), as bench/timing.ts does.
    cap = max_reps * (5 if warm < 0.1 else 1)
    reps = max(min_reps, min(cap, int(budget_s / max(warm, 1e-6))))
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return {
        "ms": statistics.median(samples) * 1000,
        "samples": [s * 1000 for s in samples],
        "warmupMs": warm * 1000,
        "method": "wall",
    }


def conv_out(size, k, stride, pad):
    return (size + 2 * pad - k) // stride + 1


def bench_kernels(torch, plan, out):
    F = torch.nn.functional
    budget, max_reps = plan["budgetS"], plan["maxReps"]
    g = torch.Generator().manual_seed(0)
    for m in plan["matmul"]:
        a = torch.randn(m["m"], m["k"], generator=g)
        b = torch.randn(m["k"], m["n"], generator=g)
        with torch.no_grad():
            r = timed(lambda: torch.mm(a, b), budget, max_reps)
        out[m["id"]] = r
        log("  %-44s %10.2f ms" % (m["id"], r["ms"]))
    for c in plan["conv"]:
        n, cin, h, w, cout, k = c["n"], c["cin"], c["h"], c["w"], c["cout"], c["k"]
        s, p = c["stride"], c["pad"]
        oh, ow = conv_out(h, k, s, p), conv_out(w, k, s, p)
        x = torch.rand(n, cin, h, w, generator=g)
        wt = torch.randn(cout, cin, k, k, generator=g) * (2.0 / (cin * k * k)) ** 0.5
        gy = torch.randn(n, cout, oh, ow, generator=g)
        for d in c["dirs"]:
            if d == "fwd":
                fn = lambda: F.conv2d(x, wt, None, s, p)
            else:
                mask = [d == "dx", d == "dw", False]
                fn = lambda mask=mask: torch.ops.aten.convolution_backward(
                    gy, x, wt, None, [s, s], [p, p], [1, 1], False, [0, 0], 1, mask)
            with torch.no_grad():
                r = timed(fn, budget, max_reps)
            cid = "conv %s %s" % (c["id"], d)
            out[cid] = r
            log("  %-44s %10.2f ms" % (cid, r["ms"]))


def stack_model(torch, spec):
    nn = torch.nn
    F = nn.functional

    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(1, spec["stemOut"], 7, 2, 3, bias=False)
            self.blocks = nn.ModuleList()
            for b in spec["blocks"]:
                blk = nn.Module()
                blk.conv1 = nn.Conv2d(b["cin"], b["cout"], 3, b["stride"], 1, bias=False)
                blk.conv2 = nn.Conv2d(b["cout"], b["cout"], 3, 1, 1, bias=False)
                blk.shortcut = (nn.Conv2d(b["cin"], b["cout"], 1, b["stride"], 0, bias=False)
                                if b["shortcut"] else None)
                self.blocks.append(blk)
            last = spec["blocks"][-1]["cout"]
            hid = last // 2
            self.heads = nn.ModuleList(
                nn.Sequential(nn.Linear(last, hid), nn.SiLU(), nn.Linear(hid, o))
                for o in spec["heads"])

        def forward(self, x):
            h = F.silu(self.stem(x))
            for blk in self.blocks:
                a = F.silu(blk.conv1(h))
                c = blk.conv2(a)
                h = F.silu(c + (blk.shortcut(h) if blk.shortcut is not None else h))
            pooled = h.mean(dim=(2, 3))
            return sum((hd(pooled) ** 2).mean() for hd in self.heads)

    return Stack()


def bench_stack(torch, plan, out):
    min_reps = 1 if plan["quick"] else 2
    for spec in plan["stacks"]:
        torch.manual_seed(0)
        m = stack_model(torch, spec)
        x = torch.rand(spec["batch"], 1, spec["imageSize"], spec["imageSize"])

        def run():
            m.zero_grad(set_to_none=True)
            m(x).backward()

        r = timed(run, 3 * plan["budgetS"], plan["maxReps"], min_reps)
        r["samplesPerS"] = spec["batch"] / (r["ms"] / 1000)
        out[spec["id"]] = r
        log("  %-44s %10.1f ms  %.2f samples/s" % (spec["id"], r["ms"], r["samplesPerS"]))


def bench_step(torch, plan, out):
    sys.path.insert(0, os.path.join(REPO, "tools"))
    from simulgen_reference import LatentConditionerImg

    F = torch.nn.functional
    min_reps = 1 if plan["quick"] else 2
    for spec in plan["steps"]:
        if spec.get("objective", "original") != "original":
            continue  # the peer implements SimulGen-VAE's original loss only
        torch.manual_seed(0)
        size, b = spec["imageSize"], spec["batch"]
        model = LatentConditionerImg(spec["filters"], 32, (1, size, size), 8, 3)
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
        x = torch.rand(b, 1, size, size)
        y1 = torch.randn(b, 32) * 0.3
        y2 = torch.randn(b, 3, 8) * 0.3

        def step():
            opt.zero_grad(set_to_none=True)
            p1, p2 = model(x)
            loss = 10 * F.mse_loss(p1, y1) + F.mse_loss(p2, y2)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()

        r = timed(step, 3 * plan["budgetS"], plan["maxReps"], min_reps)
        r["samplesPerS"] = b / (r["ms"] / 1000)
        r["peakRssBytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        out[spec["id"]] = r
        log("  %-44s %10.1f ms  %.2f samples/s" % (spec["id"], r["ms"], r["samplesPerS"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plan", required=True, help="plan JSON written by the bench command")
    ap.add_argument("--only", default="kernels,stack,step", help="sections, comma-separated")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    with open(args.plan) as f:
        plan = json.load(f)
    try:
        import torch
    except ImportError as e:
        print(json.dumps({"ok": False, "note": "PyTorch is not installed: %s" % e}))
        return
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    sections = set(args.only.split(","))
    cases = {}
    result = {
        "ok": True,
        "peer": "torch",
        "info": {
            "torch": torch.__version__,
            "python": platform.python_version(),
            "threads": torch.get_num_threads(),
            "mkldnn": bool(torch.backends.mkldnn.is_available()),
        },
        "cases": cases,
    }
    if "kernels" in sections:
        bench_kernels(torch, plan, cases)
    if "stack" in sections:
        bench_stack(torch, plan, cases)
    if "step" in sections:
        bench_step(torch, plan, cases)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
