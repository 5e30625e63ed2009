// Winograd F(2x2, 3x3) transforms for stride-1 3x3 convolutions (engine/ops/winograd.ts).
//
// A 3x3 convolution over 2x2 output tiles is, per tile, y = A^T [(G g G^T) . (B^T d B)] A with
// d the 4x4 input patch the tile reads (zero outside the image) and "." the elementwise product
// at 16 transform points. Summed over input channels, each point is one GEMM: the engine runs
// the 16 of them as conv2d.wgsl's implicit GEMM with 16 groups of a 1x1 convolution (input
// gradient: the same with the flipped, transposed kernel; weight gradient: conv_dw the same
// way). The kernels here only move data in and out of the Winograd domain:
//
//   wino_input:  d -> V[p][tile][c4] = (B^T d B)[p]     (the GEMM's packed act layout, with a
//                                                        zero row after the tiles)
//   wino_weight: g -> U[p][row][k4] = (G g G^T)[p]      (the GEMM's packed weight layout)
//   wino_grad:   dy -> V[p][tile][c4] = (A dy A^T)[p]   (the weight gradient's g operand)
//   wino_output: M[p][ch][tile] -> y = A^T M A + bias   (one thread per channel and tile)
//   wino_dw:     dU[p][co][ci] -> dw = G^T dU G
//
// They write vec4s to a storage buffer that the engine copies into a texel buffer (a
// textureStore costs as much as the rest of a pack on llvmpipe). Every loop here is bounded by
// 4 or 16, far from llvmpipe's 65535 iterations per invocation.

struct Params {
  // input / gradient transform: NCHW source [batch, channels, height, width]
  batch: u32,
  channels: u32,
  height: u32,
  width: u32,
  pad_h: u32,
  pad_w: u32,
  // tiles per row and column, and tiles in all (batch * tiles_h * tiles_w)
  tiles_w: u32,
  tiles_h: u32,
  tiles: u32,
  c4: u32,
  // weight transform: source element (row, k, tap) at row * s_row + k * s_k + tap, the tap
  // mirrored when flip = 1 (rows and k count `rows` and `k`)
  rows: u32,
  k: u32,
  s_row: u32,
  s_k: u32,
  flip: u32,
  // output transform: output [batch, channels, out_h, out_w]
  out_h: u32,
  out_w: u32,
  has_bias: u32,
  // threads of the kernel
  total: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> bias_in: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;

// Four channels (c, c + 1, ...) of pixel (h, w) of image b; zero outside the image or past the
// last channel.
fn pixel4(b: u32, c: u32, h: i32, w: i32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (u32(h) >= params.height || u32(w) >= params.width) {
    return v;
  }
  let plane = params.height * params.width;
  let base = (b * params.channels + c) * plane + u32(h) * params.width + u32(w);
  let last = params.channels - 1u - c; // channels c + j with j <= last exist
  v.x = src[base];
  if (last >= 1u) { v.y = src[base + plane]; }
  if (last >= 2u) { v.z = src[base + 2u * plane]; }
  if (last >= 3u) { v.w = src[base + 3u * plane]; }
  return v;
}

// The (tile, c4) pair of thread i of a transform into the packed layout; tile == tiles is the
// zero row.
struct Slot {
  tile: u32,
  c4: u32,
  b: u32,
  th: u32,
  tw: u32,
}

fn slot(i: u32) -> Slot {
  let c4 = i % params.c4;
  let tile = i / params.c4;
  let per_image = params.tiles_h * params.tiles_w;
  let b = tile / per_image;
  let r = tile % per_image;
  return Slot(tile, c4, b, r / params.tiles_w, r % params.tiles_w);
}

// Stores points 4 i .. 4 i + 3 of a 4x4 transform (v's columns) to dst4[p][tile][c4]: the
// points are the GEMM's groups.
fn store_row(s: Slot, i: u32, v: mat4x4<f32>) {
  let stride = (params.tiles + 1u) * params.c4;
  let at = 4u * i * stride + s.tile * params.c4 + s.c4;
  dst4[at] = v[0];
  dst4[at + stride] = v[1];
  dst4[at + 2u * stride] = v[2];
  dst4[at + 3u * stride] = v[3];
}

// B^T applied to four values: (d0 - d2, d1 + d2, d2 - d1, d1 - d3). (mat4x4 columns rather
// than arrays: llvmpipe keeps arrays in memory, matrices in registers.)
fn bt(d: mat4x4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]);
}

