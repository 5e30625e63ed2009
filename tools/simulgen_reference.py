#!/usr/bin/python3
"""PyTorch reference of SimulGen-VAE's CNN latent conditioner (`LatentConditionerImg`).

Written from /work/shared/SPEC.md, section 2 (model) and section 5 (perceptual feature
networks). Only torch is needed (PyTorch 1.13 was used to check it). Run it to print the
parameter counts the SPEC quotes:

    /usr/bin/python3 tools/simulgen_reference.py

Model summary (filters f = latent_conditioner_filter, e.g. 32 64 128 256 512):

    stem     conv1 7x7 s2 p3, 1 -> f[0], no bias, NOT spectrally normalised      conv1.weight
             gn1 GroupNorm, SiLU                                                  gn1.weight/bias
    block i  (in = f[i-1], stage 0 in = f[0]; stride 2 for even i, 1 for odd i)  layers.{i}.0.*
             conv1 3x3 (stride) SN -> gn1 -> SiLU -> conv2 3x3 SN -> gn2
             -> SE -> + shortcut -> SiLU
             shortcut = identity, or downsample = Sequential(conv 1x1 (stride, no bias, no SN),
             GroupNorm) when stride != 1 or in != out                            .downsample.0/.1
             SE (attention): global avg pool -> excitation = Sequential(SN Linear(C, C/8, no bias),
             SiLU, SN Linear(C/8, C, no bias), Sigmoid) -> x * (0.5 + 0.5 s)   .attention.excitation.0/.2
    head     adaptive avg pool 1x1 -> flatten (F = f[-1])
             latent_head = Sequential(SN Linear(F, F/2), SiLU, SN Linear(F/2, 32), Tanh)  -> y1 (B, 32)
             xs_head     = Sequential(SN Linear(F, F/2), SiLU, SN Linear(F/2, 24), Tanh)  -> y2 (B, 3, 8)

GroupNorm groups = largest divisor of C that is <= 32, eps 1e-5, affine. Spectral norm is
torch.nn.utils.spectral_norm (1 power iteration per training forward, dim 0, eps 1e-12), which
gives the `weight_orig`, `weight_u`, `weight_v` state_dict keys. Init: kaiming_uniform_
(fan_in, ReLU gain) on every conv/linear weight (for SN layers that is `weight_orig`), biases 0,
GroupNorm weight 1 / bias 0.
"""

import math
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm

__all__ = [
    "gn_groups",
    "SqueezeExcitation",
    "ResidualBlock",
    "LatentConditionerImg",
    "PerceptualFeatureNets",
    "parse_filters",
    "count_parameters",
]


def gn_groups(channels):
    """Largest divisor of `channels` that is <= 32."""
    for g in range(min(32, channels), 0, -1):
        if channels % g == 0:
            return g
    return 1


def _gn(channels):
    return nn.GroupNorm(gn_groups(channels), channels, eps=1e-5, affine=True)


class SqueezeExcitation(nn.Module):
    """Global average pool -> SN Linear(C, C/8) -> SiLU -> SN Linear(C/8, C) -> sigmoid s;
    returns x * (0.5 + 0.5 s)."""

    def __init__(self, channels, reduction=8):
        super().__init__()
        hidden = channels // reduction
        if hidden < 1:
            raise ValueError("squeeze-excitation needs at least %d channels, got %d"
                             % (reduction, channels))
        self.squeeze = nn.AdaptiveAvgPool2d(1)
        self.excitation = nn.Sequential(
            spectral_norm(nn.Linear(channels, hidden, bias=False)),
            nn.SiLU(),
            spectral_norm(nn.Linear(hidden, channels, bias=False)),
            nn.Sigmoid(),
        )

    def forward(self, x):
        b, c = x.shape[0], x.shape[1]
        s = self.excitation(self.squeeze(x).view(b, c)).view(b, c, 1, 1)
        return x * (0.5 + 0.5 * s)


class ResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = spectral_norm(nn.Conv2d(in_channels, out_channels, 3, stride=stride,
                                             padding=1, bias=False))
        self.gn1 = _gn(out_channels)
        self.conv2 = spectral_norm(nn.Conv2d(out_channels, out_channels, 3, stride=1,
                                             padding=1, bias=False))
        self.gn2 = _gn(out_channels)
        self.attention = SqueezeExcitation(out_channels, reduction=8)
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                _gn(out_channels),
            )
        else:
            self.downsample = None

    def forward(self, x):
        out = F.silu(self.gn1(self.conv1(x)))
        out = self.gn2(self.conv2(out))
        out = self.attention(out)
        identity = x if self.downsample is None else self.downsample(x)
        return F.silu(out + identity)


