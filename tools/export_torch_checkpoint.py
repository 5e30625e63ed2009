#!/usr/bin/python3
"""Convert a PyTorch checkpoint (.pth / .pt) of the latent conditioner to safetensors (F32).

usage: python3 tools/export_torch_checkpoint.py [options] MODEL.pth OUT.safetensors

Accepted checkpoints (loaded with torch.load(map_location='cpu')):
  * a state_dict (what `torch.save(model.state_dict(), path)` writes), e.g. SimulGen-VAE's
    checkpoints/latent_conditioner.pth;
  * a dict holding one under 'model_state_dict', 'state_dict' or 'model' (training checkpoints);
  * a whole pickled nn.Module (what `torch.save(model, path)` writes, e.g. SimulGen-VAE's
    model_save/LatentConditioner). Unpickling a module needs its class: the module the class
    was defined in (for SimulGen-VAE, `modules.latent_conditioner_model_cnn`) must be importable,
    e.g. run from the SimulGen-VAE checkout or pass --search-path /path/to/SimulGen-VAE. If it is
    not importable, the classes LatentConditionerImg / ResidualBlock / SqueezeExcitation are
    taken from tools/simulgen_reference.py and any other missing class is replaced by an empty
    stand-in nn.Module; only the stored tensors are used, so the result is the same.

Tensor names are kept unchanged (`conv1.weight`, `layers.0.0.conv1.weight_orig`, ...), values
are converted to float32, and the header metadata records where they came from. Integer
tensors (e.g. BatchNorm's num_batches_tracked) cannot be stored as F32 and are skipped with a
warning. Loading a pickle can run code from the file: only convert checkpoints you trust.
"""

import argparse
import io
import os
import pickle
import sys
import types
import zipfile
from collections import OrderedDict

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from safetensors_io import SafetensorsError, save_file  # noqa: E402

STATE_KEYS = ("model_state_dict", "state_dict", "model")


class CheckpointError(Exception):
    pass


def _fallback_pickle_module(notes):
    """A copy of the pickle module whose Unpickler resolves classes it cannot import."""
    import torch.nn as nn

    try:
        import simulgen_reference as ref
        known = {name: getattr(ref, name) for name in
                 ("LatentConditionerImg", "ResidualBlock", "SqueezeExcitation")}
    except Exception:  # pragma: no cover - the reference should always import
        known = {}
    stubs = {}

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            try:
                return super().find_class(module, name)
            except (ImportError, AttributeError):
                pass
            if name in known:
                notes.append("%s.%s not importable: using tools/simulgen_reference.%s"
                             % (module, name, name))
                return known[name]
            key = (module, name)
            if key not in stubs:
                notes.append("%s.%s not importable: using an empty nn.Module stand-in"
                             % (module, name))
                stubs[key] = type(name, (nn.Module,), {"__module__": module})
            return stubs[key]

    mod = types.ModuleType("pickle_with_fallback")
    for attr in dir(pickle):
        if not attr.startswith("__"):
            setattr(mod, attr, getattr(pickle, attr))
    mod.Unpickler = Unpickler

    def load(f, **kw):
        return Unpickler(f, **kw).load()

    def loads(data, **kw):
        return Unpickler(io.BytesIO(data), **kw).load()

    mod.load = load
    mod.loads = loads
    return mod


def load_checkpoint(path, search_paths=()):
    """torch.load with CPU mapping; falls back to stand-in classes when a class is missing.
    Returns (object, notes)."""
    import torch

    if not os.path.exists(path):
        raise CheckpointError("%s: no such file" % path)
    if os.path.isdir(path):
        raise CheckpointError("%s: is a directory, expected a checkpoint file" % path)
    if os.path.getsize(path) == 0:
        raise CheckpointError("%s: file is empty" % path)
    for p in list(search_paths) + [os.getcwd(), os.path.dirname(os.path.abspath(path))]:
        if p and p not in sys.path:
            sys.path.append(p)
    notes = []
    try:
        return torch.load(path, map_location="cpu"), notes
    except (ImportError, AttributeError) as e:
        notes.append("plain torch.load failed (%s: %s); retrying with stand-in classes"
                     % (type(e).__name__, e))
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError,
            OSError, UnicodeDecodeError, KeyError) as e:
        detail = str(e).strip().splitlines()[0] if str(e).strip() else ""
        with open(path, "rb") as f:
            head = f.read(9)
        if len(head) == 9 and head[8:9] == b"{":
            raise CheckpointError("%s: this looks like a safetensors file already, not a PyTorch "
                                  "checkpoint" % path)
        raise CheckpointError(
            "%s: not a readable PyTorch checkpoint: it is truncated or corrupted, or was not "
            "written by torch.save (%s: %s)" % (path, type(e).__name__, detail))
    import torch.serialization as ser

    fallback = _fallback_pickle_module(notes)
    # Some torch builds (e.g. Debian's 1.13) ignore the pickle_module argument unless
    # weights_only is set, so the module torch.serialization uses is swapped for the call too.
    saved = ser.pickle
    ser.pickle = fallback
    try:
        return torch.load(path, map_location="cpu", pickle_module=fallback), notes
    except Exception as e:
        raise CheckpointError("%s: could not unpickle the checkpoint even with stand-in classes "
                              "(%s: %s). Make the model's class importable (--search-path)."
                              % (path, type(e).__name__, e))
    finally:
        ser.pickle = saved