// B^T d B of the 4x4 patch at (2 th - pad_h, 2 tw - pad_w), four channels per thread: B^T
// on each column of the patch, then on each row of the result.
@compute @workgroup_size(WG)
fn wino_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.total) {
    return;
  }
  let s = slot(i);
  // #for x < 4
  var col$x = mat4x4<f32>();
  // #end
  if (s.tile < params.tiles) {
    let h0 = i32(2u * s.th) - i32(params.pad_h);
    let w0 = i32(2u * s.tw) - i32(params.pad_w);
    let c = s.c4 * 4u;
    // #for x < 4
    col$x = bt(mat4x4<f32>(pixel4(s.b, c, h0, w0 + $x), pixel4(s.b, c, h0 + 1, w0 + $x), pixel4(s.b, c, h0 + 2, w0 + $x), pixel4(s.b, c, h0 + 3, w0 + $x)));
    // #end
  }
  // #for y < 4
  store_row(s, $yu, bt(mat4x4<f32>(col0[$y], col1[$y], col2[$y], col3[$y])));
  // #end
}

// A applied to a pair (the adjoint of the output transform A^T): (a, a + b, a - b, -b).
fn a_pair(a: vec4<f32>, b: vec4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(a, a + b, a - b, -b);
}

// A dy A^T of the 2x2 output-gradient tile at (2 th, 2 tw) (zero past the output), four
// channels per thread: A on both columns of the tile, then on each row of the result.
@compute @workgroup_size(WG)
fn wino_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.total) {
    return;
  }
  let s = slot(i);
  var left = mat4x4<f32>();
  var right = mat4x4<f32>();
  if (s.tile < params.tiles) {
    let h = i32(2u * s.th);
    let w = i32(2u * s.tw);
    let c = s.c4 * 4u;
    left = a_pair(pixel4(s.b, c, h, w), pixel4(s.b, c, h + 1, w));
    right = a_pair(pixel4(s.b, c, h, w + 1), pixel4(s.b, c, h + 1, w + 1));
  }
  // #for y < 4
  store_row(s, $yu, a_pair(left[$y], right[$y]));
  // #end
}

// Four consecutive K values of tap (kh, kw) of weight row `row` (zero past the last K).
fn weight4(row: u32, k: u32, kh: u32, kw: u32) -> vec4<f32> {
  var tap = kh * 3u + kw;
  if (params.flip != 0u) {
    tap = 8u - tap;
  }
  let base = row * params.s_row + k * params.s_k + tap;
  var v = vec4<f32>(0.0);
  let last = params.k - 1u - k;
  v.x = src[base];
  if (last >= 1u) { v.y = src[base + params.s_k]; }
  if (last >= 2u) { v.z = src[base + 2u * params.s_k]; }
  if (last >= 3u) { v.w = src[base + 3u * params.s_k]; }
  return v;
}

// G g G^T for one row and four K values: G maps (a, b, c) to (a, (a + b + c) / 2,
// (a - b + c) / 2, c), on the kernel's columns and then on its rows. Writes U[p][row][k4].
@compute @workgroup_size(WG)
fn wino_weight(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.total) {
    return;
  }
  let k4 = i % params.c4;
  let row = i / params.c4;
  // t[4 kh + q]: point q of row kh of the kernel after the column transform.
  var t: array<vec4<f32>, 12>;
  for (var kh = 0u; kh < 3u; kh++) {
    let a = weight4(row, k4 * 4u, kh, 0u);
    let b = weight4(row, k4 * 4u, kh, 1u);
    let c = weight4(row, k4 * 4u, kh, 2u);
    t[4u * kh] = a;
    t[4u * kh + 1u] = 0.5 * (a + b + c);
    t[4u * kh + 2u] = 0.5 * (a - b + c);
    t[4u * kh + 3u] = c;
  }
  let stride = params.rows * params.c4;
  let at = row * params.c4 + k4;
  for (var q = 0u; q < 4u; q++) {
    let a = t[q];
    let b = t[4u + q];
    let c = t[8u + q];
    dst4[q * stride + at] = a;
    dst4[(4u + q) * stride + at] = 0.5 * (a + b + c);
    dst4[(8u + q) * stride + at] = 0.5 * (a - b + c);
    dst4[(12u + q) * stride + at] = c;
  }
}

