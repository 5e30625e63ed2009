// Normalisation kernels (group norm, batch norm, layer norm) over one generic layout.
//
// A "group" k (0 <= k < params.groups) is the set of elements
//     k * base_stride + o * outer_stride + i,   o < outer, i < inner   (m = outer * inner of them),
// enumerated in the flat order t = o * inner + i. Group norm: k = (n, group), outer = channels of
// the group, inner = spatial size. Batch norm: k = channel, outer = batch, inner = spatial size.
// Layer norm: k = row, outer = 1, inner = row length. The affine parameter of element (k, o, i)
// is weight[(k % aff_mod) * aff_k + o * aff_o + i * aff_i].
//
// One workgroup of NT threads handles part p of group k: the flat range
// [p * part_len, min((p + 1) * part_len, m)), each thread taking every NT-th element. With
// parts == 1 the fused kernels compute the statistics and the output in one dispatch; larger
// groups are split into parts whose partial sums are combined in a fixed order (deterministic)
// by the finalize kernels, keeping every loop well under llvmpipe's 65535-iteration budget.
//
// VEC (1 or 4): when inner, outer_stride and base_stride are multiples of 4, the TS side passes
// them (and m, part_len) in units of VEC elements and each cursor step handles VEC consecutive
// elements, which share o (aff_i / stat_i stay per element). This amortises the index updates and
// divides the loop trip counts by VEC.
//
// Statistics: stats[3k..3k+2] = (mean, rstd, biased var) of group k.
//
// ACT (0: none, 1: SiLU) is an activation fused after the affine transform: the forward writes
// act(z) with z = x * (rstd w) + (b - mean rstd w), and the backward kernels recompute z from x
// and the statistics (cheaper than storing it) and use grad * act'(z) as the output gradient.
// In the affine-gradient layouts the affine index of group k is k itself (TS side: aff_mod =
// groups, aff_k = 1), so the sums there can recompute z too.

