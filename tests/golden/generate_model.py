#!/usr/bin/python3
"""Generates the whole-model / optimiser / schedule fixtures in tests/golden/model/.

Run with `/usr/bin/python3 tests/golden/generate_model.py` (PyTorch 1.13 CPU, numpy). Output is
deterministic (seeded, one CPU thread): running it twice gives identical bytes. The reference
model is tools/simulgen_reference.py; the safetensors writer is tools/safetensors_io.py.

Conventions (as in generate.py): everything stored is float32. Stored inputs/states are the
exact float32 values the engine should load; expected results are computed in float64 from
those float32 values (the model is loaded and then converted with .double()) and rounded once
to float32 when stored.

model_small.safetensors   (metadata: filters "8 16 32", image "32")
    The state_dict of LatentConditionerImg([8, 16, 32], input_shape=(1, 32, 32)) built after
    torch.manual_seed(0), then put through 3 training-mode forwards (torch.no_grad, batches of
    torch.rand(4, 1, 32, 32) drawn from the same global generator) so that every spectral-norm
    u/v has had 3 power iterations; no optimiser step. 76 tensors, exact PyTorch key names
    (conv1.weight, layers.{i}.0.conv1.weight_orig/_u/_v, ..., xs_head.2.bias).

model_small_io.safetensors
    x          (2, 1, 32, 32)  input in [0, 1)
    eval_y1    (2, 32)         model.eval() forward of x from model_small (no u/v update)
    eval_y2    (2, 3, 8)
    t1         (2, 32)         fixed targets, uniform in [-0.7, 0.7)
    t2         (2, 3, 8)
    train_y1   (2, 32)         model.train() forward of x from model_small: each spectral-norm
    train_y2   (2, 3, 8)       layer first does one power iteration (updating u, v in place), then
                               uses W / (u_new . W v_new)
    loss       (1,)            10 * mse(train_y1, t1) + mse(train_y2, t2)   (mean reductions)
    after_train.<buffer>       every *_u / *_v buffer after that train forward (same names as in
                               the state_dict, e.g. after_train.layers.0.0.conv1.weight_u)
    grad.<param>               d loss / d param for every model.parameters() entry, by its
                               state_dict name (weight_orig for spectral-norm layers; u, v are
                               constants in the backward pass), e.g. grad.layers.0.0.conv1.weight_orig

adamw.safetensors   (metadata: hyper-parameters)
    Three tensors p0 [4, 3], p1 [5], p2 [2, 2, 3]; 3 steps of
        total_norm = clip_grad_norm_([p0, p1, p2], max_norm=1.0)
        AdamW(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1).step()
    torch 1.13 semantics: total_norm = L2 norm over all grads (before clipping); clip_coef =
    1.0 / (total_norm + 1e-6); grads are multiplied by min(clip_coef, 1). AdamW: p *= 1 - lr*wd;
    m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr / (1-b1^t) * m / (sqrt(v) / sqrt(1-b2^t) + eps).
    param.{j}              initial values (j = 0, 1, 2)
    grad.{s}.{j}           gradient given at step s (s = 1, 2, 3), BEFORE clipping
    clipped_grad.{s}.{j}   the gradient after clip_grad_norm_
    total_norm             (3,) value returned by clip_grad_norm_ at steps 1..3
    clip_factor            (3,) min(1, 1 / (total_norm + 1e-6)) actually applied
    after.{s}.{j}          parameter after step s
    exp_avg.{s}.{j}, exp_avg_sq.{s}.{j}   optimiser state after step s
    Steps 1 and 3 are clipped (total norm > 1), step 2 is not.

lr_schedule.json
    SimulGen's per-epoch schedule (SPEC section 4) for n_epoch = 1000, base lr 5e-5: AdamW, then
    LinearLR(start_factor=0.01, total_iters=100) and CosineAnnealingLR(T_max=900, eta_min=1e-8)
    chained by SequentialLR(milestones=[100]), scheduler.step() once at the end of every epoch.
      lr_at_epoch[e]   (e = 0..999) the lr the optimiser uses while training epoch e:
                       lr_at_epoch[0] = lr before any step (5e-7), lr_at_epoch[e] = lr after e steps
      lr_after_step[k] (k = 0..999) get_last_lr()[0] after the (k+1)-th scheduler.step()
                       (so lr_after_step[k] == lr_at_epoch[k+1]; lr_after_step[999] is the lr
                       after the last epoch, never used for training)
    plus lr_before_first_step, and original_two_scheduler_max_abs_diff: the largest difference
    from the way SimulGen actually steps it (two schedulers on one optimiser, warmup.step() while
    epoch < 100 else cosine.step()).
"""

