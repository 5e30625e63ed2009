// Squeeze-excitation channel gate: y = x * (0.5 + 0.5 * sigmoid(s)) for x [rows, inner] (rows =
// N * C, inner = H * W) and one logit s[row] per channel. Forward and input gradient are one
// pass each; the backward pass also sums grad * x per row, in `parts` chunks of at most part_len
// elements per thread (llvmpipe's loop budget), which gate_finalize combines in a fixed order.
// The `*4` entries take vec4s (inner % 4 == 0); inner and part_len are then in vec4 units.

struct Params {
  rows: u32,
  inner: u32,
  parts: u32,
  part_len: u32,
  // Rows per grid layer of gate_fwd (its y dimension; z counts layers).
  rows_y: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> src4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> grad: array<f32>;
@group(0) @binding(4) var<storage, read> grad4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> gate: array<f32>;
@group(0) @binding(6) var<storage, read_write> dst: array<f32>;
@group(0) @binding(7) var<storage, read_write> dst4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> part: array<f32>;
@group(0) @binding(9) var<storage, read> part_in: array<f32>;

fn sigmoid(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}

// The gate of a row, rounded as the unfused chain sigmoid -> scale(0.5) -> addScalar(0.5).
fn factor(row: u32) -> f32 {
  return sigmoid(gate[row]) * 0.5 + 0.5;
}

// One thread per element (gate_fwd) or vec4 (gate_fwd4) on an [inner / WG, rows_y, layers] grid:
// the coordinates give the row directly (no integer division per element, slow on llvmpipe).
@compute @workgroup_size(WG)
fn gate_fwd(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.z * params.rows_y + gid.y;
  if (gid.x >= params.inner || row >= params.rows) { return; }
  let i = row * params.inner + gid.x;
  dst[i] = src[i] * factor(row);
}

@compute @workgroup_size(WG)
fn gate_fwd4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.z * params.rows_y + gid.y;
  if (gid.x >= params.inner || row >= params.rows) { return; }
  let i = row * params.inner + gid.x;
  dst4[i] = src4[i] * factor(row);
}

// Chunk p of a row: [begin, end) in the entry's units (elements or vec4s).
fn chunk(row: u32, p: u32) -> vec2<u32> {
  let base = row * params.inner;
  return vec2<u32>(base + p * params.part_len, base + min((p + 1u) * params.part_len, params.inner));
}

// dx = grad * factor, and part[row * parts + p] = sum of grad * x over chunk p of the row; one
// thread per (row, chunk).
@compute @workgroup_size(WG)
fn gate_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let id = thread_index(wid, nwg, lid);
  if (id >= params.rows * params.parts) { return; }
  let row = id / params.parts;
  let f = factor(row);
  let r = chunk(row, id % params.parts);
  // Four accumulators (independent add chains, as the vec4 kernel's lanes).
  var acc = vec4<f32>(0.0);
  var i = r.x;
  for (; i + 4u <= r.y; i += 4u) {
    let g = vec4<f32>(grad[i], grad[i + 1u], grad[i + 2u], grad[i + 3u]);
    dst[i] = g.x * f;
    dst[i + 1u] = g.y * f;
    dst[i + 2u] = g.z * f;
    dst[i + 3u] = g.w * f;
    acc += g * vec4<f32>(src[i], src[i + 1u], src[i + 2u], src[i + 3u]);
  }
  for (; i < r.y; i++) {
    let g = grad[i];
    dst[i] = g * f;
    acc.x += g * src[i];
  }
  part[id] = (acc.x + acc.y) + (acc.z + acc.w);
}

@compute @workgroup_size(WG)
fn gate_bwd4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let id = thread_index(wid, nwg, lid);
  if (id >= params.rows * params.parts) { return; }
  let row = id / params.parts;
  let f = factor(row);
  let r = chunk(row, id % params.parts);
  var acc = vec4<f32>(0.0);
  for (var i = r.x; i < r.y; i++) {
    let g = grad4[i];
    dst4[i] = g * f;
    acc += g * src4[i];
  }
  part[id] = (acc.x + acc.y) + (acc.z + acc.w);
}

// ds[row] = sum_p part[row * parts + p] * 0.5 * sigmoid'(s[row]) (written to dst).
@compute @workgroup_size(WG)
fn gate_finalize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = thread_index(wid, nwg, lid);
  if (row >= params.rows) { return; }
  var total = 0.0;
  for (var p = 0u; p < params.parts; p++) {
    total += part_in[row * params.parts + p];
  }
  let sg = sigmoid(gate[row]);
  dst[row] = (total * 0.5) * (sg * (1.0 - sg));
}