struct Params {
  groups: u32,
  parts: u32,
  part_len: u32,
  m: u32,
  outer: u32,
  inner: u32,
  outer_stride: u32,
  base_stride: u32,
  aff_mod: u32,
  aff_k: u32,
  aff_o: u32,
  aff_i: u32,
  stat_div: u32,
  stat_k: u32,
  stat_o: u32,
  stat_i: u32,
  eps: f32,
  inv_m: f32,
  scale: f32,
  momentum: f32,
  unbias: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read> bias_in: array<f32>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<storage, read_write> stats_out: array<f32>;
@group(0) @binding(7) var<storage, read_write> part: array<f32>;
@group(0) @binding(8) var<storage, read> part_in: array<f32>;
@group(0) @binding(9) var<storage, read_write> dst: array<f32>;
@group(0) @binding(10) var<storage, read> bstats: array<f32>;
@group(0) @binding(11) var<storage, read_write> run_mean: array<f32>;
@group(0) @binding(12) var<storage, read_write> run_var: array<f32>;
@group(0) @binding(13) var<storage, read> src4: array<vec4<f32>>;
@group(0) @binding(14) var<storage, read> grad4: array<vec4<f32>>;
@group(0) @binding(15) var<storage, read_write> dst4: array<vec4<f32>>;

var<workgroup> red: array<vec2<f32>, NT>;
var<workgroup> red_out: vec2<f32>;

// Position of one thread in the flat range of group k: flat index t = o * inner + i (in units
// of VEC elements), and the element, affine and statistics indices of (k, o, i), all advanced
// incrementally (no integer division per element: it is slow on llvmpipe).
struct Cursor {
  t: u32,
  end: u32,
  i: u32,
  e: u32,
  a: u32,
  s: u32,
  // Increments per step of NT, and the extra increments when i wraps past inner (u32 wrapping).
  step_i: u32,
  de: u32,
  da: u32,
  ds: u32,
  we: u32,
  wa: u32,
  ws: u32,
}

fn cursor_start(k: u32, p: u32, lid: u32) -> Cursor {
  let begin = p * params.part_len;
  let t = begin + lid;
  let o = t / params.inner;
  let step_o = NT / params.inner;
  let aff_iv = VEC * params.aff_i;
  let stat_iv = VEC * params.stat_i;
  var c: Cursor;
  c.t = t;
  c.end = min(begin + params.part_len, params.m);
  c.i = t % params.inner;
  c.e = k * params.base_stride + o * params.outer_stride + c.i;
  c.a = (k % params.aff_mod) * params.aff_k + o * params.aff_o + c.i * aff_iv;
  c.s = (k / params.stat_div) * params.stat_k + o * params.stat_o + c.i * stat_iv;
  c.step_i = NT % params.inner;
  c.de = step_o * params.outer_stride + c.step_i;
  c.da = step_o * params.aff_o + c.step_i * aff_iv;
  c.ds = step_o * params.stat_o + c.step_i * stat_iv;
  c.we = params.outer_stride - params.inner;
  c.wa = params.aff_o - params.inner * aff_iv;
  c.ws = params.stat_o - params.inner * stat_iv;
  return c;
}

fn cursor_next(c: ptr<function, Cursor>) {
  (*c).t += NT;
  (*c).i += (*c).step_i;
  (*c).e += (*c).de;
  (*c).a += (*c).da;
  (*c).s += (*c).ds;
  if ((*c).i >= params.inner) {
    (*c).i -= params.inner;
    (*c).e += (*c).we;
    (*c).a += (*c).wa;
    (*c).s += (*c).ws;
  }
}

fn weight_at(a: u32) -> f32 {
  if (HAS_W) {
    return weight[a];
  }
  return 1.0;
}

fn bias_at(a: u32) -> f32 {
  if (HAS_B) {
    return bias_in[a];
  }
  return 0.0;
}

// The fused activation (the same SiLU formula as shaders/elementwise.wgsl).
fn act(z: f32) -> f32 {
  if (ACT == 1u) {
    return z * (1.0 / (1.0 + exp(-z)));
  }
  return z;
}

fn act4(z: vec4<f32>) -> vec4<f32> {
  if (ACT == 1u) {
    return z * (1.0 / (1.0 + exp(-z)));
  }
  return z;
}

// g * act'(z): the gradient at the pre-activation z of an output gradient g.
fn act_grad(g: f32, z: f32) -> f32 {
  if (ACT == 1u) {
    let s = 1.0 / (1.0 + exp(-z));
    return g * (s * (1.0 + z * (1.0 - s)));
  }
  return g;
}

fn act_grad4(g: vec4<f32>, z: vec4<f32>) -> vec4<f32> {
  if (ACT == 1u) {
    let s = 1.0 / (1.0 + exp(-z));
    return g * (s * (1.0 + z * (1.0 - s)));
  }
  return g;
}

// Workgroup sum of one vec2 per thread, in a fixed order (thread 0 adds them up).
fn reduce2(lid: u32, v: vec2<f32>) -> vec2<f32> {
  red[lid] = v;
  workgroupBarrier();
  if (lid == 0u) {
    var s0 = vec2<f32>(0.0);
    var s1 = vec2<f32>(0.0);
    var s2 = vec2<f32>(0.0);
    var s3 = vec2<f32>(0.0);
    for (var j = 0u; j < NT; j += 4u) {
      s0 += red[j];
      s1 += red[j + 1u];
      s2 += red[j + 2u];
      s3 += red[j + 3u];
    }
    red_out = (s0 + s1) + (s2 + s3);
  }
  workgroupBarrier();
  return red_out;
}

fn workgroup_linear(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.y * nwg.x + wid.x;
}

// Per-thread loops over one part of group k. Each cursor step covers VEC consecutive elements
// (a constant-bound loop, unrolled: it does not count against llvmpipe's loop budget).

fn sum_x(k: u32, p: u32, lid: u32) -> f32 {
  // One accumulator per lane j: independent add chains (faster, and slightly better rounding).
  var acc = vec4<f32>(0.0);
  var c = cursor_start(k, p, lid);
  for (; c.t < c.end; cursor_next(&c)) {
    let e = c.e * VEC;
    for (var j = 0u; j < VEC; j++) {
      acc[j] += src[e + j];
    }
  }
  return (acc.x + acc.y) + (acc.z + acc.w);
}

fn sum_sq(k: u32, p: u32, lid: u32, mean: f32) -> f32 {
  var acc = vec4<f32>(0.0);
  var c = cursor_start(k, p, lid);
  for (; c.t < c.end; cursor_next(&c)) {
    let e = c.e * VEC;
    for (var j = 0u; j < VEC; j++) {
      let d = src[e + j] - mean;
      acc[j] += d * d;
    }
  }
  return (acc.x + acc.y) + (acc.z + acc.w);
}

// Affine weight of lane j of a cursor step whose lane 0 has affine index a (aff_i is 0 for
// per-channel weights: one load per step).
fn lane_weight(a: u32, w0: f32, j: u32) -> f32 {
  if (params.aff_i == 0u) {
    return w0;
  }
  return weight_at(a + j * params.aff_i);
}

// The output gradient of lane j of a cursor step at affine index a (lane 0), through the fused
// activation: grad * act'(z) with z recomputed from x as in apply_part.
fn lane_grad(a: u32, j: u32, xv: f32, mean: f32, rstd: f32, g: f32) -> f32 {
  if (ACT == 0u) {
    return g;
  }
  let aj = a + j * params.aff_i;
  let sc = rstd * weight_at(aj);
  return act_grad(g, xv * sc + (bias_at(aj) - mean * sc));
}

// (sum dxhat, sum dxhat * xhat) with dxhat = grad * w (grad through the activation).
fn sum_bwd(k: u32, p: u32, lid: u32, mean: f32, rstd: f32) -> vec2<f32> {
  var s1 = vec4<f32>(0.0);
  var s2 = vec4<f32>(0.0);
  var c = cursor_start(k, p, lid);
  for (; c.t < c.end; cursor_next(&c)) {
    let e = c.e * VEC;
    let w0 = weight_at(c.a);
    for (var j = 0u; j < VEC; j++) {
      let xv = src[e + j];
      let xhat = (xv - mean) * rstd;
      let dxh = lane_grad(c.a, j, xv, mean, rstd, grad[e + j]) * lane_weight(c.a, w0, j);
      s1[j] += dxh;
      s2[j] += dxh * xhat;
    }
  }
  return vec2<f32>((s1.x + s1.y) + (s1.z + s1.w), (s2.x + s2.y) + (s2.z + s2.w));
}

// (sum grad * xhat, sum grad), each element normalised with its own group's statistics (grad
// through the activation; group k's affine index is k, so c.a = k and aff_i = 0).
fn sum_affine(k: u32, p: u32, lid: u32) -> vec2<f32> {
  var s1 = vec4<f32>(0.0);
  var s2 = vec4<f32>(0.0);
  var c = cursor_start(k, p, lid);
  for (; c.t < c.end; cursor_next(&c)) {
    let e = c.e * VEC;
    var mean = stats[3u * c.s];
    var rstd = stats[3u * c.s + 1u];
    for (var j = 0u; j < VEC; j++) {
      if (params.stat_i != 0u && j > 0u) {
        let st = 3u * (c.s + j * params.stat_i);
        mean = stats[st];
        rstd = stats[st + 1u];
      }
      let xv = src[e + j];
      let gv = lane_grad(c.a, j, xv, mean, rstd, grad[e + j]);
      s1[j] += gv * ((xv - mean) * rstd);
      s2[j] += gv;
    }
  }
  return vec2<f32>((s1.x + s1.y) + (s1.z + s1.w), (s2.x + s2.y) + (s2.z + s2.w));
}

// y = act((x - mean) * rstd * w + b).
fn apply_part(k: u32, p: u32, lid: u32, mean: f32, rstd: f32) {
  var c = cursor_start(k, p, lid);
  for (; c.t < c.end; cursor_next(&c)) {
    let e = c.e * VEC;
    let sc0 = rstd * weight_at(c.a);
    let sh0 = bias_at(c.a) - mean * sc0;
    for (var j = 0u; j < VEC; j++) {
      var sc = sc0;
      var sh = sh0;
      if (params.aff_i != 0u && j > 0u) {
        let a = c.a + j * params.aff_i;
        sc = rstd * weight_at(a);
        sh = bias_at(a) - mean * sc;
      }
      dst[e + j] = act(src[e + j] * sc + sh);
    }
  }
}

// dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)).
fn bwd_part(k: u32, p: u32, lid: u32, m1: f32, m2: f32) {
  let mean = stats[3u * k];
  let rstd = stats[3u * k + 1u];
  var c = cursor_start(k, p, lid);
  for (; c.t < c.end; cursor_next(&c)) {
    let e = c.e * VEC;
    let w0 = weight_at(c.a);
    for (var j = 0u; j < VEC; j++) {
      let xv = src[e + j];
      let xhat = (xv - mean) * rstd;
      let dxh = lane_grad(c.a, j, xv, mean, rstd, grad[e + j]) * lane_weight(c.a, w0, j);
      dst[e + j] = rstd * (dxh - m1 - xhat * m2);
    }
  }
}

// Forward with statistics, one workgroup per group (parts == 1): mean, then biased variance
// (two passes), then the output. Writes stats_out.
@compute @workgroup_size(NT)
fn fwd_fused(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let k = workgroup_linear(wid, nwg);
  if (k >= params.groups) { return; }
  let lid = lid3.x;
  let mean = reduce2(lid, vec2<f32>(sum_x(k, 0u, lid), 0.0)).x * params.inv_m;
  let variance = reduce2(lid, vec2<f32>(sum_sq(k, 0u, lid, mean), 0.0)).x * params.inv_m;
  let rstd = 1.0 / sqrt(variance + params.eps);
  if (lid == 0u) {
    stats_out[3u * k] = mean;
    stats_out[3u * k + 1u] = rstd;
    stats_out[3u * k + 2u] = variance;
  }
  apply_part(k, 0u, lid, mean, rstd);
}

// Output from precomputed statistics, one workgroup per (group, part).
@compute @workgroup_size(NT)
fn apply(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let id = workgroup_linear(wid, nwg);
  if (id >= params.groups * params.parts) { return; }
  let k = id / params.parts;
  let p = id % params.parts;
  apply_part(k, p, lid3.x, stats[3u * k], stats[3u * k + 1u]);
}

// Partial sums of one (group, part) into part[2 * (k * parts + p) + {0, 1}]:
//   MODE 0: sum x            MODE 1: sum (x - mean)^2
//   MODE 2: sum dxhat, sum dxhat * xhat   (dxhat = grad * w; backward of the normalisation)
//   MODE 3: sum grad * xhat, sum grad     (weight / bias gradients; groups are affine indices and
//           the statistics of element (k, o, i) are those of group
//           (k / stat_div) * stat_k + o * stat_o + i * stat_i)
@compute @workgroup_size(NT)
fn reduce_part(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let id = workgroup_linear(wid, nwg);
  if (id >= params.groups * params.parts) { return; }
  let k = id / params.parts;
  let p = id % params.parts;
  let lid = lid3.x;
  var acc = vec2<f32>(0.0);
  if (MODE == 0u) {
    acc.x = sum_x(k, p, lid);
  } else if (MODE == 1u) {
    acc.x = sum_sq(k, p, lid, stats[3u * k]);
  } else if (MODE == 2u) {
    acc = sum_bwd(k, p, lid, stats[3u * k], stats[3u * k + 1u]);
  } else {
    acc = sum_affine(k, p, lid);
  }
  let total = reduce2(lid, acc);
  if (lid == 0u) {
    part[2u * id] = total.x;
    part[2u * id + 1u] = total.y;
  }
}

// Combines the parts of each group: MODE 0 writes the mean, MODE 1 the variance and rstd.
@compute @workgroup_size(WG)
fn finalize_stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let k = thread_index(wid, nwg, lid);
  if (k >= params.groups) { return; }
  var s = 0.0;
  for (var p = 0u; p < params.parts; p++) {
    s += part_in[2u * (k * params.parts + p)];
  }
  let v = s * params.inv_m;
  if (MODE == 0u) {
    stats_out[3u * k] = v;
  } else {
    stats_out[3u * k + 1u] = 1.0 / sqrt(v + params.eps);
    stats_out[3u * k + 2u] = v;
  }
}