import json
import os
import sys
import warnings

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from safetensors_io import save_file  # noqa: E402
from simulgen_reference import LatentConditionerImg  # noqa: E402

OUT = os.path.join(HERE, "model")


def f32(t):
    return t.detach().to(torch.float32).contiguous()


def model_fixtures():
    filters, size = [8, 16, 32], 32
    torch.manual_seed(0)
    model = LatentConditionerImg(filters, input_shape=(1, size, size))
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.rand(4, 1, size, size))
    state = {k: f32(v) for k, v in model.state_dict().items()}
    meta = {
        "description": "LatentConditionerImg state_dict after 3 train-mode forwards "
                       "(see tests/golden/generate_model.py)",
        "filters": " ".join(map(str, filters)),
        "image": str(size),
        "seed": "0",
    }
    save_file(state, os.path.join(OUT, "model_small.safetensors"), metadata=meta)

    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 1, size, size, generator=g)
    t1 = torch.rand(2, 32, generator=g) * 1.4 - 0.7
    t2 = torch.rand(2, 3, 8, generator=g) * 1.4 - 0.7

    m64 = LatentConditionerImg(filters, input_shape=(1, size, size))
    m64.load_state_dict(state, strict=True)
    m64 = m64.double()
    x64, t164, t264 = x.double(), t1.double(), t2.double()

    io = {"x": x}
    m64.eval()
    with torch.no_grad():
        y1, y2 = m64(x64)
    io["eval_y1"], io["eval_y2"] = y1, y2
    io["t1"], io["t2"] = t1, t2

    m64.train()
    m64.zero_grad(set_to_none=True)
    y1, y2 = m64(x64)
    loss = 10.0 * F.mse_loss(y1, t164) + F.mse_loss(y2, t264)
    loss.backward()
    io["train_y1"], io["train_y2"] = y1, y2
    io["loss"] = loss.reshape(1)
    sd_after = m64.state_dict()
    for k, v in sd_after.items():
        if k.endswith("_u") or k.endswith("_v"):
            io["after_train." + k] = v.detach().clone()
    n_grad = 0
    for name, p in m64.named_parameters():
        io["grad." + name] = p.grad if p.grad is not None else torch.zeros_like(p)
        n_grad += 1
    io = {k: f32(v) for k, v in io.items()}
    save_file(io, os.path.join(OUT, "model_small_io.safetensors"), metadata={
        "description": "inputs, eval/train outputs, u/v after the train forward and gradients of "
                       "10*mse(y1,t1)+mse(y2,t2) for model_small.safetensors (float64 reference)",
        "loss": "10 * mean((train_y1 - t1)^2) + mean((train_y2 - t2)^2)",
    })
    return len(state), n_grad, float(loss)


def adamw_fixture():
    lr, betas, eps, wd, max_norm = 1e-2, (0.9, 0.999), 1e-8, 0.1, 1.0
    g = torch.Generator().manual_seed(2)
    shapes = [(4, 3), (5,), (2, 2, 3)]
    init = [f32(torch.randn(*s, generator=g)) for s in shapes]
    # raw gradient sets: step 1 and 3 get total norm > 1 (clipped), step 2 < 1 (not clipped)
    grads = []
    for target in (3.0, 0.4, 1.7):
        gs = [torch.randn(*s, generator=g) for s in shapes]
        norm = torch.sqrt(sum((t * t).sum() for t in gs))
        grads.append([f32(t * (target / norm)) for t in gs])

    params = [p.double().clone().requires_grad_(True) for p in init]
    opt = torch.optim.AdamW(params, lr=lr, betas=betas, eps=eps, weight_decay=wd)
    out = {}
    for j, p in enumerate(init):
        out["param.%d" % j] = p
    norms, factors = [], []
    for s, gs in enumerate(grads, start=1):
        for p, gr in zip(params, gs):
            p.grad = gr.double().clone()
        total = torch.nn.utils.clip_grad_norm_(params, max_norm=max_norm)
        norms.append(float(total))
        factors.append(min(1.0, max_norm / (float(total) + 1e-6)))
        for j, (p, gr) in enumerate(zip(params, gs)):
            out["grad.%d.%d" % (s, j)] = gr
            out["clipped_grad.%d.%d" % (s, j)] = p.grad.detach().clone()
        opt.step()
        for j, p in enumerate(params):
            st = opt.state[p]
            out["after.%d.%d" % (s, j)] = p.detach().clone()
            out["exp_avg.%d.%d" % (s, j)] = st["exp_avg"].clone()
            out["exp_avg_sq.%d.%d" % (s, j)] = st["exp_avg_sq"].clone()
    out["total_norm"] = torch.tensor(norms)
    out["clip_factor"] = torch.tensor(factors)
    out = {k: f32(v) for k, v in out.items()}
    save_file(out, os.path.join(OUT, "adamw.safetensors"), metadata={
        "description": "clip_grad_norm_(max_norm=1.0) then AdamW.step(), 3 steps (float64 reference)",
        "lr": "0.01", "beta1": "0.9", "beta2": "0.999", "eps": "1e-08", "weight_decay": "0.1",
        "max_norm": "1.0", "clip_eps": "1e-06", "steps": "3",
    })
    assert norms[0] > 1 and norms[1] < 1 and norms[2] > 1, norms
    return norms


