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

// Stores the 16 points of a 4x4 transform (m[row][col] is point row * 4 + col) to
// dst4[p][tile][c4], point-major: the GEMM's groups.
fn store_points(m: array<vec4<f32>, 16>, s: Slot) {
  let stride = (params.tiles + 1u) * params.c4;
  let at = s.tile * params.c4 + s.c4;
  for (var p = 0u; p < 16u; p++) {
    dst4[p * stride + at] = m[p];
  }
}

// B^T d B of the 4x4 patch at (2 th - pad_h, 2 tw - pad_w). B^T rows: d0 - d2, d1 + d2,
// d2 - d1, d1 - d3 (applied to rows, then to columns).
@compute @workgroup_size(WG)
fn wino_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.total) {
    return;
  }
  let s = slot(i);
  var m: array<vec4<f32>, 16>;
  if (s.tile < params.tiles) {
    let h0 = i32(2u * s.th) - i32(params.pad_h);
    let w0 = i32(2u * s.tw) - i32(params.pad_w);
    let c = s.c4 * 4u;
    // Row transform of each of the 4 columns, then column transform of each row.
    var t: array<vec4<f32>, 16>;
    for (var x = 0u; x < 4u; x++) {
      let w = w0 + i32(x);
      let d0 = pixel4(s.b, c, h0, w);
      let d1 = pixel4(s.b, c, h0 + 1, w);
      let d2 = pixel4(s.b, c, h0 + 2, w);
      let d3 = pixel4(s.b, c, h0 + 3, w);
      t[x] = d0 - d2;
      t[4u + x] = d1 + d2;
      t[8u + x] = d2 - d1;
      t[12u + x] = d1 - d3;
    }
    for (var y = 0u; y < 4u; y++) {
      let r = 4u * y;
      m[r] = t[r] - t[r + 2u];
      m[r + 1u] = t[r + 1u] + t[r + 2u];
      m[r + 2u] = t[r + 2u] - t[r + 1u];
      m[r + 3u] = t[r + 1u] - t[r + 3u];
    }
  }
  store_points(m, s);
}

// Four consecutive channels of the 2x2 gradient tile at (2 th, 2 tw), zero past the output.
fn grad_tile(s: Slot) -> array<vec4<f32>, 4> {
  let h = i32(2u * s.th);
  let w = i32(2u * s.tw);
  let c = s.c4 * 4u;
  return array<vec4<f32>, 4>(pixel4(s.b, c, h, w), pixel4(s.b, c, h, w + 1), pixel4(s.b, c, h + 1, w), pixel4(s.b, c, h + 1, w + 1));
}

// A dy A^T of the 2x2 output-gradient tile (the adjoint of the output transform): A maps a
// pair (a, b) to (a, a + b, a - b, -b), on rows and then on columns.
@compute @workgroup_size(WG)
fn wino_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.total) {
    return;
  }
  let s = slot(i);
  var m: array<vec4<f32>, 16>;
  if (s.tile < params.tiles) {
    let g = grad_tile(s);
    // Rows of A dy (4 x 2), then each row times A^T.
    let r = array<vec4<f32>, 8>(g[0], g[1], g[0] + g[2], g[1] + g[3], g[0] - g[2], g[1] - g[3], -g[2], -g[3]);
    for (var y = 0u; y < 4u; y++) {
      let a = r[2u * y];
      let b = r[2u * y + 1u];
      m[4u * y] = a;
      m[4u * y + 1u] = a + b;
      m[4u * y + 2u] = a - b;
      m[4u * y + 3u] = -b;
    }
  }
  store_points(m, s);
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
  // Column transform of each of the 4 rows of M: r[2 y + j].
  var r: array<f32, 8>;
  for (var y = 0u; y < 4u; y++) {
    let m0 = src[(4u * y) * stride + at];
    let m1 = src[(4u * y + 1u) * stride + at];
    let m2 = src[(4u * y + 2u) * stride + at];
    let m3 = src[(4u * y + 3u) * stride + at];
    r[2u * y] = m0 + m1 + m2;
    r[2u * y + 1u] = m1 - m2 - m3;
  }
  var bias = 0.0;
  if (params.has_bias != 0u) {
    bias = bias_in[ch];
  }
  let per_image = params.tiles_h * params.tiles_w;
  let b = tile / per_image;
  let oh = 2u * ((tile % per_image) / params.tiles_w);
  let ow = 2u * (tile % params.tiles_w);
  let base = ((b * params.channels + ch) * params.out_h + oh) * params.out_w + ow;
  dst[base] = r[0] + r[2] + r[4] + bias;
  let right = ow + 1u < params.out_w;
  let below = oh + 1u < params.out_h;
  if (right) {
    dst[base + 1u] = r[1] + r[3] + r[5] + bias;
  }
  if (below) {
    dst[base + params.out_w] = r[2] - r[4] - r[6] + bias;
    if (right) {
      dst[base + params.out_w + 1u] = r[3] - r[5] - r[7] + bias;
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