// Combines the parts of each group: dst[2k + j] = scale * sum_p part[2 (k parts + p) + j].
@compute @workgroup_size(WG)
fn finalize_sum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let k = thread_index(wid, nwg, lid);
  if (k >= params.groups) { return; }
  var s = vec2<f32>(0.0);
  for (var p = 0u; p < params.parts; p++) {
    let o = 2u * (k * params.parts + p);
    s += vec2<f32>(part_in[o], part_in[o + 1u]);
  }
  dst[2u * k] = s.x * params.scale;
  dst[2u * k + 1u] = s.y * params.scale;
}

// Input gradient, one workgroup per group (parts == 1): both sums, then dx.
@compute @workgroup_size(NT)
fn bwd_fused(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let k = workgroup_linear(wid, nwg);
  if (k >= params.groups) { return; }
  let lid = lid3.x;
  let acc = sum_bwd(k, 0u, lid, stats[3u * k], stats[3u * k + 1u]);
  let m = reduce2(lid, acc) * params.inv_m;
  bwd_part(k, 0u, lid, m.x, m.y);
}

// Input gradient from precomputed means bstats[2k] = mean(dxhat), bstats[2k + 1] = mean(dxhat xhat).
@compute @workgroup_size(NT)
fn bwd_apply(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let id = workgroup_linear(wid, nwg);
  if (id >= params.groups * params.parts) { return; }
  let k = id / params.parts;
  let p = id % params.parts;
  bwd_part(k, p, lid3.x, bstats[2u * k], bstats[2u * k + 1u]);
}

