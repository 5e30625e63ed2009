// 2-D pooling over planes of [planes, h, w] (planes = N * C). Forward kernels run one thread per
// output element; backward kernels are gathers with one thread per input element that loops over
// the output windows containing it (deterministic, no atomics). Window loops are bounded by the
// TS side (kh * kw <= 4096; larger windows are pooled separably along W, then H).

struct Params {
  n: u32,
  h: u32,
  w: u32,
  oh: u32,
  ow: u32,
  kh: u32,
  kw: u32,
  sh: u32,
  sw: u32,
  ph: u32,
  pw: u32,
  include_pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<storage, read_write> arg_out: array<i32>;
@group(0) @binding(4) var<storage, read> arg_in: array<i32>;
@group(0) @binding(5) var<storage, read> grad: array<f32>;

// Output rows [lo, hi] of a strided window (kernel k, stride s, padding p, n outputs) that
// contain input row i; empty when lo > hi.
fn covering(i: u32, k: u32, s: u32, p: u32, n: u32) -> vec2<i32> {
  let ip = i + p;
  var lo = 0u;
  if (ip >= k) {
    lo = (ip - k) / s + 1u;
  }
  let hi = min(i32(ip / s), i32(n) - 1);
  return vec2<i32>(i32(lo), hi);
}

// Max pooling with padding treated as -inf; argmax = iy * w + ix within the plane (torch's index).
@compute @workgroup_size(WG)
fn max_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = thread_index(wid, nwg, lid);
  if (t >= params.n) { return; }
  let plane = t / (params.oh * params.ow);
  let r = t % (params.oh * params.ow);
  let hs = i32((r / params.ow) * params.sh) - i32(params.ph);
  let ws = i32((r % params.ow) * params.sw) - i32(params.pw);
  let he = min(hs + i32(params.kh), i32(params.h));
  let we = min(ws + i32(params.kw), i32(params.w));
  let h0 = max(hs, 0);
  let w0 = max(ws, 0);
  let base = plane * params.h * params.w;
  // Start from the window's first element (padding never fills a whole window), as torch starts
  // from -inf and that index: WGSL has no infinite constants (Tint rejects bitcast<f32> of them).
  var arg = h0 * i32(params.w) + w0;
  var best = src[base + u32(arg)];
  for (var iy = h0; iy < he; iy++) {
    for (var ix = w0; ix < we; ix++) {
      let idx = iy * i32(params.w) + ix;
      let v = src[base + u32(idx)];
      // NaN wins like in torch (tested on the bits: compilers may fold v != v away).
      if (v > best || (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u) {
        best = v;
        arg = idx;
      }
    }
  }
  dst[t] = best;
  arg_out[t] = arg;
}

// dx[i] = sum of g over the windows whose argmax is i.
@compute @workgroup_size(WG)
fn max_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = thread_index(wid, nwg, lid);
  if (t >= params.n) { return; }
  let plane = t / (params.h * params.w);
  let r = t % (params.h * params.w);
  let iy = r / params.w;
  let ix = r % params.w;
  let ry = covering(iy, params.kh, params.sh, params.ph, params.oh);
  let rx = covering(ix, params.kw, params.sw, params.pw, params.ow);
  let obase = plane * params.oh * params.ow;
  let me = i32(r);
  var acc = 0.0;
  for (var oy = ry.x; oy <= ry.y; oy++) {
    for (var ox = rx.x; ox <= rx.y; ox++) {
      let o = obase + u32(oy) * params.ow + u32(ox);
      if (arg_in[o] == me) {
        acc += grad[o];
      }
    }
  }
  dst[t] = acc;
}

// Divisor of output window (oy, ox) of avg pooling, as torch computes it (ceil_mode false).
fn avg_divisor(oy: u32, ox: u32) -> f32 {
  let hs = i32(oy * params.sh) - i32(params.ph);
  let ws = i32(ox * params.sw) - i32(params.pw);
  let he = min(hs + i32(params.kh), i32(params.h + params.ph));
  let we = min(ws + i32(params.kw), i32(params.w + params.pw));
  if (params.include_pad != 0u) {
    return f32((he - hs) * (we - ws));
  }
  let cnt = (min(he, i32(params.h)) - max(hs, 0)) * (min(we, i32(params.w)) - max(ws, 0));
  return f32(max(cnt, 1));
}

