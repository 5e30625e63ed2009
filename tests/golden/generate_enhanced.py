#!/usr/bin/python3
"""Golden values for the enhanced losses (SPEC section 5), written to tests/golden/enhanced.safetensors.

Run with `/usr/bin/python3 tests/golden/generate_enhanced.py` (PyTorch 1.13). Deterministic.

Keys:
  p1 (4, 32), t1 (4, 32), p2 (4, 3, 8), t2 (4, 3, 8)   predictions and targets
  ms.total, ms.components (6,) = mse/mae/huber of y1 then of y2 (means, unweighted)
  ms.grad_p1, ms.grad_p2     d ms.total / d p1, p2 for the robust preset's weights:
                             mse 1.0, mae 0.2, huber 0.1, beta 0.1, main 10, hier 1
  perc.total, perc.main, perc.hier, perc.grad_p1, perc.grad_p2   PerceptualFeatureNets([16, 8]),
                             weights stored as perc.main.<j>.<layer>.weight/bias and
                             perc.hier.<j>.<layer>.weight/bias (layer = 0, 2, 4 as in nn.Sequential)
  cons.total, cons.grad_p1, cons.grad_p2   (mse(p1, c1) + mse(p2, c2)) / 1.0 * 0.15 with the
                             clean predictions c1 (4, 32), c2 (4, 3, 8) (keys c1, c2) as constants
"""

import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from safetensors_io import save_file  # noqa: E402
from simulgen_reference import PerceptualFeatureNets  # noqa: E402

torch.manual_seed(7)
torch.set_num_threads(1)
out = {}
p1 = (torch.rand(4, 32) * 1.4 - 0.7).double()
t1 = (torch.rand(4, 32) * 1.4 - 0.7).double()
p2 = (torch.rand(4, 3, 8) * 1.4 - 0.7).double()
t2 = (torch.rand(4, 3, 8) * 1.4 - 0.7).double()
# A few differences inside the Huber beta so both branches are exercised.
t1[0, :8] = p1[0, :8] + 0.03 * torch.randn(8).double()
t2[1, 0, :] = p2[1, 0, :] - 0.05 * torch.rand(8).double()
for k, v in dict(p1=p1, t1=t1, p2=p2, t2=t2).items():
    out[k] = v.float()


def robust(d, mse_w, mae_w, huber_w, beta):
    mse = (d ** 2).mean()
    mae = d.abs().mean()
    hub = F.smooth_l1_loss(d, torch.zeros_like(d), beta=beta)
    return mse_w * mse + mae_w * mae + huber_w * hub, [mse, mae, hub]


a1 = out["p1"].double().requires_grad_()
a2 = out["p2"].double().requires_grad_()
l1, c1 = robust(a1 - out["t1"].double(), 1.0, 0.2, 0.1, 0.1)
l2, c2 = robust(a2 - out["t2"].double(), 1.0, 0.2, 0.1, 0.1)
total = 10 * l1 + 1 * l2
total.backward()
out["ms.total"] = total.detach().float().reshape(1)
out["ms.components"] = torch.stack(c1 + c2).detach().float()
out["ms.grad_p1"] = a1.grad.float()
out["ms.grad_p2"] = a2.grad.float()

torch.manual_seed(11)
nets = PerceptualFeatureNets([16, 8]).double()
for kind, group in (("main", nets.main_networks), ("hier", nets.hier_networks)):
    for j, seq in enumerate(group):
        for li in (0, 2, 4):
            out[f"perc.{kind}.{j}.{li}.weight"] = seq[li].weight.detach().float()
            out[f"perc.{kind}.{j}.{li}.bias"] = seq[li].bias.detach().float()
nets = nets.double()
a1 = out["p1"].double().requires_grad_()
a2 = out["p2"].double().requires_grad_()
total, main, hier = nets(a1, a2, out["t1"].double(), out["t2"].double())
total.backward()
out["perc.total"] = total.detach().float().reshape(1)
out["perc.main"] = main.detach().float().reshape(1)
out["perc.hier"] = hier.detach().float().reshape(1)
out["perc.grad_p1"] = a1.grad.float()
out["perc.grad_p2"] = a2.grad.float()

c1 = (torch.rand(4, 32) * 1.4 - 0.7)
c2 = (torch.rand(4, 3, 8) * 1.4 - 0.7)
out["c1"], out["c2"] = c1, c2
a1 = out["p1"].double().requires_grad_()
a2 = out["p2"].double().requires_grad_()
cons = 0.15 * (F.mse_loss(a1, c1.double()) + F.mse_loss(a2, c2.double())) / 1.0
cons.backward()
out["cons.total"] = cons.detach().float().reshape(1)
out["cons.grad_p1"] = a1.grad.float()
out["cons.grad_p2"] = a2.grad.float()

save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(HERE, "enhanced.safetensors"),
          {"generator": "tests/golden/generate_enhanced.py"})
print(f"wrote {len(out)} tensors")
