// Row sums: src is [rows, len]; thread (r, c) sums elements [c*CHUNK, (c+1)*CHUNK) of row r
// into dst[r * chunks + c], times `scale`. Long rows take several passes (chunks -> 1), which
// keeps every loop short (llvmpipe stops loops after 65535 iterations) and the order fixed.

struct Params {
  rows: u32,
  len: u32,
  chunks: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(WG)
fn sum_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = thread_index(wid, nwg, lid);
  if (t >= params.rows * params.chunks) { return; }
  let r = t / params.chunks;
  let c = t % params.chunks;
  let begin = c * CHUNK;
  let end = min(begin + CHUNK, params.len);
  let base = r * params.len;
  // Four partial sums: shorter dependency chains and slightly better rounding.
  var s = vec4<f32>(0.0);
  var j = begin;
  for (; j + 4u <= end; j += 4u) {
    s += vec4<f32>(src[base + j], src[base + j + 1u], src[base + j + 2u], src[base + j + 3u]);
  }
  for (; j < end; j++) {
    s.x += src[base + j];
  }
  dst[t] = (s.x + s.y + s.z + s.w) * params.scale;
}