// Batch norm running statistics, in place:
// running = (1 - momentum) * running + momentum * batch (variance unbiased by `unbias`).
@compute @workgroup_size(WG)
fn running_update(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let k = thread_index(wid, nwg, lid);
  if (k >= params.groups) { return; }
  let mom = params.momentum;
  run_mean[k] = (1.0 - mom) * run_mean[k] + mom * stats[3u * k];
  run_var[k] = (1.0 - mom) * run_var[k] + mom * stats[3u * k + 2u] * params.unbias;
}

// dst[k] = 1 / sqrt(stats[k] + eps) (batch norm in eval mode, from the running variance).
@compute @workgroup_size(WG)
fn inv_std(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let k = thread_index(wid, nwg, lid);
  if (k >= params.groups) { return; }
  dst[k] = 1.0 / sqrt(stats[k] + params.eps);
}

// Contiguous groups (group norm; batch norm with N = 1): group k is the flat range
// [k m, (k + 1) m), enumerated as outer channels of `inner` elements each. The TS side passes
// inner and base_stride (= m) in units of vec4 (inner % 4 == 0, so a vec4 never straddles two
// channels). One thread per group, no shared memory or barriers (both are slow on llvmpipe),
// GT groups per workgroup. Long sums are two-level (chunks of GC vec4s). Per-thread loop trips:
// about 3 m / 4 + 2 m / (4 GC) + outer (forward), 2 m / 4 + m / (4 GC) + 2 outer (backward).