class LatentConditionerImg(nn.Module):
    """CNN latent conditioner: image (B, 1, H, W) in [0, 1] -> (y1 (B, 32), y2 (B, 3, 8)).

    The signature follows the original's positional order (latent_conditioner_filter,
    latent_dim_end, input_shape, latent_dim, size2, ...); y2 has `size2` rows of `latent_dim`
    values. Extra keyword arguments of the original (dropout_rate, use_attention, ...) are
    accepted and ignored. The input may also be flat, (B, H*W) or (B, 1, H*W), as the original
    data loader produces; it is reshaped to (B, 1, H, W) with H, W from input_shape (or sqrt).
    """

    def __init__(self, latent_conditioner_filter, latent_dim_end=32, input_shape=(1, 256, 256),
                 latent_dim=8, size2=3, latent_conditioner_data_shape=None, **_ignored):
        super().__init__()
        filters = [int(f) for f in latent_conditioner_filter]
        if not filters:
            raise ValueError("latent_conditioner_filter is empty")
        self.latent_conditioner_filter = filters
        self.latent_dim_end = int(latent_dim_end)
        self.latent_dim = int(latent_dim)
        self.size2 = int(size2)
        self.input_shape = tuple(input_shape) if input_shape is not None else None

        self.conv1 = nn.Conv2d(1, filters[0], 7, stride=2, padding=3, bias=False)
        self.gn1 = _gn(filters[0])
        layers = []
        in_ch = filters[0]
        for i, out_ch in enumerate(filters):
            stride = 2 if i % 2 == 0 else 1
            layers.append(nn.Sequential(ResidualBlock(in_ch, out_ch, stride)))
            in_ch = out_ch
        self.layers = nn.ModuleList(layers)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        feat = filters[-1]
        hid = feat // 2
        self.latent_head = nn.Sequential(
            spectral_norm(nn.Linear(feat, hid)),
            nn.SiLU(),
            spectral_norm(nn.Linear(hid, self.latent_dim_end)),
            nn.Tanh(),
        )
        self.xs_head = nn.Sequential(
            spectral_norm(nn.Linear(feat, hid)),
            nn.SiLU(),
            spectral_norm(nn.Linear(hid, self.latent_dim * self.size2)),
            nn.Tanh(),
        )
        self._initialize_weights()

    def _initialize_weights(self):
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                w = m.weight_orig if hasattr(m, "weight_orig") else m.weight
                with torch.no_grad():
                    nn.init.kaiming_uniform_(w, a=0, mode="fan_in", nonlinearity="relu")
                    if m.bias is not None:
                        m.bias.zero_()
            elif isinstance(m, nn.GroupNorm):
                with torch.no_grad():
                    m.weight.fill_(1.0)
                    m.bias.zero_()

    def _as_image(self, x):
        if x.dim() == 4:
            return x
        n = x.shape[-1]
        if self.input_shape is not None and len(self.input_shape) >= 2 and \
                self.input_shape[-1] * self.input_shape[-2] == n:
            h, w = self.input_shape[-2], self.input_shape[-1]
        else:
            h = w = int(round(math.sqrt(n)))
            if h * w != n:
                raise ValueError("cannot reshape %d values into a square image" % n)
        return x.reshape(-1, 1, h, w)

    def forward(self, x):
        x = self._as_image(x)
        x = F.silu(self.gn1(self.conv1(x)))
        for layer in self.layers:
            x = layer(x)
        feat = self.avgpool(x).flatten(1)
        y1 = self.latent_head(feat)
        y2 = self.xs_head(feat).unflatten(1, (self.size2, self.latent_dim))
        return y1, y2


