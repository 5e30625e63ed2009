// Packing GEMM operands into texel buffers (engine/ops/pack.ts).
//
// A packed operand is [matrices][rows (+ 1 zero row)][c4] vec4s: each row holds `cols` values,
// zero-padded to c4 * 4, and the optional extra row is all zero (conv kernels read it for
// padding taps). The kernels write a storage buffer in that layout, which the engine then
// copies into the texel buffer: on llvmpipe a textureStore costs as much as the rest of the
// pack together, a buffer-to-texture copy is a memcpy.
//
// Element (q, r, c) of the source, with q = qo * mat_inner + qi and r = ro * row_inner + ri, is
// src[qo * s_mat_outer + qi * s_mat_inner + ro * s_row_outer + ri * s_row_inner + c * s_col].
// Two levels per index let one kernel pack NCHW activations (rows = (batch, position)) and
// conv weights (matrices = (group, tap)) as well as strided matrices.

struct Params {
  mat_inner: u32,
  rows: u32,
  row_inner: u32,
  rows_out: u32,
  cols: u32,
  c4: u32,
  s_mat_outer: u32,
  s_mat_inner: u32,
  s_row_outer: u32,
  s_row_inner: u32,
  s_col: u32,
  // threads: output texels (pack) or (matrix, row quad, c4) triples (pack4)
  total: u32,
  quads_out: u32,
  // im2col: NCHW input [batch, cin, height, width], kernel k_h x k_w, output out_h x out_w
  cin: u32,
  height: u32,
  width: u32,
  out_h: u32,
  out_w: u32,
  k_h: u32,
  k_w: u32,
  stride_h: u32,
  stride_w: u32,
  pad_h: u32,
  pad_w: u32,
  dil_h: u32,
  dil_w: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> src4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dst: array<vec4<f32>>;

// Offset of element (q, r, 0) of the source.
fn row_base(q: u32, r: u32) -> u32 {
  let qo = q / params.mat_inner;
  let qi = q % params.mat_inner;
  let ro = r / params.row_inner;
  let ri = r % params.row_inner;
  return qo * params.s_mat_outer + qi * params.s_mat_inner + ro * params.s_row_outer + ri * params.s_row_inner;
}

// One output texel per thread, any strides.
@compute @workgroup_size(WG)
fn pack(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.total) {
    return;
  }
  let c4 = i % params.c4;
  let r = (i / params.c4) % params.rows_out;
  let q = i / (params.c4 * params.rows_out);
  var v = vec4<f32>(0.0);
  if (r < params.rows) {
    let c = c4 * 4u;
    let base = row_base(q, r) + c * params.s_col;
    let last = params.cols - 1u - c; // columns c + j with j <= last exist
    v.x = src[base];
    if (last >= 1u) { v.y = src[base + params.s_col]; }
    if (last >= 2u) { v.z = src[base + 2u * params.s_col]; }
    if (last >= 3u) { v.w = src[base + 3u * params.s_col]; }
  }
  dst[i] = v;
}

// Four consecutive rows x one vec4 of columns per thread, for sources whose rows are contiguous
// (s_row_inner = 1, row_inner a multiple of 4, every other stride a multiple of 4): four vec4
// loads along the rows, transposed, give four output texels. Row quad rows / 4 is the zero row.
@compute @workgroup_size(WG)
fn pack4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.total) {
    return;
  }
  let c4 = i % params.c4;
  let quad = (i / params.c4) % params.quads_out;
  let q = i / (params.c4 * params.quads_out);
  let r = quad * 4u;
  let out = (q * params.rows_out + r) * params.c4 + c4;
  if (r >= params.rows) {
    dst[out] = vec4<f32>(0.0);
    return;
  }
  let c = c4 * 4u;
  let base = (row_base(q, r) + c * params.s_col) / 4u;
  let s = params.s_col / 4u;
  let last = params.cols - 1u - c;
  var m = mat4x4<f32>(src4[base], vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  if (last >= 1u) { m[1] = src4[base + s]; }
  if (last >= 2u) { m[2] = src4[base + 2u * s]; }
  if (last >= 3u) { m[3] = src4[base + 3u * s]; }
  let t = transpose(m);
  dst[out] = t[0];
  dst[out + params.c4] = t[1];
  dst[out + 2u * params.c4] = t[2];
  dst[out + 3u * params.c4] = t[3];
}

// im2col for convolutions with few input channels (the 1-channel stem): row (b, oh, ow) holds
// the input values under the kernel at that output position, K = (ci, kh, kw) contiguous
// (zero for padding), so the GEMM's K is cin * kh * kw rather than kh * kw taps of one
// zero-padded vec4 each. One thread per row (rows + 1 of them, the last writes the zero row)
// walks K with counters: integer division is a per-lane loop on llvmpipe.
@compute @workgroup_size(WG)
fn im2col(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = thread_index(wid, nwg, lid);
  if (r > params.rows) {
    return;
  }
  let out = r * params.c4;
  if (r == params.rows) {
    for (var t = 0u; t < params.c4; t++) {
      dst[out + t] = vec4<f32>(0.0);
    }
    return;
  }
  let plane = params.out_h * params.out_w;
  let b = r / plane;
  let oh = (r % plane) / params.out_w;
  let ow = r % params.out_w;
  let h0 = i32(oh * params.stride_h) - i32(params.pad_h);
  let w0 = i32(ow * params.stride_w) - i32(params.pad_w);
  var v = vec4<f32>(0.0);
  var j = 0u;
  var t = 0u;
  for (var ci = 0u; ci < params.cin; ci++) {
    let channel = (b * params.cin + ci) * params.height;
    for (var kh = 0u; kh < params.k_h; kh++) {
      let ih = h0 + i32(kh * params.dil_h);
      for (var kw = 0u; kw < params.k_w; kw++) {
        let iw = w0 + i32(kw * params.dil_w);
        var x = 0.0;
        if (u32(ih) < params.height && u32(iw) < params.width) {
          x = src[(channel + u32(ih)) * params.width + u32(iw)];
        }
        v[j] = x;
        j++;
        if (j == 4u) {
          dst[out + t] = v;
          t++;
          j = 0u;
          v = vec4<f32>(0.0);
        }
      }
    }
  }
  if (j > 0u) {
    dst[out + t] = v;
  }
}