@compute @workgroup_size(WG)
fn avg_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = thread_index(wid, nwg, lid);
  if (t >= params.n) { return; }
  let plane = t / (params.oh * params.ow);
  let r = t % (params.oh * params.ow);
  let oy = r / params.ow;
  let ox = r % params.ow;
  let hs = i32(oy * params.sh) - i32(params.ph);
  let ws = i32(ox * params.sw) - i32(params.pw);
  let he = min(hs + i32(params.kh), i32(params.h));
  let we = min(ws + i32(params.kw), i32(params.w));
  let base = plane * params.h * params.w;
  var acc = 0.0;
  for (var iy = max(hs, 0); iy < he; iy++) {
    for (var ix = max(ws, 0); ix < we; ix++) {
      acc += src[base + u32(iy) * params.w + u32(ix)];
    }
  }
  dst[t] = acc / avg_divisor(oy, ox);
}

@compute @workgroup_size(WG)
fn avg_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = thread_index(wid, nwg, lid);
  if (t >= params.n) { return; }
  let plane = t / (params.h * params.w);
  let r = t % (params.h * params.w);
  let ry = covering(r / params.w, params.kh, params.sh, params.ph, params.oh);
  let rx = covering(r % params.w, params.kw, params.sw, params.pw, params.ow);
  let obase = plane * params.oh * params.ow;
  var acc = 0.0;
  for (var oy = ry.x; oy <= ry.y; oy++) {
    for (var ox = rx.x; ox <= rx.y; ox++) {
      let o = obase + u32(oy) * params.ow + u32(ox);
      acc += grad[o] / avg_divisor(u32(oy), u32(ox));
    }
  }
  dst[t] = acc;
}

// Adaptive windows: start = floor(i * in / out), end = ceil((i + 1) * in / out).
fn adaptive_start(i: u32, n_in: u32, n_out: u32) -> u32 {
  return (i * n_in) / n_out;
}

fn adaptive_end(i: u32, n_in: u32, n_out: u32) -> u32 {
  return ((i + 1u) * n_in + n_out - 1u) / n_out;
}

@compute @workgroup_size(WG)
fn adaptive_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = thread_index(wid, nwg, lid);
  if (t >= params.n) { return; }
  let plane = t / (params.oh * params.ow);
  let r = t % (params.oh * params.ow);
  let oy = r / params.ow;
  let ox = r % params.ow;
  let hs = adaptive_start(oy, params.h, params.oh);
  let he = adaptive_end(oy, params.h, params.oh);
  let ws = adaptive_start(ox, params.w, params.ow);
  let we = adaptive_end(ox, params.w, params.ow);
  let base = plane * params.h * params.w;
  var acc = 0.0;
  for (var iy = hs; iy < he; iy++) {
    for (var ix = ws; ix < we; ix++) {
      acc += src[base + iy * params.w + ix];
    }
  }
  dst[t] = acc / f32((he - hs) * (we - ws));
}

@compute @workgroup_size(WG)
fn adaptive_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = thread_index(wid, nwg, lid);
  if (t >= params.n) { return; }
  let plane = t / (params.h * params.w);
  let r = t % (params.h * params.w);
  let iy = r / params.w;
  let ix = r % params.w;
  // Windows containing iy: oy in [floor(iy * oh / h), ceil((iy + 1) * oh / h) - 1].
  let oy0 = (iy * params.oh) / params.h;
  let oy1 = min(((iy + 1u) * params.oh + params.h - 1u) / params.h, params.oh);
  let ox0 = (ix * params.ow) / params.w;
  let ox1 = min(((ix + 1u) * params.ow + params.w - 1u) / params.w, params.ow);
  let obase = plane * params.oh * params.ow;
  var acc = 0.0;
  for (var oy = oy0; oy < oy1; oy++) {
    let hs = adaptive_start(oy, params.h, params.oh);
    let he = adaptive_end(oy, params.h, params.oh);
    for (var ox = ox0; ox < ox1; ox++) {
      let ws = adaptive_start(ox, params.w, params.ow);
      let we = adaptive_end(ox, params.w, params.ow);
      if (iy >= hs && iy < he && ix >= ws && ix < we) {
        acc += grad[obase + oy * params.ow + ox] / f32((he - hs) * (we - ws));
      }
    }
  }
  dst[t] = acc;
}
