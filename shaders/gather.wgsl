// Row gather: dst row `row` (or row dst_idx[row] when `scatter` is 1) receives source row
// idx[row] of a [src_rows, row_len] tensor, copied as raw 32-bit words (any dtype). One thread
// per copied element; a source index outside [0, src_rows) writes zeros.

struct Params {
  rows: u32,
  row_len: u32,
  src_rows: u32,
  scatter: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read> dst_idx: array<i32>;
@group(0) @binding(4) var<storage, read_write> dst: array<u32>;

@compute @workgroup_size(WG)
fn gather_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = thread_index(wid, nwg, lid);
  if (t >= params.rows * params.row_len) { return; }
  let row = t / params.row_len;
  let col = t % params.row_len;
  let s = idx[row];
  var out_row = row;
  if (params.scatter == 1u) { out_row = u32(dst_idx[row]); }
  var v = 0u;
  if (s >= 0 && u32(s) < params.src_rows) { v = src[u32(s) * params.row_len + col]; }
  dst[out_row * params.row_len + col] = v;
}