def extract_state_dict(obj, path="checkpoint"):
    """(OrderedDict name -> tensor, parameter names or None, description)."""
    import torch
    import torch.nn as nn

    if isinstance(obj, nn.Module):
        params = [n for n, _ in obj.named_parameters()]
        return OrderedDict(obj.state_dict()), params, "pickled module %s" % type(obj).__name__
    if isinstance(obj, dict):
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return OrderedDict(obj), None, "state_dict"
        for key in STATE_KEYS:
            if key in obj:
                inner = obj[key]
                if isinstance(inner, nn.Module):
                    params = [n for n, _ in inner.named_parameters()]
                    return (OrderedDict(inner.state_dict()), params,
                            "checkpoint['%s'] (module %s)" % (key, type(inner).__name__))
                if isinstance(inner, dict) and inner and \
                        all(isinstance(v, torch.Tensor) for v in inner.values()):
                    return OrderedDict(inner), None, "checkpoint['%s'] (state_dict)" % key
        shown = ", ".join("%r: %s" % (k, type(v).__name__) for k, v in list(obj.items())[:12])
        raise CheckpointError(
            "%s: a dict, but neither a state_dict (all values tensors) nor a checkpoint with "
            "one of %s. Its entries: {%s%s}" % (path, "/".join(repr(k) for k in STATE_KEYS),
                                                 shown, ", ..." if len(obj) > 12 else ""))
    raise CheckpointError("%s: contains a %s, expected a state_dict, a checkpoint dict or an "
                          "nn.Module" % (path, type(obj).__name__))


def is_parameter_name(name, keys):
    """Heuristic for plain state_dicts: spectral-norm u/v and norm running stats are buffers."""
    for suffix in ("_u", "_v"):
        if name.endswith(suffix) and (name[: -len(suffix)] + "_orig") in keys:
            return False
    return not name.endswith(("running_mean", "running_var", "num_batches_tracked"))


def export(src, dst, search_paths=(), strip_prefix=None, quiet=False):
    import torch

    obj, notes = load_checkpoint(src, search_paths)
    sd, params, what = extract_state_dict(obj, src)
    if strip_prefix:
        sd = OrderedDict((k[len(strip_prefix):] if k.startswith(strip_prefix) else k, v)
                         for k, v in sd.items())
        if params is not None:
            params = [p[len(strip_prefix):] if p.startswith(strip_prefix) else p for p in params]
    out = OrderedDict()
    skipped = []
    for k, v in sd.items():
        if not isinstance(v, torch.Tensor):
            raise CheckpointError("%s: entry %r is a %s, not a tensor" % (src, k, type(v).__name__))
        if not (v.is_floating_point()):
            skipped.append("%s (%s)" % (k, v.dtype))
            continue
        out[k] = v.detach().to(torch.float32).contiguous()
    if not out:
        raise CheckpointError("%s: no floating-point tensors to export" % src)
    keys = set(out)
    pnames = [p for p in params if p in keys] if params is not None else \
        [k for k in out if is_parameter_name(k, keys)]
    n_param = sum(out[k].numel() for k in pnames)
    n_values = sum(t.numel() for t in out.values())
    meta = OrderedDict([
        ("format", "pt"),
        ("producer", "tools/export_torch_checkpoint.py"),
        ("source", os.path.basename(src)),
        ("source_kind", what),
        ("parameters", str(n_param)),
    ])
    try:
        save_file(out, dst, metadata=meta)
    except (OSError, SafetensorsError) as e:
        raise CheckpointError("%s: could not write (%s)" % (dst, e))
    if not quiet:
        for n in notes:
            print("note: %s" % n)
        for s in skipped:
            print("warning: skipped non-float tensor %s" % s, file=sys.stderr)
        if any(k.startswith("module.") for k in out) and not strip_prefix:
            print("note: keys start with 'module.' (DataParallel); use --strip-prefix module. "
                  "to drop it", file=sys.stderr)
        print("read %s: %s" % (src, what))
        print("wrote %s: %d tensors, %d values, %d parameters (%s)"
              % (dst, len(out), n_values, n_param,
                 "from the module's parameters()" if params is not None else
                 "excluding spectral-norm _u/_v buffers and running stats"))
    return out, n_param


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="export_torch_checkpoint.py",
        description=__doc__.split("\n\n", 1)[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", metavar="MODEL.pth", help="PyTorch checkpoint to read")
    ap.add_argument("dst", metavar="OUT.safetensors", help="safetensors file to write")
    ap.add_argument("--search-path", action="append", default=[], metavar="DIR",
                    help="directory added to sys.path before unpickling (e.g. the SimulGen-VAE "
                         "checkout, so modules.latent_conditioner_model_cnn imports); repeatable")
    ap.add_argument("--strip-prefix", metavar="PREFIX", default=None,
                    help="remove PREFIX (e.g. 'module.') from the start of tensor names")
    args = ap.parse_args(argv)
    try:
        export(args.src, args.dst, args.search_path, args.strip_prefix)
    except CheckpointError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