// y = A^T M A + bias for one channel and tile: A^T maps (m0, m1, m2, m3) to
// (m0 + m1 + m2, m1 - m2 - m3). M is [16][channels][tiles]; outputs past the edge are dropped.
@compute @workgroup_size(WG)
fn wino_output(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.total) {
    return;
  }
  let tile = i % params.tiles;
  let ch = i / params.tiles;
  let stride = params.channels * params.tiles;
  let at = ch * params.tiles + tile;
  // A^T on each row y of M: r$y = (row y) A.
  // #for y < 4
  let m$y = vec4<f32>(src[4u * $yu * stride + at], src[(4u * $yu + 1u) * stride + at], src[(4u * $yu + 2u) * stride + at], src[(4u * $yu + 3u) * stride + at]);
  let r$y = vec2<f32>(m$y.x + m$y.y + m$y.z, m$y.y - m$y.z - m$y.w);
  // #end
  var bias = 0.0;
  if (params.has_bias != 0u) {
    bias = bias_in[ch];
  }
  let top = r0 + r1 + r2 + bias;
  let bottom = r1 - r2 - r3 + bias;
  let per_image = params.tiles_h * params.tiles_w;
  let b = tile / per_image;
  let oh = 2u * ((tile % per_image) / params.tiles_w);
  let ow = 2u * (tile % params.tiles_w);
  let base = ((b * params.channels + ch) * params.out_h + oh) * params.out_w + ow;
  dst[base] = top.x;
  let right = ow + 1u < params.out_w;
  if (right) {
    dst[base + 1u] = top.y;
  }
  if (oh + 1u < params.out_h) {
    dst[base + params.out_w] = bottom.x;
    if (right) {
      dst[base + params.out_w + 1u] = bottom.y;
    }
  }
}

// dw = G^T dU G for one (output channel, input channel) pair: G^T maps (u0, u1, u2, u3) to
// (u0 + (u1 + u2) / 2, (u1 - u2) / 2, (u1 + u2) / 2 + u3). dU is [16][rows][k] (rows = Cout,
// k = Cin), dw [rows][k][3][3].
@compute @workgroup_size(WG)
fn wino_dw(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.total) {
    return;
  }
  let stride = params.rows * params.k;
  // r[3 y + j]: row y of dU after the column transform (j = output column).
  var r: array<f32, 12>;
  for (var y = 0u; y < 4u; y++) {
    let u0 = src[(4u * y) * stride + i];
    let u1 = src[(4u * y + 1u) * stride + i];
    let u2 = src[(4u * y + 2u) * stride + i];
    let u3 = src[(4u * y + 3u) * stride + i];
    r[3u * y] = u0 + 0.5 * (u1 + u2);
    r[3u * y + 1u] = 0.5 * (u1 - u2);
    r[3u * y + 2u] = 0.5 * (u1 + u2) + u3;
  }
  for (var j = 0u; j < 3u; j++) {
    let u0 = r[j];
    let u1 = r[3u + j];
    let u2 = r[6u + j];
    let u3 = r[9u + j];
    dst[i * 9u + j] = u0 + 0.5 * (u1 + u2);
    dst[i * 9u + 3u + j] = 0.5 * (u1 - u2);
    dst[i * 9u + 6u + j] = 0.5 * (u1 + u2) + u3;
  }
}