fn gn_thread(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return workgroup_linear(wid, nwg) * GT + lid.x;
}

// Affine index of channel o of group k.
fn gn_channel(k: u32, o: u32) -> u32 {
  return (k % params.aff_mod) * params.aff_k + o * params.aff_o;
}

@compute @workgroup_size(GT)
fn gn_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let k = gn_thread(wid, nwg, lid);
  if (k >= params.groups) { return; }
  let begin = k * params.base_stride;
  let end = begin + params.base_stride;
  // Two-level sums (chunks of GC vec4s) keep the rounding error of long serial sums small.
  var acc = vec4<f32>(0.0);
  for (var c0 = begin; c0 < end; c0 += GC) {
    let ce = min(c0 + GC, end);
    var pa = vec4<f32>(0.0);
    for (var j = c0; j < ce; j++) {
      pa += src4[j];
    }
    acc += pa;
  }
  let mean = ((acc.x + acc.y) + (acc.z + acc.w)) * params.inv_m;
  var sq = vec4<f32>(0.0);
  for (var c0 = begin; c0 < end; c0 += GC) {
    let ce = min(c0 + GC, end);
    var pa = vec4<f32>(0.0);
    for (var j = c0; j < ce; j++) {
      let d = src4[j] - mean;
      pa += d * d;
    }
    sq += pa;
  }
  let variance = ((sq.x + sq.y) + (sq.z + sq.w)) * params.inv_m;
  let rstd = 1.0 / sqrt(variance + params.eps);
  stats_out[3u * k] = mean;
  stats_out[3u * k + 1u] = rstd;
  stats_out[3u * k + 2u] = variance;
  var j = begin;
  for (var o = 0u; o < params.outer; o++) {
    let ch = gn_channel(k, o);
    let sc = rstd * weight_at(ch);
    let sh = bias_at(ch) - mean * sc;
    let ce = j + params.inner;
    for (; j < ce; j++) {
      dst4[j] = act4(src4[j] * sc + sh);
    }
  }
}