def lr_fixture():
    base, epochs, warm = 5e-5, 1000, 100

    def sequential():
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.AdamW([p], lr=base)
        s1 = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.01, total_iters=warm)
        s2 = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs - warm, eta_min=1e-8)
        sch = torch.optim.lr_scheduler.SequentialLR(opt, schedulers=[s1, s2], milestones=[warm])
        before = opt.param_groups[0]["lr"]
        after = []
        for _ in range(epochs):
            opt.step()
            sch.step()
            after.append(sch.get_last_lr()[0])
            assert after[-1] == opt.param_groups[0]["lr"]
        return before, after

    def original():
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.AdamW([p], lr=base)
        s1 = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.01, total_iters=warm)
        s2 = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs - warm, eta_min=1e-8)
        before = opt.param_groups[0]["lr"]
        after = []
        for epoch in range(epochs):
            opt.step()
            (s1 if epoch < warm else s2).step()
            after.append(opt.param_groups[0]["lr"])
        return before, after

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before, after = sequential()
        obefore, oafter = original()
    at_epoch = [before] + after[:-1]
    diff = max(abs(a - b) for a, b in zip([before] + after, [obefore] + oafter))
    # closed form for comparison: warm-up linear, then cosine
    closed = []
    for e in range(epochs):
        if e < warm:
            closed.append(base * (0.01 + (1 - 0.01) * e / warm))
        else:
            k = e - warm
            closed.append(1e-8 + (base - 1e-8) * (1 + np.cos(np.pi * k / (epochs - warm))) / 2)
    cdiff = max(abs(a - b) / max(abs(b), 1e-30) for a, b in zip(at_epoch, closed))
    doc = {
        "description": "SimulGen latent-conditioner LR per epoch (PyTorch 1.13): AdamW lr 5e-5; "
                       "SequentialLR([LinearLR(start_factor=0.01, total_iters=100), "
                       "CosineAnnealingLR(T_max=900, eta_min=1e-8)], milestones=[100]); "
                       "scheduler.step() after every epoch. lr_at_epoch[e] is the lr used "
                       "during epoch e (index 0 = before any step); lr_after_step[k] is "
                       "get_last_lr()[0] after the (k+1)-th step.",
        "base_lr": base,
        "epochs": epochs,
        "warmup_epochs": warm,
        "start_factor": 0.01,
        "eta_min": 1e-8,
        "t_max": epochs - warm,
        "lr_before_first_step": before,
        "lr_at_epoch": at_epoch,
        "lr_after_step": after,
        "original_two_scheduler_max_abs_diff": diff,
        "closed_form_max_rel_diff": float(cdiff),
    }
    with open(os.path.join(OUT, "lr_schedule.json"), "w") as f:
        json.dump(doc, f, indent=None, separators=(",", ":"))
        f.write("\n")
    return before, after, diff, float(cdiff)


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    n_state, n_grad, loss = model_fixtures()
    norms = adamw_fixture()
    before, after, diff, cdiff = lr_fixture()
    print("model_small: %d state_dict tensors, %d gradients, loss %.8g" % (n_state, n_grad, loss))
    print("adamw: total norms %s" % ", ".join("%.6g" % n for n in norms))
    print("lr: before %.6g, after step 1 %.6g, after 100 %.6g, after 1000 %.6g; "
          "two-scheduler diff %.3g, closed-form rel diff %.3g"
          % (before, after[0], after[99], after[-1], diff, cdiff))
    total = 0
    for name in sorted(os.listdir(OUT)):
        size = os.path.getsize(os.path.join(OUT, name))
        total += size
        print("  %-30s %8d bytes" % (name, size))
    print("  total %d bytes" % total)


if __name__ == "__main__":
    main()
