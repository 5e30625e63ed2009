// Winograd transforms for stride-1 3x3 convolutions (engine/ops/winograd.ts): F(2x2, 3x3)
// first (entries wino_*), then F(4x4, 3x3) (wino4_*), which does the same with 6x6 tiles.
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
  // tiles per row and column, tiles in all (batch * tiles_h * tiles_w), and that rounded up to
  // a multiple of 4: the GEMM's positions (the extra ones zero), so that the output transform
  // reads the point products of four tiles as one vec4
  tiles_w: u32,
  tiles_h: u32,
  tiles: u32,
  tiles_pad: u32,
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
@group(0) @binding(5) var<storage, read> src4: array<vec4<f32>>;

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

// The (tile, c4) pair of thread i of a transform into the packed layout; tiles from `tiles` on
// (up to tiles_pad, the zero row) are all zero.
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
  let stride = (params.tiles_pad + 1u) * params.c4;
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
// (m0 + m1 + m2, m1 - m2 - m3). M is [16][channels][tiles_pad]; outputs past the edge are
// dropped.
@compute @workgroup_size(WG)
fn wino_output(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.total) {
    return;
  }
  let tile = i % params.tiles;
  let ch = i / params.tiles;
  let stride = params.channels * params.tiles_pad;
  let at = ch * params.tiles_pad + tile;
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

// ------------------------------------------------------------------------- F(4x4, 3x3)
//
// The same five kernels for 4x4 output tiles (6x6 input tiles, 36 points): 36 multiplies per
// tile and channel pair where F(2x2, 3x3) does 64 and the implicit GEMM 144, and 2.25 values in
// the Winograd domain per value of x or y where F(2x2, 3x3) has 4. Interpolation points 0, 1, -1,
// 1/2, -2 and infinity, picked by simulating candidate sets in float32: their rounding error was
// 2-3x smaller than with the usual 0, 1, -1, 2, -2 (Lavin & Gray 2016), whose B^T has entries up
// to 5 where this one has 2.5 (Barabasz et al. 2020 chose points empirically in the same way).
// Six values travel as a struct of vec4s (kept in registers, unlike an array).

struct Six {
  v0: vec4<f32>,
  v1: vec4<f32>,
  v2: vec4<f32>,
  v3: vec4<f32>,
  v4: vec4<f32>,
  v5: vec4<f32>,
}

// B^T of F(4x4, 3x3) applied to six values.
fn bt6(d: Six) -> Six {
  return Six(
    d.v0 - 1.5 * d.v1 - 2.0 * d.v2 + 1.5 * d.v3 + d.v4,
    d.v4 - d.v1 + 0.5 * d.v2 + 2.5 * d.v3,
    d.v4 + d.v1 - 2.5 * d.v2 + 0.5 * d.v3,
    d.v4 - d.v2 + 2.0 * (d.v3 - d.v1),
    d.v4 - d.v2 + 0.5 * (d.v1 - d.v3),
    d.v1 - 1.5 * d.v2 - 2.0 * d.v3 + 1.5 * d.v4 + d.v5,
  );
}

// A of F(4x4, 3x3) (6 x 4) applied to four values: the adjoint of the output transform.
fn a6(y0: vec4<f32>, y1: vec4<f32>, y2: vec4<f32>, y3: vec4<f32>) -> Six {
  return Six(y0, y0 + y1 + y2 + y3, y0 - y1 + y2 - y3, y0 + 0.5 * y1 + 0.25 * y2 + 0.125 * y3, y0 - 2.0 * y1 + 4.0 * y2 - 8.0 * y3, y3);
}

// G of F(4x4, 3x3) (6 x 3) applied to three values.
fn g6(a: vec4<f32>, b: vec4<f32>, c: vec4<f32>) -> Six {
  return Six(
    a,
    (a + b + c) / 3.0,
    (b - a - c) / 3.0,
    -(16.0 * a + 8.0 * b + 4.0 * c) / 15.0,
    (a - 2.0 * b + 4.0 * c) / 15.0,
    c,
  );
}

// Stores points 6 i .. 6 i + 5 to dst4[p][tile][c4].
fn store_six(s: Slot, i: u32, v: Six) {
  let stride = (params.tiles_pad + 1u) * params.c4;
  let at = 6u * i * stride + s.tile * params.c4 + s.c4;
  dst4[at] = v.v0;
  dst4[at + stride] = v.v1;
  dst4[at + 2u * stride] = v.v2;
  dst4[at + 3u * stride] = v.v3;
  dst4[at + 4u * stride] = v.v4;
  dst4[at + 5u * stride] = v.v5;
}

