// Data movement: one strided copy covers permute, slice, concat, expand (broadcast) and the
// scatter of a slice's gradient. out[out_offset + sum(i_d * out_strides_d)] =
// src[in_offset + sum(i_d * in_strides_d)] for every index i of `shape`.

struct Params {
  n: u32,
  rank: u32,
  in_offset: u32,
  out_offset: u32,
  shape: array<vec4<u32>, 2>,
  in_strides: array<vec4<u32>, 2>,
  out_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;
@group(0) @binding(3) var<storage, read_write> dst4: array<vec4<u32>>;

fn dim(v: array<vec4<u32>, 2>, d: u32) -> u32 {
  return v[d / 4u][d % 4u];
}

@compute @workgroup_size(WG)
fn strided_copy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  var rest = i;
  var si = params.in_offset;
  var di = params.out_offset;
  for (var d = params.rank; d > 0u; d--) {
    let size = dim(params.shape, d - 1u);
    let idx = rest % size;
    rest = rest / size;
    si += idx * dim(params.in_strides, d - 1u);
    di += idx * dim(params.out_strides, d - 1u);
  }
  dst[di] = src[si];
}

// The same copy over at most three collapsed dims on a 3-D grid (no integer division).
@compute @workgroup_size(WG)
fn strided_copy_3d(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= params.shape[0].z) { return; }
  let si = params.in_offset + gid.z * params.in_strides[0].x + gid.y * params.in_strides[0].y + gid.x * params.in_strides[0].z;
  let di = params.out_offset + gid.z * params.out_strides[0].x + gid.y * params.out_strides[0].y + gid.x * params.out_strides[0].z;
  dst[di] = src[si];
}

// strided_copy_3d writing four consecutive outputs per thread (innermost output stride 1, the
// innermost size and every output offset a multiple of 4; the source's innermost stride is 0,
// a broadcast, or 1). Grid x counts vec4s.
@compute @workgroup_size(WG)
fn strided_copy_3d4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let x = gid.x * 4u;
  if (x >= params.shape[0].z) { return; }
  let si = params.in_offset + gid.z * params.in_strides[0].x + gid.y * params.in_strides[0].y + x * params.in_strides[0].z;
  let di = params.out_offset + gid.z * params.out_strides[0].x + gid.y * params.out_strides[0].y + x;
  let step = params.in_strides[0].z;
  dst4[di / 4u] = vec4<u32>(src[si], src[si + step], src[si + 2u * step], src[si + 3u * step]);
}
