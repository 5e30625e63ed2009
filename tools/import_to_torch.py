#!/usr/bin/python3
"""Convert a safetensors file (e.g. one written by the WebGPU trainer) to a PyTorch state_dict.

usage: python3 tools/import_to_torch.py [--check FILTERS] IN.safetensors OUT.pth

OUT.pth holds an OrderedDict name -> tensor (float32; I64 tensors stay int64), loadable with

    model.load_state_dict(torch.load("OUT.pth"))

With --check "32 64 128 256 512" the reference LatentConditionerImg (tools/simulgen_reference.py)
is built with those filters and load_state_dict(strict=True) is called on it; a missing,
unexpected or mis-shaped key is an error, and a tiny eval forward is run to make sure the
values are finite. The same check with SimulGen-VAE's own class needs that project's code:
model = LatentConditionerImg(...); model.load_state_dict(torch.load("OUT.pth")).
"""

import argparse
import os
import sys
from collections import OrderedDict

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from safetensors_io import SafetensorsError, load_file  # noqa: E402


class ConversionError(Exception):
    pass


def to_state_dict(path):
    import torch

    arrays, meta = load_file(path)
    if not arrays:
        raise ConversionError("%s: holds no tensors" % path)
    sd = OrderedDict()
    for k, a in arrays.items():
        sd[k] = torch.from_numpy(a.copy())
    return sd, meta


def check(sd, filters_text, image_size=64):
    import torch
    import simulgen_reference as ref

    filters = ref.parse_filters(filters_text)
    model = ref.LatentConditionerImg(filters, input_shape=(1, image_size, image_size))
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        raise ConversionError("load_state_dict(strict=True) on LatentConditionerImg(%s) failed:\n%s"
                           % (" ".join(map(str, filters)), e))
    model.eval()
    with torch.no_grad():
        y1, y2 = model(torch.rand(2, 1, image_size, image_size, generator=torch.Generator().manual_seed(0)))
    if not (torch.isfinite(y1).all() and torch.isfinite(y2).all()):
        raise ConversionError("the loaded model produces non-finite outputs")
    return model, ref.count_parameters(model)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="import_to_torch.py", description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 2)[2],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", metavar="IN.safetensors")
    ap.add_argument("dst", metavar="OUT.pth")
    ap.add_argument("--check", metavar="FILTERS", default=None,
                    help="filter list, e.g. '32 64 128 256 512' or 32,64,128: build the reference "
                         "model and load the result with strict=True")
    args = ap.parse_args(argv)
    import torch

    try:
        sd, meta = to_state_dict(args.src)
        if args.check:
            try:
                _, n_param = check(sd, args.check)
            except ValueError as e:
                raise ConversionError("--check %r: %s" % (args.check, e))
        try:
            torch.save(sd, args.dst)
        except OSError as e:
            raise ConversionError("%s: could not write (%s)" % (args.dst, e))
    except (SafetensorsError, ConversionError, OSError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    n_values = sum(t.numel() for t in sd.values())
    print("read %s: %d tensors, %d values" % (args.src, len(sd), n_values))
    if args.check:
        print("check: load_state_dict(strict=True) OK on LatentConditionerImg(%s), %d parameters"
              % (args.check, n_param))
    print("wrote %s" % args.dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