// Input gradient of a contiguous group; with AFFINE also the weight / bias gradient partials of
// its channels, from the same first pass (the per-channel sums of gz * xhat and gz are what the
// input gradient's sums are made of): part[2 (ch * N + n) + {0, 1}] for channel ch of sample n
// (N = groups / aff_mod samples), which finalize_sum adds up over n as after gn_affine. Without
// AFFINE, `part` is bound to a placeholder and never written.
@compute @workgroup_size(GT)
fn gn_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let k = gn_thread(wid, nwg, lid);
  if (k >= params.groups) { return; }
  let mean = stats[3u * k];
  let rstd = stats[3u * k + 1u];
  let begin = k * params.base_stride;
  let n = k / params.aff_mod;
  let samples = params.groups / params.aff_mod;
  var s1 = 0.0;
  var s2 = 0.0;
  var j = begin;
  for (var o = 0u; o < params.outer; o++) {
    let ch = gn_channel(k, o);
    let wv = weight_at(ch);
    let sc = rstd * wv;
    let sh = bias_at(ch) - mean * sc;
    let ce = j + params.inner;
    // Per channel: sums of gz (q1) and gz * xhat (q2), gz the gradient at the pre-activation.
    var q1 = vec4<f32>(0.0);
    var q2 = vec4<f32>(0.0);
    while (j < ce) {
      let pe = min(j + GC, ce);
      var p1 = vec4<f32>(0.0);
      var p2 = vec4<f32>(0.0);
      for (; j < pe; j++) {
        let xv = src4[j];
        let gz = act_grad4(grad4[j], xv * sc + sh);
        p1 += gz;
        p2 += gz * ((xv - mean) * rstd);
      }
      q1 += p1;
      q2 += p2;
    }
    let c1 = (q1.x + q1.y) + (q1.z + q1.w);
    let c2 = (q2.x + q2.y) + (q2.z + q2.w);
    s1 += wv * c1;
    s2 += wv * c2;
    if (AFFINE) {
      let at = 2u * (ch * samples + n);
      part[at] = c2;
      part[at + 1u] = c1;
    }
  }
  let m1 = s1 * params.inv_m;
  let m2 = s2 * params.inv_m;
  j = begin;
  for (var o = 0u; o < params.outer; o++) {
    let ch = gn_channel(k, o);
    let wv = weight_at(ch);
    let sc = rstd * wv;
    let sh = bias_at(ch) - mean * sc;
    let ce = j + params.inner;
    for (; j < ce; j++) {
      let xv = src4[j];
      let xhat = (xv - mean) * rstd;
      dst4[j] = rstd * (act_grad4(grad4[j], xv * sc + sh) * wv - m1 - xhat * m2);
    }
  }
}

// Weight / bias gradients (MODE 3 sums) when the inner elements are contiguous and a multiple of
// 4 (inner, base_stride and outer_stride in vec4 units): thread (k, o) sums grad * xhat and grad
// over the inner elements of outer index o of affine index k into part[2 (k outer + o) + {0, 1}];
// finalize_sum then adds the outer partials in a fixed order. Per-thread loop trips: inner / 4.
@compute @workgroup_size(GT)
fn gn_affine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let id = gn_thread(wid, nwg, lid);
  if (id >= params.groups * params.outer) { return; }
  let k = id / params.outer;
  let o = id % params.outer;
  let st = 3u * ((k / params.stat_div) * params.stat_k + o * params.stat_o);
  let mean = stats[st];
  let rstd = stats[st + 1u];
  // Affine index k (the activation's pre-activation needs its weight and bias).
  let sc = rstd * weight_at(k);
  let sh = bias_at(k) - mean * sc;
  let begin = k * params.base_stride + o * params.outer_stride;
  let end = begin + params.inner;
  var s1 = vec4<f32>(0.0);
  var s2 = vec4<f32>(0.0);
  for (var c0 = begin; c0 < end; c0 += GC) {
    let ce = min(c0 + GC, end);
    var p1 = vec4<f32>(0.0);
    var p2 = vec4<f32>(0.0);
    for (var j = c0; j < ce; j++) {
      let xv = src4[j];
      let gv = act_grad4(grad4[j], xv * sc + sh);
      p1 += gv * ((xv - mean) * rstd);
      p2 += gv;
    }
    s1 += p1;
    s2 += p2;
  }
  part[2u * id] = (s1.x + s1.y) + (s1.z + s1.w);
  part[2u * id + 1u] = (s2.x + s2.y) + (s2.z + s2.w);
}