// B^T d B of the 6x6 patch at (4 th - pad_h, 4 tw - pad_w), four channels per thread.
@compute @workgroup_size(WG)
fn wino4_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.total) {
    return;
  }
  let s = slot(i);
  let zero = vec4<f32>(0.0);
  // #for x < 6
  var col$x = Six(zero, zero, zero, zero, zero, zero);
  // #end
  if (s.tile < params.tiles) {
    let h0 = i32(4u * s.th) - i32(params.pad_h);
    let w0 = i32(4u * s.tw) - i32(params.pad_w);
    let c = s.c4 * 4u;
    // #for x < 6
    col$x = bt6(Six(pixel4(s.b, c, h0, w0 + $x), pixel4(s.b, c, h0 + 1, w0 + $x), pixel4(s.b, c, h0 + 2, w0 + $x), pixel4(s.b, c, h0 + 3, w0 + $x), pixel4(s.b, c, h0 + 4, w0 + $x), pixel4(s.b, c, h0 + 5, w0 + $x)));
    // #end
  }
  // #for y < 6
  store_six(s, $yu, bt6(Six(col0.v$y, col1.v$y, col2.v$y, col3.v$y, col4.v$y, col5.v$y)));
  // #end
}

// A dy A^T of the 4x4 output-gradient tile at (4 th, 4 tw) (zero past the output).
@compute @workgroup_size(WG)
fn wino4_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.total) {
    return;
  }
  let s = slot(i);
  let zero = vec4<f32>(0.0);
  // #for x < 4
  var col$x = Six(zero, zero, zero, zero, zero, zero);
  // #end
  if (s.tile < params.tiles) {
    let h = i32(4u * s.th);
    let w = i32(4u * s.tw);
    let c = s.c4 * 4u;
    // #for x < 4
    col$x = a6(pixel4(s.b, c, h, w + $x), pixel4(s.b, c, h + 1, w + $x), pixel4(s.b, c, h + 2, w + $x), pixel4(s.b, c, h + 3, w + $x));
    // #end
  }
  // #for y < 6
  store_six(s, $yu, a6(col0.v$y, col1.v$y, col2.v$y, col3.v$y));
  // #end
}

// G g G^T for one row and four K values, as [36][rows][k4].
@compute @workgroup_size(WG)
fn wino4_weight(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.total) {
    return;
  }
  let k4 = i % params.c4;
  let row = i / params.c4;
  let k = k4 * 4u;
  // Column transform of each kernel row, then the row transform of each column point.
  // #for y < 3
  let r$y = g6(weight4(row, k, $yu, 0u), weight4(row, k, $yu, 1u), weight4(row, k, $yu, 2u));
  // #end
  let stride = params.rows * params.c4;
  let at = row * params.c4 + k4;
  // #for q < 6
  let p$q = g6(r0.v$q, r1.v$q, r2.v$q);
  dst4[$qu * stride + at] = p$q.v0;
  dst4[(6u + $qu) * stride + at] = p$q.v1;
  dst4[(12u + $qu) * stride + at] = p$q.v2;
  dst4[(18u + $qu) * stride + at] = p$q.v3;
  dst4[(24u + $qu) * stride + at] = p$q.v4;
  dst4[(30u + $qu) * stride + at] = p$q.v5;
  // #end
}

// A^T of F(4x4, 3x3) (4 x 6) on six vec4s (each holding four tiles): the four output columns.
fn at6(m0: vec4<f32>, m1: vec4<f32>, m2: vec4<f32>, m3: vec4<f32>, m4: vec4<f32>, m5: vec4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(m0 + m1 + m2 + m3 + m4, m1 - m2 + 0.5 * m3 - 2.0 * m4, m1 + m2 + 0.25 * m3 + 4.0 * m4, m1 - m2 + 0.125 * m3 - 8.0 * m4 + m5);
}

// Writes the 4x4 output tile `tile` of channel ch (rows[a] = output row a), clipped to the
// output.
fn store_tile4(tile: u32, ch: u32, rows: mat4x4<f32>) {
  if (tile >= params.tiles) {
    return;
  }
  let per_image = params.tiles_h * params.tiles_w;
  let b = tile / per_image;
  let oh = 4u * ((tile % per_image) / params.tiles_w);
  let ow = 4u * (tile % params.tiles_w);
  let base = ((b * params.channels + ch) * params.out_h + oh) * params.out_w + ow;
  let cols = min(params.out_w - ow, 4u);
  let nrows = min(params.out_h - oh, 4u);
  for (var a = 0u; a < nrows; a++) {
    let v = rows[a];
    let o = base + a * params.out_w;
    dst[o] = v.x;
    if (cols > 1u) { dst[o + 1u] = v.y; }
    if (cols > 2u) { dst[o + 2u] = v.z; }
    if (cols > 3u) { dst[o + 3u] = v.w; }
  }
}

