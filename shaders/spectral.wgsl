// Spectral normalisation of a weight viewed as a matrix W [h, w] (PyTorch semantics, dim 0).
// One workgroup does the whole power iteration: the vectors are short (h, w <= a few thousand)
// and every step needs the previous one's full result, so the sync points are workgroup barriers.

struct Params {
  h: u32,
  w: u32,
  eps: f32,
  // 1: do one power iteration first (training), 0: use u and v as stored (eval)
  iterate: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
// The layer's buffers, updated in place when iterating.
@group(0) @binding(2) var<storage, read_write> u_buf: array<f32>;
@group(0) @binding(3) var<storage, read_write> v_buf: array<f32>;
// The u, v and sigma this forward used (saved for backward): [h + w + 1] = u, v, sigma.
@group(0) @binding(4) var<storage, read_write> used: array<f32>;
@group(0) @binding(5) var<storage, read> grad: array<f32>;
@group(0) @binding(6) var<storage, read_write> dst: array<f32>;
@group(0) @binding(7) var<storage, read> saved: array<f32>;
@group(0) @binding(8) var<storage, read> gw_dot: array<f32>;

const NT: u32 = 256u;
var<workgroup> partial: array<f32, NT>;

fn workgroup_sum(value: f32, lid: u32) -> f32 {
  partial[lid] = value;
  workgroupBarrier();
  for (var stride = NT / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

// used[h..h+w) = v, used[0..h) = u, used[h+w] = sigma = u . (W v).
@compute @workgroup_size(NT)
fn power_iteration(@builtin(local_invocation_id) lid3: vec3<u32>) {
  let lid = lid3.x;
  let h = params.h;
  let w = params.w;
  if (params.iterate == 1u) {
    // v = normalize(W^T u)
    var sq = 0.0;
    for (var j = lid; j < w; j += NT) {
      var acc = 0.0;
      for (var i = 0u; i < h; i++) { acc += weight[i * w + j] * u_buf[i]; }
      used[h + j] = acc;
      sq += acc * acc;
    }
    let v_norm = max(sqrt(workgroup_sum(sq, lid)), params.eps);
    storageBarrier();
    for (var j = lid; j < w; j += NT) {
      let vj = used[h + j] / v_norm;
      used[h + j] = vj;
      v_buf[j] = vj;
    }
    storageBarrier();
    workgroupBarrier();
    // u = normalize(W v)
    sq = 0.0;
    for (var i = lid; i < h; i += NT) {
      var acc = 0.0;
      for (var j = 0u; j < w; j++) { acc += weight[i * w + j] * used[h + j]; }
      used[i] = acc;
      sq += acc * acc;
    }
    let u_norm = max(sqrt(workgroup_sum(sq, lid)), params.eps);
    storageBarrier();
    for (var i = lid; i < h; i += NT) {
      let ui = used[i] / u_norm;
      used[i] = ui;
      u_buf[i] = ui;
    }
  } else {
    for (var i = lid; i < h; i += NT) { used[i] = u_buf[i]; }
    for (var j = lid; j < w; j += NT) { used[h + j] = v_buf[j]; }
  }
  storageBarrier();
  workgroupBarrier();
  // sigma = u . (W v)
  var dot = 0.0;
  for (var i = lid; i < h; i += NT) {
    var acc = 0.0;
    for (var j = 0u; j < w; j++) { acc += weight[i * w + j] * used[h + j]; }
    dot += used[i] * acc;
  }
  let sigma = workgroup_sum(dot, lid);
  if (lid == 0u) { used[h + w] = sigma; }
}

// dst = weight / sigma
@compute @workgroup_size(WG)
fn divide(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.h * params.w) { return; }
  dst[i] = weight[i] / saved[params.h + params.w];
}

// dW = g / sigma - (sum(g * W) / sigma^2) * u v^T, with sum(g * W) precomputed in gw_dot[0].
@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let idx = thread_index(wid, nwg, lid);
  let h = params.h;
  let w = params.w;
  if (idx >= h * w) { return; }
  let sigma = saved[h + w];
  let i = idx / w;
  let j = idx - i * w;
  dst[idx] = grad[idx] / sigma - gw_dot[0] / (sigma * sigma) * saved[i] * saved[h + j];
}
