// Random fills and dropout, all from Philox keyed by (seed, stream) and indexed by element.

struct Params {
  n: u32,
  seed: u32,
  stream: u32,
  // dropout: keep probability's threshold and the 1 / (1 - p) scale
  p: f32,
  inv_keep: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;

fn bits(i: u32) -> vec4<u32> {
  return philox4x32(vec4<u32>(i, 0u, params.stream, 0u), vec2<u32>(params.seed, 0x243F6A88u));
}

@compute @workgroup_size(WG)
fn fill_uniform(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  dst[i] = u32_to_unit(bits(i).x);
}

@compute @workgroup_size(WG)
fn fill_normal(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  let r = bits(i);
  // Box-Muller; 1 - u keeps the log argument in (0, 1].
  let u1 = 1.0 - u32_to_unit(r.x);
  let u2 = u32_to_unit(r.y);
  dst[i] = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

// dst = src * keep / (1 - p); the mask is recomputed from the seed in the backward pass.
@compute @workgroup_size(WG)
fn dropout(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  let keep = u32_to_unit(bits(i).x) >= params.p;
  dst[i] = select(0.0, src[i] * params.inv_keep, keep);
}