class PerceptualFeatureNets(nn.Module):
    """SPEC section 5: fixed random feature networks for the perceptual latent loss.

    For every h in feature_layers: a main net  Linear(32, h) SiLU Linear(h, h) SiLU Linear(h, 16)
    and a hier net (applied to rows of 8 of y2)  Linear(8, k) SiLU Linear(k, k) SiLU Linear(k, 4),
    k = max(4, h // 2). Xavier-uniform gain 0.1, bias 0; never trained (requires_grad False).
    forward(p1, p2, t1, t2) -> (total, main, hier) with, per net, 1 - mean row cosine
    similarity between f(pred) and f(target), computed as torch 1.13's F.cosine_similarity(eps=1e-8):
    (a / max(|a|, eps)) . (b / max(|b|, eps)); main/hier are averaged over nets and
    total = main + hier (the caller multiplies by perceptual_weight).
    """

    def __init__(self, feature_layers=(16, 8), main_dim=32, hier_dim=8, main_out=16, hier_out=4):
        super().__init__()
        self.feature_layers = [int(h) for h in feature_layers]
        self.hier_dim = hier_dim
        main, hier = [], []
        for h in self.feature_layers:
            k = max(4, h // 2)
            main.append(nn.Sequential(nn.Linear(main_dim, h), nn.SiLU(), nn.Linear(h, h),
                                      nn.SiLU(), nn.Linear(h, main_out)))
            hier.append(nn.Sequential(nn.Linear(hier_dim, k), nn.SiLU(), nn.Linear(k, k),
                                      nn.SiLU(), nn.Linear(k, hier_out)))
        self.main_networks = nn.ModuleList(main)
        self.hier_networks = nn.ModuleList(hier)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight, gain=0.1)
                nn.init.zeros_(m.bias)
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    @staticmethod
    def _one_minus_cos(a, b):
        return 1.0 - F.cosine_similarity(a, b, dim=1, eps=1e-8).mean()

    def forward(self, pred1, pred2, target1, target2):
        p2 = pred2.reshape(-1, self.hier_dim)
        t2 = target2.reshape(-1, self.hier_dim)
        n = len(self.feature_layers)
        main = sum(self._one_minus_cos(f(pred1), f(target1)) for f in self.main_networks) / n
        hier = sum(self._one_minus_cos(f(p2), f(t2)) for f in self.hier_networks) / n
        return main + hier, main, hier


def parse_filters(text):
    """'32 64 128' / '32,64,128' / [32, 64] -> [32, 64, 128]."""
    if isinstance(text, (list, tuple)):
        return [int(v) for v in text]
    parts = str(text).replace(",", " ").split()
    if not parts:
        raise ValueError("empty filter list")
    return [int(p) for p in parts]


def count_parameters(model):
    """Number of values in model.parameters() (weight_orig counted, u/v buffers not)."""
    return sum(p.numel() for p in model.parameters())


def _macs(filters, size):
    """Multiply-accumulates of one forward (convs, linears; norms/activations excluded)."""
    h = (size + 2 * 3 - 7) // 2 + 1
    macs = 49 * filters[0] * h * h
    cin = filters[0]
    for i, c in enumerate(filters):
        s = 2 if i % 2 == 0 else 1
        ho = (h + 2 - 3) // s + 1
        macs += 9 * cin * c * ho * ho + 9 * c * c * ho * ho + 2 * c * (c // 8)
        if s != 1 or cin != c:
            macs += cin * c * ho * ho
        h, cin = ho, c
    f = filters[-1]
    macs += 2 * f * (f // 2) + (f // 2) * 32 + (f // 2) * 24
    return macs


def _summary(filters, size):
    torch.manual_seed(0)
    m = LatentConditionerImg(filters, input_shape=(1, size, size))
    sd = m.state_dict()
    m.eval()
    with torch.no_grad():
        y1, y2 = m(torch.rand(1, 1, size, size))
    return OrderedDict(filters=filters, size=size, state_dict_tensors=len(sd),
                       parameters=count_parameters(m),
                       state_dict_values=sum(t.numel() for t in sd.values()),
                       gmac=_macs(filters, size) / 1e9,
                       y1=tuple(y1.shape), y2=tuple(y2.shape))


if __name__ == "__main__":
    expected = {(32, 64, 128, 256, 512): 5265624, (32, 64, 128, 256): 1322968, (8, 16, 32, 64): 84976}
    ok = True
    for filters, size in (([32, 64, 128, 256, 512], 256), ([32, 64, 128, 256], 256),
                          ([8, 16, 32, 64], 48)):
        s = _summary(filters, size)
        want = expected[tuple(filters)]
        flag = "OK" if s["parameters"] == want else "MISMATCH (SPEC says %d)" % want
        ok = ok and s["parameters"] == want
        print("filters %-22s %3dx%-3d  state_dict tensors %3d  parameters %9d  %s  "
              "(state_dict values incl. u/v %d; %.3f GMAC; y1 %s, y2 %s)"
              % (" ".join(map(str, filters)), size, size, s["state_dict_tensors"], s["parameters"],
                 flag, s["state_dict_values"], s["gmac"], s["y1"], s["y2"]))
    raise SystemExit(0 if ok else 1)
