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
// Statistics: stats[3k..3k+2] = (mean, rstd, biased var) of group k.

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

var<workgroup> red: array<vec2<f32>, NT>;
var<workgroup> red_out: vec2<f32>;

// Position of one thread in its group's flat range: flat index t = o * inner + i.
struct Cursor {
  t: u32,
  end: u32,
  o: u32,
  i: u32,
  step_o: u32,
  step_i: u32,
}

fn cursor_start(p: u32, lid: u32) -> Cursor {
  let begin = p * params.part_len;
  let t = begin + lid;
  var c: Cursor;
  c.t = t;
  c.end = min(begin + params.part_len, params.m);
  c.o = t / params.inner;
  c.i = t % params.inner;
  c.step_o = NT / params.inner;
  c.step_i = NT % params.inner;
  return c;
}

fn cursor_next(c: ptr<function, Cursor>) {
  (*c).t += NT;
  (*c).i += (*c).step_i;
  (*c).o += (*c).step_o;
  if ((*c).i >= params.inner) {
    (*c).i -= params.inner;
    (*c).o += 1u;
  }
}

fn elem(k: u32, c: Cursor) -> u32 {
  return k * params.base_stride + c.o * params.outer_stride + c.i;
}

fn aff(k: u32, c: Cursor) -> u32 {
  return (k % params.aff_mod) * params.aff_k + c.o * params.aff_o + c.i * params.aff_i;
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

// y = (x - mean) * rstd * w + b over one part of group k.
fn apply_part(k: u32, p: u32, lid: u32, mean: f32, rstd: f32) {
  var c = cursor_start(p, lid);
  for (; c.t < c.end; cursor_next(&c)) {
    let a = aff(k, c);
    let e = elem(k, c);
    dst[e] = (src[e] - mean) * rstd * weight_at(a) + bias_at(a);
  }
}

// Forward with statistics, one workgroup per group (parts == 1): mean, then biased variance
// (two passes), then the output. Writes stats_out.
@compute @workgroup_size(NT)
fn fwd_fused(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let k = workgroup_linear(wid, nwg);
  if (k >= params.groups) { return; }
  let lid = lid3.x;
  var s = 0.0;
  var c = cursor_start(0u, lid);
  for (; c.t < c.end; cursor_next(&c)) {
    s += src[elem(k, c)];
  }
  let mean = reduce2(lid, vec2<f32>(s, 0.0)).x * params.inv_m;
  var q = 0.0;
  c = cursor_start(0u, lid);
  for (; c.t < c.end; cursor_next(&c)) {
    let d = src[elem(k, c)] - mean;
    q += d * d;
  }
  let variance = reduce2(lid, vec2<f32>(q, 0.0)).x * params.inv_m;
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
  var c = cursor_start(p, lid);
  if (MODE == 0u) {
    for (; c.t < c.end; cursor_next(&c)) {
      acc.x += src[elem(k, c)];
    }
  } else if (MODE == 1u) {
    let mean = stats[3u * k];
    for (; c.t < c.end; cursor_next(&c)) {
      let d = src[elem(k, c)] - mean;
      acc.x += d * d;
    }
  } else if (MODE == 2u) {
    let mean = stats[3u * k];
    let rstd = stats[3u * k + 1u];
    for (; c.t < c.end; cursor_next(&c)) {
      let e = elem(k, c);
      let xhat = (src[e] - mean) * rstd;
      let dxh = grad[e] * weight_at(aff(k, c));
      acc += vec2<f32>(dxh, dxh * xhat);
    }
  } else {
    let sk = (k / params.stat_div) * params.stat_k;
    for (; c.t < c.end; cursor_next(&c)) {
      let e = elem(k, c);
      let s = sk + c.o * params.stat_o + c.i * params.stat_i;
      let xhat = (src[e] - stats[3u * s]) * stats[3u * s + 1u];
      let gv = grad[e];
      acc += vec2<f32>(gv * xhat, gv);
    }
  }
  let total = reduce2(lid, acc);
  if (lid == 0u) {
    let o = 2u * id;
    part[o] = total.x;
    part[o + 1u] = total.y;
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

// dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) over one part of group k.
fn bwd_part(k: u32, p: u32, lid: u32, m1: f32, m2: f32) {
  let mean = stats[3u * k];
  let rstd = stats[3u * k + 1u];
  var c = cursor_start(p, lid);
  for (; c.t < c.end; cursor_next(&c)) {
    let e = elem(k, c);
    let xhat = (src[e] - mean) * rstd;
    let dxh = grad[e] * weight_at(aff(k, c));
    dst[e] = rstd * (dxh - m1 - xhat * m2);
  }
}

// Input gradient, one workgroup per group (parts == 1): both sums, then dx.
@compute @workgroup_size(NT)
fn bwd_fused(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let k = workgroup_linear(wid, nwg);
  if (k >= params.groups) { return; }
  let lid = lid3.x;
  let mean = stats[3u * k];
  let rstd = stats[3u * k + 1u];
  var acc = vec2<f32>(0.0);
  var c = cursor_start(0u, lid);
  for (; c.t < c.end; cursor_next(&c)) {
    let e = elem(k, c);
    let xhat = (src[e] - mean) * rstd;
    let dxh = grad[e] * weight_at(aff(k, c));
    acc += vec2<f32>(dxh, dxh * xhat);
  }
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