// y = A^T M A + bias for one channel and four consecutive 4x4 tiles (vector lanes = tiles: one
// vec4 load per point instead of four scalar loads); M is [36][channels][tiles_pad].
@compute @workgroup_size(WG)
fn wino4_output(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.total) {
    return;
  }
  let quads = params.tiles_pad / 4u;
  let quad = i % quads;
  let ch = i / quads;
  let stride = params.channels * quads;
  let at = ch * quads + quad;
  // r$y: row y of M times A; column b of it holds output column b of the four tiles.
  // #for y < 6
  let r$y = at6(src4[(6u * $yu) * stride + at], src4[(6u * $yu + 1u) * stride + at], src4[(6u * $yu + 2u) * stride + at], src4[(6u * $yu + 3u) * stride + at], src4[(6u * $yu + 4u) * stride + at], src4[(6u * $yu + 5u) * stride + at]);
  // #end
  var bias = 0.0;
  if (params.has_bias != 0u) {
    bias = bias_in[ch];
  }
  let bias4 = mat4x4<f32>(vec4<f32>(bias), vec4<f32>(bias), vec4<f32>(bias), vec4<f32>(bias));
  // Output row a as a matrix over (column, tile), transposed to (tile, column).
  let out0 = transpose(r0 + r1 + r2 + r3 + r4 + bias4);
  let out1 = transpose(r1 - r2 + 0.5 * r3 - 2.0 * r4 + bias4);
  let out2 = transpose(r1 + r2 + 0.25 * r3 + 4.0 * r4 + bias4);
  let out3 = transpose(r1 - r2 + 0.125 * r3 - 8.0 * r4 + r5 + bias4);
  // #for t < 4
  store_tile4(4u * quad + $tu, ch, mat4x4<f32>(out0[$t], out1[$t], out2[$t], out3[$t]));
  // #end
}

// G^T of F(4x4, 3x3) (3 x 6) on six scalars.
fn gt6s(u0: f32, u1: f32, u2: f32, u3: f32, u4: f32, u5: f32) -> vec3<f32> {
  return vec3<f32>(u0 + (u1 - u2) / 3.0 + (u4 - 16.0 * u3) / 15.0, (u1 + u2) / 3.0 - (8.0 * u3 + 2.0 * u4) / 15.0, (u1 - u2) / 3.0 + (4.0 * (u4 - u3)) / 15.0 + u5);
}

// G^T on six rows of three values (the result's columns are the rows of dw).
fn gt6(u0: vec3<f32>, u1: vec3<f32>, u2: vec3<f32>, u3: vec3<f32>, u4: vec3<f32>, u5: vec3<f32>) -> mat3x3<f32> {
  return mat3x3<f32>(u0 + (u1 - u2) / 3.0 + (u4 - 16.0 * u3) / 15.0, (u1 + u2) / 3.0 - (8.0 * u3 + 2.0 * u4) / 15.0, (u1 - u2) / 3.0 + (4.0 * (u4 - u3)) / 15.0 + u5);
}

// dw = G^T dU G for one (output channel, input channel) pair; dU is [36][rows][k].
@compute @workgroup_size(WG)
fn wino4_dw(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.total) {
    return;
  }
  let stride = params.rows * params.k;
  // r$y: row y of dU times G (the three kernel columns).
  // #for y < 6
  let r$y = gt6s(src[(6u * $yu) * stride + i], src[(6u * $yu + 1u) * stride + i], src[(6u * $yu + 2u) * stride + i], src[(6u * $yu + 3u) * stride + i], src[(6u * $yu + 4u) * stride + i], src[(6u * $yu + 5u) * stride + i]);
  // #end
  let d = gt6(r0, r1, r2, r3, r4, r5);
  // #for a < 3
  dst[i * 9u + 3u * $au] = d[$a].x;
  dst[i * 9u + 3u * $au + 1u] = d[$a].y;
  dst[i * 9u + 3u * $au + 2u] = d[$a].z;
  // #end
}
