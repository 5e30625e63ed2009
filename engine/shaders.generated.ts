// Generated from shaders/*.wgsl by `deno task shaders` (tools/shaders.ts). Do not edit.

/** The WGSL files of shaders/ by name (without extension): path and text. */
export const WGSL = {
  common: {
    path: "shaders/common.wgsl",
    code: `// Prelude prepended to every kernel file: 1-D thread indexing over 2-D grids, and Philox RNG.

// WG, the workgroup size of 1-D kernels, is defined by the engine (engine/tuning.ts \`wg\`).

// Linear thread id for a 1-D kernel launched on a (possibly 2-D) grid of WG-sized workgroups.
fn thread_index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid.x;
}

// Element i of a texel buffer (engine/buffers.ts TexelBuffer: 4096 vec4s per texture row). GEMM
// kernels read 4x4 operand blocks (texel buffer elements o.x .. o.w plus c as the columns of a
// mat4x4) with one loader per texture: textures cannot be function parameters on every backend
// (wgpu's OpenGL output has no image parameters).
fn texel_coord(i: u32) -> vec2<u32> {
  return vec2<u32>(i & 4095u, i >> 12u);
}

// Philox 4x32-10 (Salmon et al., 2011): counter-based, so element i of a stream is a pure
// function of (seed, stream, i) and every run with the same seed gives the same numbers.
fn philox4x32(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = counter;
  var k = key;
  for (var round = 0u; round < 10u; round++) {
    let lo0 = c.x * 0xD2511F53u;
    let hi0 = mul_hi(c.x, 0xD2511F53u);
    let lo1 = c.z * 0xCD9E8D57u;
    let hi1 = mul_hi(c.z, 0xCD9E8D57u);
    c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

fn mul_hi(a: u32, b: u32) -> u32 {
  let a_lo = a & 0xFFFFu;
  let a_hi = a >> 16u;
  let b_lo = b & 0xFFFFu;
  let b_hi = b >> 16u;
  let lo_lo = a_lo * b_lo;
  let hi_lo = a_hi * b_lo;
  let lo_hi = a_lo * b_hi;
  let hi_hi = a_hi * b_hi;
  let cross = (lo_lo >> 16u) + (hi_lo & 0xFFFFu) + (lo_hi & 0xFFFFu);
  return hi_hi + (hi_lo >> 16u) + (lo_hi >> 16u) + (cross >> 16u);
}

// Uniform float in [0, 1) from the top 24 bits.
fn u32_to_unit(x: u32) -> f32 {
  return f32(x >> 8u) * (1.0 / 16777216.0);
}
`,
  },
  conv2d: {
    path: "shaders/conv2d.wgsl",
    code: `// conv2d (NCHW, weight [Cout, Cin/groups, KH, KW]) as register-blocked implicit GEMMs.
//
// On llvmpipe loads, not FMAs, bound these kernels: it runs 8 invocations per SIMD row and
// turns a storage-buffer load into a loop over the lanes, while a texel fetch is one vector
// gather (1.3x at 8x8 tiles; it is what lets the large tiles below pay off). So the operands
// are first packed (shaders/pack.wgsl) into texel buffers (rgba32float textures,
// engine/buffers.ts) with the GEMM's K dimension contiguous in vec4s, and each
// invocation keeps a (4 BM) x (4 BN) tile of accumulators as BM x BN named 4x4 matrices
// (\`// #for\` blocks, expanded by engine/kernels.ts; arrays would live in memory), so one 4x4
// block of an operand feeds 64 FMAs. Packed layouts:
//   act: [group][rows + 1][k4] vec4s, an NCHW tensor as rows = (b, y, x) positions with the
//        group's channels contiguous (zero-padded to k4 * 4); the extra last row is all zero
//        and stands in for padding taps, so the K loop has no bounds checks.
//   wt:  [group][tap][rows][k4] vec4s, per tap the weight as rows of output channels
//        (forward) or input channels (input gradient), K = the other channel dimension.
//
//   conv_gemm, DX = 0 (forward):        M = Cout/g, N = B*OH*OW, K = (Cin/g) * KH*KW
//   conv_gemm, DX = 1 (input gradient): M = Cin/g,  N = B*H*W,   K = (Cout/g) * KH*KW
//   conv_dw (weight gradient):          M = Cout/g, N = KH*KW * Cin/g (tap-major), K = B*OH*OW
//
// The input gradient is phase-decomposed: input pixel (ih, iw) only receives taps with
// (ih + pad - kh * dil) divisible by the stride, so the N columns are grouped by the phase
// ((ih + pad) % stride_h, (iw + pad) % stride_w) and a workgroup, which handles one phase,
// skips the other taps (a stride-2 3x3 conv does 2.25 of 9 taps per pixel, not 9).
//
// Grid: (N blocks, M blocks, fold * (group, split, phase)). The workgroup's shape is a uniform
// (wg_x invocations along N, WG_SIZE / wg_x along M) so that layers of any width share one
// pipeline per tile size: llvmpipe takes ~13 s to compile one 8x4-tiled kernel. \`fold\` spreads N blocks over z when
// there are more than 65535 of them; \`splits\` cuts the K loop into chunks (llvmpipe stops an
// invocation after 65535 loop iterations) whose partial results go to dst[idx * splits + split]
// and are summed by a second pass (engine/ops/reduce.ts sumRows): deterministic, no atomics.

struct Params {
  batch: u32,
  cin: u32,
  height: u32,
  width: u32,
  cout: u32,
  out_h: u32,
  out_w: u32,
  cpg: u32,
  opg: u32,
  k_h: u32,
  k_w: u32,
  stride_h: u32,
  stride_w: u32,
  pad_h: u32,
  pad_w: u32,
  dil_h: u32,
  dil_w: u32,
  splits: u32,
  chunk: u32,
  has_bias: u32,
  n_total: u32,
  fold: u32,
  m_total: u32,
  k4: u32,
  act_rows: u32,
  a_rows: u32,
  g4: u32,
  g_rows: u32,
  col_blocks: u32,
  // input gradient: phases (stride_h * stride_w) and the per-phase grid of positions
  phases: u32,
  phase_h: u32,
  phase_w: u32,
  // invocations per workgroup row (the workgroup is WG_SIZE / wg_x rows of M by wg_x of N)
  wg_x: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var act_t: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var wt_t: texture_storage_2d<rgba32float, read>;
@group(0) @binding(3) var gp_t: texture_storage_2d<rgba32float, read>;
@group(0) @binding(4) var<storage, read> bias_in: array<f32>;
@group(0) @binding(5) var<storage, read_write> dst: array<f32>;

// ------------------------------------------------------------------------------- GEMM tiles

// What a workgroup works on: group, K split, input-gradient phase (rh, rw), N block.
struct Tile {
  grp: u32,
  split: u32,
  rh: u32,
  rw: u32,
  nblock: u32,
}

fn tile_of(wid: vec3<u32>, nwg: vec3<u32>) -> Tile {
  let fx = wid.z % params.fold;
  let gs = wid.z / params.fold;
  let phase = gs % params.phases;
  let gsp = gs / params.phases;
  return Tile(gsp / params.splits, gsp % params.splits, phase / params.stride_w, phase % params.stride_w, fx * nwg.x + wid.x);
}

// Four consecutive GEMM columns of conv_gemm: whether each exists, where its output element
// of channel 0 is, the row of its image in the packed operand, and per spatial axis the first
// input coordinate (forward: o * stride - pad) or the phase-local coordinate (input gradient:
// (i + pad) / stride).
struct Cols {
  valid: vec4<bool>,
  out: vec4<u32>,
  base: vec4<u32>,
  h: vec4<i32>,
  w: vec4<i32>,
  zero: u32,
}

fn columns(first: u32, t: Tile) -> Cols {
  var c: Cols;
  let nv = vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u);
  let n = min(nv, vec4<u32>(params.n_total - 1u));
  let gbase = t.grp * params.act_rows;
  c.zero = gbase + params.act_rows - 1u;
  if (DX == 0u) {
    let plane = params.out_h * params.out_w;
    let b = n / plane;
    let r = n % plane;
    c.valid = nv < vec4<u32>(params.n_total);
    c.out = b * (params.cout * plane) + r;
    c.base = vec4<u32>(gbase) + b * (params.height * params.width);
    c.h = vec4<i32>((r / params.out_w) * params.stride_h) - i32(params.pad_h);
    c.w = vec4<i32>((r % params.out_w) * params.stride_w) - i32(params.pad_w);
  } else {
    // Phase (rh, rw) holds the pixels with (i + pad) % stride == r: i = q * stride + r - pad for
    // q from the first one inside the image; phase_h x phase_w positions per image.
    let pp = params.phase_h * params.phase_w;
    let b = n / pp;
    let r = n % pp;
    let qh0 = select(0u, (params.pad_h - t.rh + params.stride_h - 1u) / params.stride_h, params.pad_h >= t.rh);
    let qw0 = select(0u, (params.pad_w - t.rw + params.stride_w - 1u) / params.stride_w, params.pad_w >= t.rw);
    let qh = r / params.phase_w + qh0;
    let qw = r % params.phase_w + qw0;
    let ih = qh * params.stride_h + t.rh - params.pad_h;
    let iw = qw * params.stride_w + t.rw - params.pad_w;
    c.valid = (nv < vec4<u32>(params.n_total)) & (ih < vec4<u32>(params.height)) & (iw < vec4<u32>(params.width));
    c.out = b * (params.cin * params.height * params.width) + ih * params.width + iw;
    c.base = vec4<u32>(gbase) + b * (params.out_h * params.out_w);
    c.h = vec4<i32>(qh);
    c.w = vec4<i32>(qw);
  }
  return c;
}

// Whether tap (kh, kw) reaches the workgroup's pixels (always, except in the input gradient).
fn tap_in_phase(t: Tile, kh: u32, kw: u32) -> bool {
  return DX == 0u || ((kh * params.dil_h) % params.stride_h == t.rh && (kw * params.dil_w) % params.stride_w == t.rw);
}

// vec4 offsets of the packed rows the four columns read at tap (kh, kw) (the zero row when the
// tap falls into padding).
fn tap_rows(c: Cols, kh: u32, kw: u32) -> vec4<u32> {
  var row: vec4<u32>;
  if (DX == 0u) {
    let ih = c.h + i32(kh * params.dil_h);
    let iw = c.w + i32(kw * params.dil_w);
    let ok = (vec4<u32>(ih) < vec4<u32>(params.height)) & (vec4<u32>(iw) < vec4<u32>(params.width));
    row = select(vec4<u32>(c.zero), c.base + vec4<u32>(ih) * params.width + vec4<u32>(iw), ok);
  } else {
    let oh = c.h - i32((kh * params.dil_h) / params.stride_h);
    let ow = c.w - i32((kw * params.dil_w) / params.stride_w);
    let ok = (vec4<u32>(oh) < vec4<u32>(params.out_h)) & (vec4<u32>(ow) < vec4<u32>(params.out_w));
    row = select(vec4<u32>(c.zero), c.base + vec4<u32>(oh) * params.out_w + vec4<u32>(ow), ok);
  }
  return row * params.k4;
}

// vec4 offsets of four consecutive A rows (clamped to the last row).
fn a_rows(abase: u32, first: u32) -> vec4<u32> {
  let m = min(vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.m_total - 1u));
  return (vec4<u32>(abase) + m) * params.k4;
}

// Texel-buffer blocks (shaders/common.wgsl texel_coord): texels o.x .. o.w plus c as columns.
fn act_block(o: vec4<u32>, c: u32) -> mat4x4<f32> {
  return mat4x4<f32>(
    textureLoad(act_t, texel_coord(o.x + c)),
    textureLoad(act_t, texel_coord(o.y + c)),
    textureLoad(act_t, texel_coord(o.z + c)),
    textureLoad(act_t, texel_coord(o.w + c)),
  );
}

fn wt_block(o: vec4<u32>, c: u32) -> mat4x4<f32> {
  return mat4x4<f32>(
    textureLoad(wt_t, texel_coord(o.x + c)),
    textureLoad(wt_t, texel_coord(o.y + c)),
    textureLoad(wt_t, texel_coord(o.z + c)),
    textureLoad(wt_t, texel_coord(o.w + c)),
  );
}

fn gp_block(o: vec4<u32>, c: u32) -> mat4x4<f32> {
  return mat4x4<f32>(
    textureLoad(gp_t, texel_coord(o.x + c)),
    textureLoad(gp_t, texel_coord(o.y + c)),
    textureLoad(gp_t, texel_coord(o.z + c)),
    textureLoad(gp_t, texel_coord(o.w + c)),
  );
}

// B block: columns = the four GEMM columns, rows = 4 consecutive K.
fn ld_act(o: vec4<u32>, c: u32) -> mat4x4<f32> {
  return act_block(o, c);
}

// A block: rows = four GEMM rows, columns = 4 consecutive K.
fn ld_wt(o: vec4<u32>, c: u32) -> mat4x4<f32> {
  return transpose(wt_block(o, c));
}

// Stores a 4x4 block: acc[j][i] is (row m + i, column j of \`c\`).
fn store_gemm(acc: mat4x4<f32>, m: u32, c: Cols, t: Tile) {
  var plane = params.out_h * params.out_w;
  var ch0 = t.grp * params.opg + m;
  if (DX == 1u) {
    plane = params.height * params.width;
    ch0 = t.grp * params.cpg + m;
  }
  for (var j = 0u; j < 4u; j++) {
    if (!c.valid[j]) {
      continue;
    }
    for (var i = 0u; i < 4u; i++) {
      if (m + i < params.m_total) {
        var v = acc[j][i];
        if (DX == 0u && params.has_bias != 0u && t.split == 0u) {
          v += bias_in[ch0 + i];
        }
        dst[(c.out[j] + (ch0 + i) * plane) * params.splits + t.split] = v;
      }
    }
  }
}

@compute @workgroup_size(WG_SIZE)
fn conv_gemm(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let t = tile_of(wid, nwg);
  let m0 = (wid.y * (WG_SIZE / params.wg_x) + lid.x / params.wg_x) * (4u * BM);
  let n0 = (t.nblock * params.wg_x + lid.x % params.wg_x) * (4u * BN);
  if (m0 >= params.m_total || n0 >= params.n_total) {
    return;
  }
  let c_begin = t.split * params.chunk;
  let c_end = min(c_begin + params.chunk, params.k4);
  // #for j < BN
  let col$j = columns(n0 + 4u * $j, t);
  // #end
  // #for i < BM, j < BN
  var acc$i_$j = mat4x4<f32>();
  // #end
  for (var kh = 0u; kh < params.k_h; kh++) {
    for (var kw = 0u; kw < params.k_w; kw++) {
      if (!tap_in_phase(t, kh, kw)) {
        continue;
      }
      let abase = (t.grp * params.k_h * params.k_w + kh * params.k_w + kw) * params.a_rows;
      // #for i < BM
      let ao$i = a_rows(abase, m0 + 4u * $i);
      // #end
      // #for j < BN
      let xo$j = tap_rows(col$j, kh, kw);
      // #end
      for (var c = c_begin; c < c_end; c++) {
        // #for i < BM
        let wa$i = ld_wt(ao$i, c);
        // #end
        // #for j < BN
        let xb$j = ld_act(xo$j, c);
        // #end
        // #for i < BM, j < BN
        acc$i_$j += wa$i * xb$j;
        // #end
      }
    }
  }
  // #for i < BM, j < BN
  store_gemm(acc$i_$j, m0 + 4u * $i, col$j, t);
  // #end
}

// ------------------------------------------------------------------------------- weight grad

// A block of the weight gradient: columns = 4 positions, rows = 4 output channels (g rows).
fn ld_pos_g(o: vec4<u32>, m4: u32) -> mat4x4<f32> {
  return gp_block(o, min(m4, params.g4 - 1u));
}

// B block: columns = 4 positions, rows = 4 input channels (x rows shifted by the tap).
fn ld_pos_x(o: vec4<u32>, c4: u32) -> mat4x4<f32> {
  return act_block(o, min(c4, params.k4 - 1u));
}

// Stores a 4x4 block of dw: acc[j][i] is (output channel m + i, input channel c + j).
fn store_dw(acc: mat4x4<f32>, m: u32, c: u32, tap: u32, t: Tile) {
  let kk = params.k_h * params.k_w;
  for (var j = 0u; j < 4u; j++) {
    let v = acc[j];
    if (c + j < params.cpg) {
      for (var i = 0u; i < 4u; i++) {
        if (m + i < params.opg) {
          let idx = ((t.grp * params.opg + m + i) * params.cpg + c + j) * kk + tap;
          dst[idx * params.splits + t.split] = v[i];
        }
      }
    }
  }
}

// An output position (b, oh, ow) of the weight gradient's K loop.
struct Walk {
  b: u32,
  oh: u32,
  ow: u32,
}

fn next_pos(w: Walk) -> Walk {
  let wrap_w = w.ow + 1u == params.out_w;
  let oh = w.oh + select(0u, 1u, wrap_w);
  let wrap_h = oh == params.out_h;
  return Walk(w.b + select(0u, 1u, wrap_h), select(oh, 0u, wrap_h), select(w.ow + 1u, 0u, wrap_w));
}

// Where a tap of the weight gradient reads x: offsets from o * stride and the packed rows.
struct XRows {
  dh: i32,
  dw: i32,
  base: u32,
  zero: u32,
}

// vec4 offset of the packed x row that output position \`w\` reads at this tap (zero row when
// outside the image or when \`ok\` is false).
fn x_row(a: XRows, w: Walk, ok: bool) -> u32 {
  let ih = i32(w.oh * params.stride_h) + a.dh;
  let iw = i32(w.ow * params.stride_w) + a.dw;
  let inside = ok && u32(ih) < params.height && u32(iw) < params.width;
  let row = a.base + (w.b * params.height + u32(ih)) * params.width + u32(iw);
  return select(a.zero, row, inside) * params.k4;
}

@compute @workgroup_size(WG_SIZE)
fn conv_dw(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let t = tile_of(wid, nwg);
  let kk = params.k_h * params.k_w;
  let m0 = (wid.y * (WG_SIZE / params.wg_x) + lid.x / params.wg_x) * (4u * BM);
  let cb = t.nblock * params.wg_x + lid.x % params.wg_x;
  if (m0 >= params.opg || cb >= params.col_blocks * kk) {
    return;
  }
  let tap = min(cb / params.col_blocks, kk - 1u);
  let c0 = (cb % params.col_blocks) * (4u * BN);
  let dh = i32((tap / params.k_w) * params.dil_h) - i32(params.pad_h);
  let dw = i32((tap % params.k_w) * params.dil_w) - i32(params.pad_w);
  let gm4 = m0 / 4u;
  let xc4 = c0 / 4u;
  let p_begin = t.split * params.chunk;
  let p_end = min(p_begin + params.chunk, params.n_total);
  let plane = params.out_h * params.out_w;
  var pos = Walk(p_begin / plane, (p_begin % plane) / params.out_w, p_begin % params.out_w);
  let x_at = XRows(dh, dw, t.grp * params.act_rows, t.grp * params.act_rows + params.act_rows - 1u);
  let gbase = t.grp * params.g_rows;
  let gzero = gbase + params.g_rows - 1u;
  // #for i < BM, j < BN
  var acc$i_$j = mat4x4<f32>();
  // #end
  for (var p = p_begin; p < p_end; p += 4u) {
    // Four consecutive positions; those past the chunk read zero rows.
    let ok = vec4<u32>(p) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(p_end);
    let grow = select(vec4<u32>(gzero), vec4<u32>(gbase + p) + vec4<u32>(0u, 1u, 2u, 3u), ok) * params.g4;
    let pos1 = next_pos(pos);
    let pos2 = next_pos(pos1);
    let pos3 = next_pos(pos2);
    let xrow = vec4<u32>(x_row(x_at, pos, ok.x), x_row(x_at, pos1, ok.y), x_row(x_at, pos2, ok.z), x_row(x_at, pos3, ok.w));
    pos = next_pos(pos3);
    // #for i < BM
    let ga$i = ld_pos_g(grow, gm4 + $i);
    // #end
    // #for j < BN
    let xb$j = transpose(ld_pos_x(xrow, xc4 + $j));
    // #end
    // #for i < BM, j < BN
    acc$i_$j += ga$i * xb$j;
    // #end
  }
  // #for i < BM, j < BN
  store_dw(acc$i_$j, m0 + 4u * $i, c0 + 4u * $j, tap, t);
  // #end
}

// ------------------------------------------------------------------ workgroup-memory kernels
//
// The GPU-shaped family: a workgroup of SM_T x SM_T invocations computes a (4 SM_T) x (4 SM_T)
// block of the GEMM, 4x4 outputs per invocation. Per K step the workgroup stages the block's A
// and B values in workgroup memory, one texel per invocation and load (SM_LOADS = 16 / SM_T
// loads each; consecutive invocations read consecutive texels of a packed row), then every
// invocation reads its rows and columns from there. Same packed operands, splits, phases and
// stores as the register-blocked kernels above; the autotuner picks a family per shape.
// All loops that contain barriers depend only on the workgroup id and uniforms (uniform control
// flow); invocations past the GEMM's edges stage clamped or zero values and skip their stores.

const SM_BLOCK: u32 = 4u * SM_T;
// conv_gemm_shared: K texels (4 channels each) per step; staged rows are padded by one texel so
// the invocations of a row read different memory banks.
const SM_BK4: u32 = 4u; // (the repeat below unrolls this many steps)
const SM_ROW: u32 = SM_BK4 + 1u;
// conv_dw_shared: output positions per step (staged as [position][SM_T texels]).
const SM_POS: u32 = 16u; // (the repeat below unrolls this many steps)

var<workgroup> sm_a: array<vec4<f32>, SM_BLOCK * SM_ROW>;
var<workgroup> sm_b: array<vec4<f32>, SM_BLOCK * SM_ROW>;

// The 4 x 4 block of staged K-texels rows r .. r + 3 at K texel c (columns = rows).
fn sm_rows_a(r: u32, c: u32) -> mat4x4<f32> {
  return mat4x4<f32>(sm_a[r * SM_ROW + c], sm_a[(r + 1u) * SM_ROW + c], sm_a[(r + 2u) * SM_ROW + c], sm_a[(r + 3u) * SM_ROW + c]);
}

fn sm_rows_b(r: u32, c: u32) -> mat4x4<f32> {
  return mat4x4<f32>(sm_b[r * SM_ROW + c], sm_b[(r + 1u) * SM_ROW + c], sm_b[(r + 2u) * SM_ROW + c], sm_b[(r + 3u) * SM_ROW + c]);
}

@compute @workgroup_size(SM_T, SM_T, 1)
fn conv_gemm_shared(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let t = tile_of(wid, nwg);
  let m_base = wid.y * SM_BLOCK;
  let n_base = t.nblock * SM_BLOCK;
  if (m_base >= params.m_total || n_base >= params.n_total) {
    return;
  }
  let tid = lid.y * SM_T + lid.x;
  let c_begin = t.split * params.chunk;
  let c_end = min(c_begin + params.chunk, params.k4);
  // Staging unit v = tid + l * SM_T * SM_T: row (of A) and column (of B) v / SM_BK4 of the
  // block, K texel v % SM_BK4 of the step.
  // #for l < SM_LOADS
  let sr$l = (tid + $l * SM_T * SM_T) / SM_BK4;
  let sc$l = (tid + $l * SM_T * SM_T) % SM_BK4;
  let scol$l = columns(n_base + (sr$l & ~3u), t);
  // #end
  var acc = mat4x4<f32>();
  for (var kh = 0u; kh < params.k_h; kh++) {
    for (var kw = 0u; kw < params.k_w; kw++) {
      if (!tap_in_phase(t, kh, kw)) {
        continue;
      }
      let abase = (t.grp * params.k_h * params.k_w + kh * params.k_w + kw) * params.a_rows;
      // #for l < SM_LOADS
      let ao$l = a_rows(abase, m_base + (sr$l & ~3u))[sr$l & 3u];
      let xo$l = tap_rows(scol$l, kh, kw)[sr$l & 3u];
      // #end
      for (var c0 = c_begin; c0 < c_end; c0 += SM_BK4) {
        // #for l < SM_LOADS
        let k$l = c0 + sc$l;
        sm_a[sr$l * SM_ROW + sc$l] = select(vec4<f32>(), textureLoad(wt_t, texel_coord(ao$l + k$l)), k$l < c_end);
        sm_b[sr$l * SM_ROW + sc$l] = select(vec4<f32>(), textureLoad(act_t, texel_coord(xo$l + k$l)), k$l < c_end);
        // #end
        workgroupBarrier();
        // #for c < 4
        acc += transpose(sm_rows_a(lid.y * 4u, $c)) * sm_rows_b(lid.x * 4u, $c);
        // #end
        workgroupBarrier();
      }
    }
  }
  store_gemm(acc, m_base + lid.y * 4u, columns(n_base + lid.x * 4u, t), t);
}

@compute @workgroup_size(SM_T, SM_T, 1)
fn conv_dw_shared(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let t = tile_of(wid, nwg);
  let kk = params.k_h * params.k_w;
  // x: tap-major blocks of input channels; y: blocks of output channels.
  let m_base = wid.y * SM_BLOCK;
  if (m_base >= params.opg || t.nblock >= params.col_blocks * kk) {
    return;
  }
  let tid = lid.y * SM_T + lid.x;
  let tap = t.nblock / params.col_blocks;
  let c_base = (t.nblock % params.col_blocks) * SM_BLOCK;
  let dh = i32((tap / params.k_w) * params.dil_h) - i32(params.pad_h);
  let dw = i32((tap % params.k_w) * params.dil_w) - i32(params.pad_w);
  let x_at = XRows(dh, dw, t.grp * params.act_rows, t.grp * params.act_rows + params.act_rows - 1u);
  let gbase = t.grp * params.g_rows;
  let gzero = gbase + params.g_rows - 1u;
  let plane = params.out_h * params.out_w;
  let p_begin = t.split * params.chunk;
  let p_end = min(p_begin + params.chunk, params.n_total);
  // Staging unit v = tid + l * SM_T * SM_T: position v / SM_T of the step, texel v % SM_T of
  // the block's output channels (A, from g) and input channels (B, from x).
  // #for l < SM_LOADS
  let sp$l = (tid + $l * SM_T * SM_T) / SM_T;
  let sv$l = (tid + $l * SM_T * SM_T) % SM_T;
  let gv$l = min(m_base / 4u + sv$l, params.g4 - 1u);
  let xv$l = min(c_base / 4u + sv$l, params.k4 - 1u);
  // #end
  var acc = mat4x4<f32>();
  for (var p0 = p_begin; p0 < p_end; p0 += SM_POS) {
    // #for l < SM_LOADS
    let p$l = p0 + sp$l;
    let ok$l = p$l < p_end;
    let pos$l = Walk(p$l / plane, (p$l % plane) / params.out_w, p$l % params.out_w);
    let grow$l = select(gzero, gbase + p$l, ok$l) * params.g4;
    sm_a[sp$l * SM_T + sv$l] = textureLoad(gp_t, texel_coord(grow$l + gv$l));
    sm_b[sp$l * SM_T + sv$l] = textureLoad(act_t, texel_coord(x_row(x_at, pos$l, ok$l) + xv$l));
    // #end
    workgroupBarrier();
    // #for q < 16
    let a$q = sm_a[$q * SM_T + lid.y];
    let b$q = sm_b[$q * SM_T + lid.x];
    acc += mat4x4<f32>(a$q * b$q.x, a$q * b$q.y, a$q * b$q.z, a$q * b$q.w);
    // #end
    workgroupBarrier();
  }
  store_dw(acc, m_base + lid.y * 4u, c_base + lid.x * 4u, tap, t);
}
`,
  },
  elementwise: {
    path: "shaders/elementwise.wgsl",
    code: `// Elementwise kernels (binary ops read src and rhs). OP (a compile-time constant) selects the function, so each op gets its
// own specialised pipeline with no runtime branching. Op codes match engine/ops/elementwise.ts.
// The \`*4\` entries do four elements per thread through vec4 bindings (sizes divisible by 4),
// a quarter of the threads and load instructions.

struct Params {
  n: u32,
  // fill: the raw bits of the value
  bits: u32,
  // parameter of leaky_relu (slope), scale (factor), clamp_min (min), huber (beta), add_scalar
  alpha: f32,
  rank: u32,
  // broadcasting binary ops: output shape and per-operand element strides (0 = broadcast)
  shape: array<vec4<u32>, 2>,
  a_strides: array<vec4<u32>, 2>,
  b_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> rhs: array<f32>;
@group(0) @binding(3) var<storage, read> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst_bits: array<u32>;
@group(0) @binding(5) var<storage, read_write> dst: array<f32>;
@group(0) @binding(6) var<storage, read> src4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> rhs4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> grad4: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read_write> dst4: array<vec4<f32>>;

const NEG: u32 = 0u;
const EXP: u32 = 1u;
const LOG: u32 = 2u;
const SQRT: u32 = 3u;
const RELU: u32 = 4u;
const LEAKY_RELU: u32 = 5u;
const SILU: u32 = 6u;
const GELU: u32 = 7u;
const SIGMOID: u32 = 8u;
const TANH: u32 = 9u;
const SCALE: u32 = 10u;
const ABS: u32 = 11u;
const SQUARE: u32 = 12u;
const CLAMP_MIN: u32 = 13u;
const HUBER: u32 = 14u;
const ADD_SCALAR: u32 = 15u;

const ADD: u32 = 0u;
const SUB: u32 = 1u;
const MUL: u32 = 2u;
const DIV: u32 = 3u;

// erf with |error| < 1.2e-7 (Numerical Recipes erfc, Chebyshev fit); WGSL has no erf.
fn erf_approx(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277)))))))));
  return select(r - 1.0, 1.0 - r, x >= 0.0);
}

fn sigmoid(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}

// NaN test on the bits: comparisons with NaN may be folded away by a driver's fast-math.
fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// clamp() and max() may turn NaN into a number; these keep it, so a diverged model's outputs
// and loss stay NaN and the trainer notices.
fn keep_nan(result: f32, x: f32) -> f32 {
  return select(result, x, is_nan(x));
}

fn stable_tanh(x: f32) -> f32 {
  // tanh() of large |x| returns NaN on some drivers; saturate explicitly.
  let c = clamp(x, -15.0, 15.0);
  let e = exp(2.0 * c);
  return keep_nan((e - 1.0) / (e + 1.0), x);
}

fn forward(x: f32) -> f32 {
  let alpha = params.alpha;
  switch OP {
    case NEG: { return -x; }
    case EXP: { return exp(x); }
    case LOG: { return log(x); }
    case SQRT: { return sqrt(x); }
    case RELU: { return keep_nan(max(x, 0.0), x); }
    case LEAKY_RELU: { return select(x * alpha, x, x > 0.0); }
    case SILU: { return x * sigmoid(x); }
    case GELU: { return 0.5 * x * (1.0 + erf_approx(x * 0.7071067811865476)); }
    case SIGMOID: { return sigmoid(x); }
    case TANH: { return stable_tanh(x); }
    case SCALE: { return x * alpha; }
    case ABS: { return abs(x); }
    case SQUARE: { return x * x; }
    case CLAMP_MIN: { return keep_nan(max(x, alpha), x); }
    case HUBER: { return select(abs(x) - 0.5 * alpha, 0.5 * x * x / alpha, abs(x) < alpha); }
    case ADD_SCALAR: { return x + alpha; }
    default: { return x; }
  }
}

// d forward(x) / dx
fn derivative(x: f32) -> f32 {
  let alpha = params.alpha;
  switch OP {
    case NEG: { return -1.0; }
    case EXP: { return exp(x); }
    case LOG: { return 1.0 / x; }
    case SQRT: { return 0.5 / sqrt(x); }
    case RELU: { return select(0.0, 1.0, x > 0.0); }
    case LEAKY_RELU: { return select(alpha, 1.0, x > 0.0); }
    case SILU: { let s = sigmoid(x); return s * (1.0 + x * (1.0 - s)); }
    case GELU: {
      let cdf = 0.5 * (1.0 + erf_approx(x * 0.7071067811865476));
      return cdf + x * 0.3989422804014327 * exp(-0.5 * x * x);
    }
    case SIGMOID: { let s = sigmoid(x); return s * (1.0 - s); }
    case TANH: { let t = stable_tanh(x); return 1.0 - t * t; }
    case SCALE: { return alpha; }
    case ABS: { return sign(x); }
    case SQUARE: { return 2.0 * x; }
    case CLAMP_MIN: { return select(0.0, 1.0, x >= alpha); }
    case HUBER: { return select(sign(x), x / alpha, abs(x) < alpha); }
    default: { return 1.0; }
  }
}

fn apply(x: f32, y: f32) -> f32 {
  switch OP {
    case ADD: { return x + y; }
    case SUB: { return x - y; }
    case MUL: { return x * y; }
    case DIV: { return x / y; }
    default: { return x; }
  }
}

fn dim(v: array<vec4<u32>, 2>, d: u32) -> u32 {
  return v[d / 4u][d % 4u];
}

@compute @workgroup_size(WG)
fn fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  dst_bits[i] = params.bits;
}

@compute @workgroup_size(WG)
fn unary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  dst[i] = forward(src[i]);
}

// dst = grad * forward'(src)
@compute @workgroup_size(WG)
fn unary_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  dst[i] = grad[i] * derivative(src[i]);
}

// Same-shape operands: no index arithmetic.
@compute @workgroup_size(WG)
fn binary_same(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  dst[i] = apply(src[i], rhs[i]);
}

@compute @workgroup_size(WG)
fn unary4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  let x = src4[i];
  dst4[i] = vec4<f32>(forward(x.x), forward(x.y), forward(x.z), forward(x.w));
}

@compute @workgroup_size(WG)
fn unary_grad4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  let x = src4[i];
  dst4[i] = grad4[i] * vec4<f32>(derivative(x.x), derivative(x.y), derivative(x.z), derivative(x.w));
}

@compute @workgroup_size(WG)
fn binary_same4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  let a = src4[i];
  let b = rhs4[i];
  dst4[i] = vec4<f32>(apply(a.x, b.x), apply(a.y, b.y), apply(a.z, b.z), apply(a.w, b.w));
}

@compute @workgroup_size(WG)
fn axpy4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  dst4[i] += params.alpha * src4[i];
}

@compute @workgroup_size(WG)
fn binary_broadcast(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  var rest = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = params.rank; d > 0u; d--) {
    let size = dim(params.shape, d - 1u);
    let idx = rest % size;
    rest = rest / size;
    ia += idx * dim(params.a_strides, d - 1u);
    ib += idx * dim(params.b_strides, d - 1u);
  }
  dst[i] = apply(src[ia], rhs[ib]);
}

// In place: dst += alpha * src (parameter updates; dst is bound read_write).
@compute @workgroup_size(WG)
fn axpy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  dst[i] += params.alpha * src[i];
}

// Broadcasting binary op over at most three collapsed dims [d0, d1, d2], one thread per element
// on a 3-D grid: the thread's coordinates are the index, so no integer division is needed
// (llvmpipe divides slowly). shape = [d0, d1, d2]; strides per operand, 0 where broadcast.
@compute @workgroup_size(WG)
fn binary_3d(@builtin(global_invocation_id) gid: vec3<u32>) {
  let d2 = params.shape[0].z;
  if (gid.x >= d2) { return; }
  let sa = params.a_strides[0];
  let sb = params.b_strides[0];
  let ia = gid.z * sa.x + gid.y * sa.y + gid.x * sa.z;
  let ib = gid.z * sb.x + gid.y * sb.y + gid.x * sb.z;
  dst[(gid.z * params.shape[0].y + gid.y) * d2 + gid.x] = apply(src[ia], rhs[ib]);
}

// binary_3d with four consecutive outputs per thread (d2 a multiple of 4; each operand's
// innermost stride 0, a broadcast, or 1). Grid x counts vec4s.
@compute @workgroup_size(WG)
fn binary_3d4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let d2 = params.shape[0].z;
  let x = gid.x * 4u;
  if (x >= d2) { return; }
  let sa = params.a_strides[0];
  let sb = params.b_strides[0];
  let ia = gid.z * sa.x + gid.y * sa.y + x * sa.z;
  let ib = gid.z * sb.x + gid.y * sb.y + x * sb.z;
  let a = vec4<f32>(src[ia], src[ia + sa.z], src[ia + 2u * sa.z], src[ia + 3u * sa.z]);
  let b = vec4<f32>(rhs[ib], rhs[ib + sb.z], rhs[ib + 2u * sb.z], rhs[ib + 3u * sb.z]);
  dst4[((gid.z * params.shape[0].y + gid.y) * d2 + x) / 4u] = vec4<f32>(apply(a.x, b.x), apply(a.y, b.y), apply(a.z, b.z), apply(a.w, b.w));
}

// Fused residual activation: dst = forward(src + rhs) for same-shape operands (addSilu: OP is
// SILU), one pass instead of an add and a unary op.
@compute @workgroup_size(WG)
fn add_unary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  dst[i] = forward(src[i] + rhs[i]);
}

@compute @workgroup_size(WG)
fn add_unary4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  let z = src4[i] + rhs4[i];
  dst4[i] = vec4<f32>(forward(z.x), forward(z.y), forward(z.z), forward(z.w));
}

// Its backward: dst = grad * forward'(src + rhs), the gradient of both operands. The sum is
// recomputed (one more read) rather than stored by the forward (one more write and tensor).
@compute @workgroup_size(WG)
fn add_unary_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  dst[i] = grad[i] * derivative(src[i] + rhs[i]);
}

@compute @workgroup_size(WG)
fn add_unary_grad4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  let z = src4[i] + rhs4[i];
  dst4[i] = grad4[i] * vec4<f32>(derivative(z.x), derivative(z.y), derivative(z.z), derivative(z.w));
}
`,
  },
  gate: {
    path: "shaders/gate.wgsl",
    code: `// Squeeze-excitation channel gate: y = x * (0.5 + 0.5 * sigmoid(s)) for x [rows, inner] (rows =
// N * C, inner = H * W) and one logit s[row] per channel. Forward and input gradient are one
// pass each; the backward pass also sums grad * x per row, in \`parts\` chunks of at most part_len
// elements per thread (llvmpipe's loop budget), which gate_finalize combines in a fixed order.
// The \`*4\` entries take vec4s (inner % 4 == 0); inner and part_len are then in vec4 units.

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
`,
  },
  gather: {
    path: "shaders/gather.wgsl",
    code: `// Row gather: dst row \`row\` (or row dst_idx[row] when \`scatter\` is 1) receives source row
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
`,
  },
  layout: {
    path: "shaders/layout.wgsl",
    code: `// Data movement: one strided copy covers permute, slice, concat, expand (broadcast) and the
// scatter of a slice's gradient. out[out_offset + sum(i_d * out_strides_d)] =
// src[in_offset + sum(i_d * in_strides_d)] for every index i of \`shape\`.

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
`,
  },
  matmul: {
    path: "shaders/matmul.wgsl",
    code: `// Batched matmul C[b] = A[b] @ B[b] (+ bias[n]).
//
// On llvmpipe loads, not FMAs, bound this kernel (see conv2d.wgsl): \`matmul\` reads operands
// packed into texel buffers (shaders/pack.wgsl, engine/buffers.ts) with K contiguous in vec4s,
// A as rows of M and B as rows of N (B transposed), or, when an operand is a plain row-major
// matrix with M (N) contiguous and K, M (N) multiples of 4 (A_MN_MAJOR, B_MN_MAJOR), copied as
// it is: then one texel holds 4 rows at one K and the kernel transposes the block instead
// (free in registers). It keeps a (4 BM) x (4 BN) tile of C per invocation in BM x BN named 4x4
// matrices, so one 4x4 block of an operand feeds 64 FMAs. Packing zeroes the K padding, so the K
// loop has no bounds checks; a row index past the edge is clamped and its results are never
// stored.
//
// Long K is split into \`splits\` chunks of k4 (vec4 steps; llvmpipe stops an invocation after
// 65535 loop iterations) written to dst[idx * splits + split], summed by a second pass.
// \`matmul_scalar\` is the plain strided kernel, kept for tiny problems (a pack dispatch costs
// more than the product).

struct Params {
  m: u32,
  n: u32,
  k: u32,
  splits: u32,
  // matmul: vec4 count of K, K chunk per split, texel offsets between batches of A and B
  k4: u32,
  chunk: u32,
  a_batch: u32,
  b_batch: u32,
  // matmul_scalar: element strides; K range of split s is [s * k_chunk, (s + 1) * k_chunk)
  k_chunk: u32,
  a_stride_m: u32,
  a_stride_k: u32,
  a_stride_batch: u32,
  b_stride_k: u32,
  b_stride_n: u32,
  b_stride_batch: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> lhs: array<f32>;
@group(0) @binding(2) var<storage, read> rhs: array<f32>;
@group(0) @binding(3) var lhs_t: texture_storage_2d<rgba32float, read>;
@group(0) @binding(4) var rhs_t: texture_storage_2d<rgba32float, read>;
@group(0) @binding(5) var<storage, read> bias_in: array<f32>;
@group(0) @binding(6) var<storage, read_write> dst: array<f32>;

// ------------------------------------------------------------------------------- vec4 GEMM

// Texel offsets (at K step 0) of a 4-row block starting at row \`first\` of an operand with
// \`rows\` rows. K-major (packed): one texel per row and K step, rows k4 texels apart. Row-major
// over K (MN_MAJOR, a plain row-major [K, rows] matrix copied as is): one texel holds the 4 rows,
// the four offsets are 4 consecutive K rows of rows / 4 texels each.
fn block_offsets(base: u32, first: u32, rows: u32, mn_major: bool) -> vec4<u32> {
  if (mn_major) {
    let r4 = min(first, rows - 1u) / 4u;
    return vec4<u32>(base + r4) + vec4<u32>(0u, 1u, 2u, 3u) * (rows / 4u);
  }
  let r = min(vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(rows - 1u));
  return vec4<u32>(base) + r * params.k4;
}

// Texels between K steps of an operand with \`rows\` rows.
fn k_step(rows: u32, mn_major: bool) -> u32 {
  return select(1u, rows, mn_major);
}

// 4 rows of A x 4 K values, as an (m x k) matrix.
fn ld_a(o: vec4<u32>, c: u32) -> mat4x4<f32> {
  let t = mat4x4<f32>(
    textureLoad(lhs_t, texel_coord(o.x + c)),
    textureLoad(lhs_t, texel_coord(o.y + c)),
    textureLoad(lhs_t, texel_coord(o.z + c)),
    textureLoad(lhs_t, texel_coord(o.w + c)),
  );
  if (A_MN_MAJOR) {
    return t;
  }
  return transpose(t);
}

// 4 K values x 4 columns of B, as a (k x n) matrix.
fn ld_b(o: vec4<u32>, c: u32) -> mat4x4<f32> {
  let t = mat4x4<f32>(
    textureLoad(rhs_t, texel_coord(o.x + c)),
    textureLoad(rhs_t, texel_coord(o.y + c)),
    textureLoad(rhs_t, texel_coord(o.z + c)),
    textureLoad(rhs_t, texel_coord(o.w + c)),
  );
  if (B_MN_MAJOR) {
    return transpose(t);
  }
  return t;
}

// Stores a 4x4 block: acc[j][i] is (row m + i, column n + j).
fn store(acc: mat4x4<f32>, m: u32, n: u32, batch: u32, split: u32) {
  for (var j = 0u; j < 4u; j++) {
    if (n + j >= params.n) {
      return;
    }
    var bias = 0.0;
    if (HAS_BIAS && split == 0u) {
      bias = bias_in[n + j];
    }
    for (var i = 0u; i < 4u; i++) {
      if (m + i < params.m) {
        dst[((batch * params.m + m + i) * params.n + n + j) * params.splits + split] = acc[j][i] + bias;
      }
    }
  }
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * (4u * BM);
  let n0 = gid.x * (4u * BN);
  let batch = gid.z / params.splits;
  let split = gid.z % params.splits;
  if (m0 >= params.m || n0 >= params.n) {
    return;
  }
  let c_begin = split * params.chunk;
  let c_end = min(c_begin + params.chunk, params.k4);
  let a_step = k_step(params.m, A_MN_MAJOR);
  let b_step = k_step(params.n, B_MN_MAJOR);
  // #for i < BM
  let ao$i = block_offsets(batch * params.a_batch, m0 + 4u * $i, params.m, A_MN_MAJOR);
  // #end
  // #for j < BN
  let bo$j = block_offsets(batch * params.b_batch, n0 + 4u * $j, params.n, B_MN_MAJOR);
  // #end
  // #for i < BM, j < BN
  var acc$i_$j = mat4x4<f32>();
  // #end
  for (var c = c_begin; c < c_end; c++) {
    // #for i < BM
    let a$i = ld_a(ao$i, c * a_step);
    // #end
    // #for j < BN
    let b$j = ld_b(bo$j, c * b_step);
    // #end
    // #for i < BM, j < BN
    acc$i_$j += a$i * b$j;
    // #end
  }
  // #for i < BM, j < BN
  store(acc$i_$j, m0 + 4u * $i, n0 + 4u * $j, batch, split);
  // #end
}

// ------------------------------------------------------------------------------- scalar GEMM

// A 4x4 tile of C per invocation, straight from the strided operands.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_scalar(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 4u;
  let batch = gid.z / params.splits;
  let split = gid.z % params.splits;
  if (m0 >= params.m || n0 >= params.n) { return; }

  // Rows/columns past the edge read a valid clamped address; their results are never stored.
  var a_row: array<u32, 4>;
  var b_col: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) {
    a_row[i] = batch * params.a_stride_batch + min(m0 + i, params.m - 1u) * params.a_stride_m;
  }
  for (var j = 0u; j < 4u; j++) {
    b_col[j] = batch * params.b_stride_batch + min(n0 + j, params.n - 1u) * params.b_stride_n;
  }

  var acc: array<array<f32, 4>, 4>;
  let k_begin = split * params.k_chunk;
  let k_end = min(k_begin + params.k_chunk, params.k);
  for (var kk = k_begin; kk < k_end; kk++) {
    let ak = kk * params.a_stride_k;
    let bk = kk * params.b_stride_k;
    var av: array<f32, 4>;
    var bv: array<f32, 4>;
    for (var i = 0u; i < 4u; i++) { av[i] = lhs[a_row[i] + ak]; }
    for (var j = 0u; j < 4u; j++) { bv[j] = rhs[b_col[j] + bk]; }
    for (var i = 0u; i < 4u; i++) {
      for (var j = 0u; j < 4u; j++) {
        acc[i][j] = fma(av[i], bv[j], acc[i][j]);
      }
    }
  }

  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= params.m) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n >= params.n) { break; }
      var v = acc[i][j];
      if (HAS_BIAS && split == 0u) { v += bias_in[n]; }
      let at = (batch * params.m + m) * params.n + n;
      dst[at * params.splits + split] = v;
    }
  }
}
`,
  },
  matmul_shared: {
    path: "shaders/matmul_shared.wgsl",
    code: `// Batched matmul C[b] = A[b] @ B[b] (+ bias[n]) with workgroup-memory tiles, the layout real GPUs
// want: a workgroup of SM_T x SM_T invocations computes a (4 SM_T) x (4 SM_T) block of C, each
// invocation a 4x4 register tile. Per step of BK along K the workgroup stages the A and B blocks
// it needs in workgroup memory (each value read from memory once, coalesced along the operand's
// contiguous dimension), then every invocation reads its rows and columns from there as vec4s.
// Operands are read through element strides, as they are (no packing). On llvmpipe barriers make
// this slower than the texel-buffer kernel; the autotuner decides per adapter.
//
// Long K is split like \`matmul\` (shaders/matmul.wgsl): split s covers [s * k_chunk, (s + 1) *
// k_chunk) and writes dst[idx * splits + s]; a second pass sums. Values past an edge are staged
// as zeros, so the inner loop has no bounds checks.

struct Params {
  m: u32,
  n: u32,
  k: u32,
  splits: u32,
  k_chunk: u32,
  a_stride_m: u32,
  a_stride_k: u32,
  a_stride_batch: u32,
  b_stride_k: u32,
  b_stride_n: u32,
  b_stride_batch: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> lhs: array<f32>;
@group(0) @binding(2) var<storage, read> rhs: array<f32>;
@group(0) @binding(3) var<storage, read> bias_in: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;

const BLOCK: u32 = 4u * SM_T;
// vec4s each invocation stages per operand and K step (BK is a multiple of SM_T).
const LOADS: u32 = BK / SM_T;

// Staged blocks, [BK][SM_T] vec4s: row kk holds the block's 4 SM_T M (N) values at K step kk.
var<workgroup> a_s: array<vec4<f32>, BK * SM_T>;
var<workgroup> b_s: array<vec4<f32>, BK * SM_T>;

// Value (row, k) of an operand, zero past the edges.
fn load_a(base: u32, row: u32, k: u32, k_end: u32) -> f32 {
  if (row >= params.m || k >= k_end) { return 0.0; }
  return lhs[base + row * params.a_stride_m + k * params.a_stride_k];
}

fn load_b(base: u32, col: u32, k: u32, k_end: u32) -> f32 {
  if (col >= params.n || k >= k_end) { return 0.0; }
  return rhs[base + k * params.b_stride_k + col * params.b_stride_n];
}

@compute @workgroup_size(SM_T, SM_T, 1)
fn matmul_shared(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let batch = wid.z / params.splits;
  let split = wid.z % params.splits;
  let m_base = wid.y * BLOCK;
  let n_base = wid.x * BLOCK;
  let tid = lid.y * SM_T + lid.x;
  let a_base = batch * params.a_stride_batch;
  let b_base = batch * params.b_stride_batch;
  let k_begin = split * params.k_chunk;
  let k_end = min(k_begin + params.k_chunk, params.k);

  var acc: array<vec4<f32>, 4>;
  for (var k0 = k_begin; k0 < k_end; k0 += BK) {
    for (var l = 0u; l < LOADS; l++) {
      // Consecutive invocations take consecutive K for A (contiguous in a row-major A) and
      // consecutive columns for B (contiguous in a row-major B).
      let v = tid + l * SM_T * SM_T;
      let ak = k0 + v % BK;
      let am = m_base + (v / BK) * 4u;
      a_s[(v % BK) * SM_T + v / BK] = vec4<f32>(
        load_a(a_base, am, ak, k_end),
        load_a(a_base, am + 1u, ak, k_end),
        load_a(a_base, am + 2u, ak, k_end),
        load_a(a_base, am + 3u, ak, k_end),
      );
      let bk = k0 + v / SM_T;
      let bn = n_base + (v % SM_T) * 4u;
      b_s[v] = vec4<f32>(
        load_b(b_base, bn, bk, k_end),
        load_b(b_base, bn + 1u, bk, k_end),
        load_b(b_base, bn + 2u, bk, k_end),
        load_b(b_base, bn + 3u, bk, k_end),
      );
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let a = a_s[kk * SM_T + lid.y];
      let b = b_s[kk * SM_T + lid.x];
      acc[0] = fma(vec4<f32>(a.x), b, acc[0]);
      acc[1] = fma(vec4<f32>(a.y), b, acc[1]);
      acc[2] = fma(vec4<f32>(a.z), b, acc[2]);
      acc[3] = fma(vec4<f32>(a.w), b, acc[3]);
    }
    workgroupBarrier();
  }

  let m0 = m_base + lid.y * 4u;
  let n0 = n_base + lid.x * 4u;
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= params.m) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n >= params.n) { break; }
      var v = acc[i][j];
      if (HAS_BIAS && split == 0u) { v += bias_in[n]; }
      let at = (batch * params.m + m) * params.n + n;
      dst[at * params.splits + split] = v;
    }
  }
}
`,
  },
  norm: {
    path: "shaders/norm.wgsl",
    code: `// Normalisation kernels (group norm, batch norm, layer norm) over one generic layout.
//
// A "group" k (0 <= k < params.groups) is the set of elements
//     k * base_stride + o * outer_stride + i,   o < outer, i < inner   (m = outer * inner of them),
// enumerated in the flat order t = o * inner + i. Group norm: k = (n, group), outer = channels of
// the group, inner = spatial size. Batch norm: k = channel, outer = batch, inner = spatial size.
// Layer norm: k = row, outer = 1, inner = row length. The affine parameter of element (k, o, i)
// is weight[(k % aff_mod) * aff_k + o * aff_o + i * aff_i].
//
// One workgroup of NT threads handles part p of group k: the flat range
// [p * part_len, min((p + 1) * part_len, m)), each thread taking every NT-th element. With
// parts == 1 the fused kernels compute the statistics and the output in one dispatch; larger
// groups are split into parts whose partial sums are combined in a fixed order (deterministic)
// by the finalize kernels, keeping every loop well under llvmpipe's 65535-iteration budget.
//
// VEC (1 or 4): when inner, outer_stride and base_stride are multiples of 4, the TS side passes
// them (and m, part_len) in units of VEC elements and each cursor step handles VEC consecutive
// elements, which share o (aff_i / stat_i stay per element). This amortises the index updates and
// divides the loop trip counts by VEC.
//
// Statistics: stats[3k..3k+2] = (mean, rstd, biased var) of group k.
//
// ACT (0: none, 1: SiLU) is an activation fused after the affine transform: the forward writes
// act(z) with z = x * (rstd w) + (b - mean rstd w), and the backward kernels recompute z from x
// and the statistics (cheaper than storing it) and use grad * act'(z) as the output gradient.
// In the affine-gradient layouts the affine index of group k is k itself (TS side: aff_mod =
// groups, aff_k = 1), so the sums there can recompute z too.

struct Params {
  groups: u32,
  parts: u32,
  part_len: u32,
  m: u32,
  outer: u32,
  inner: u32,
  outer_stride: u32,
  base_stride: u32,
  aff_mod: u32,
  aff_k: u32,
  aff_o: u32,
  aff_i: u32,
  stat_div: u32,
  stat_k: u32,
  stat_o: u32,
  stat_i: u32,
  eps: f32,
  inv_m: f32,
  scale: f32,
  momentum: f32,
  unbias: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read> bias_in: array<f32>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<storage, read_write> stats_out: array<f32>;
@group(0) @binding(7) var<storage, read_write> part: array<f32>;
@group(0) @binding(8) var<storage, read> part_in: array<f32>;
@group(0) @binding(9) var<storage, read_write> dst: array<f32>;
@group(0) @binding(10) var<storage, read> bstats: array<f32>;
@group(0) @binding(11) var<storage, read_write> run_mean: array<f32>;
@group(0) @binding(12) var<storage, read_write> run_var: array<f32>;
@group(0) @binding(13) var<storage, read> src4: array<vec4<f32>>;
@group(0) @binding(14) var<storage, read> grad4: array<vec4<f32>>;
@group(0) @binding(15) var<storage, read_write> dst4: array<vec4<f32>>;

var<workgroup> red: array<vec2<f32>, NT>;
var<workgroup> red_out: vec2<f32>;

// Position of one thread in the flat range of group k: flat index t = o * inner + i (in units
// of VEC elements), and the element, affine and statistics indices of (k, o, i), all advanced
// incrementally (no integer division per element: it is slow on llvmpipe).
struct Cursor {
  t: u32,
  end: u32,
  i: u32,
  e: u32,
  a: u32,
  s: u32,
  // Increments per step of NT, and the extra increments when i wraps past inner (u32 wrapping).
  step_i: u32,
  de: u32,
  da: u32,
  ds: u32,
  we: u32,
  wa: u32,
  ws: u32,
}

fn cursor_start(k: u32, p: u32, lid: u32) -> Cursor {
  let begin = p * params.part_len;
  let t = begin + lid;
  let o = t / params.inner;
  let step_o = NT / params.inner;
  let aff_iv = VEC * params.aff_i;
  let stat_iv = VEC * params.stat_i;
  var c: Cursor;
  c.t = t;
  c.end = min(begin + params.part_len, params.m);
  c.i = t % params.inner;
  c.e = k * params.base_stride + o * params.outer_stride + c.i;
  c.a = (k % params.aff_mod) * params.aff_k + o * params.aff_o + c.i * aff_iv;
  c.s = (k / params.stat_div) * params.stat_k + o * params.stat_o + c.i * stat_iv;
  c.step_i = NT % params.inner;
  c.de = step_o * params.outer_stride + c.step_i;
  c.da = step_o * params.aff_o + c.step_i * aff_iv;
  c.ds = step_o * params.stat_o + c.step_i * stat_iv;
  c.we = params.outer_stride - params.inner;
  c.wa = params.aff_o - params.inner * aff_iv;
  c.ws = params.stat_o - params.inner * stat_iv;
  return c;
}

fn cursor_next(c: ptr<function, Cursor>) {
  (*c).t += NT;
  (*c).i += (*c).step_i;
  (*c).e += (*c).de;
  (*c).a += (*c).da;
  (*c).s += (*c).ds;
  if ((*c).i >= params.inner) {
    (*c).i -= params.inner;
    (*c).e += (*c).we;
    (*c).a += (*c).wa;
    (*c).s += (*c).ws;
  }
}

fn weight_at(a: u32) -> f32 {
  if (HAS_W) {
    return weight[a];
  }
  return 1.0;
}

fn bias_at(a: u32) -> f32 {
  if (HAS_B) {
    return bias_in[a];
  }
  return 0.0;
}

// The fused activation (the same SiLU formula as shaders/elementwise.wgsl).
fn act(z: f32) -> f32 {
  if (ACT == 1u) {
    return z * (1.0 / (1.0 + exp(-z)));
  }
  return z;
}

fn act4(z: vec4<f32>) -> vec4<f32> {
  if (ACT == 1u) {
    return z * (1.0 / (1.0 + exp(-z)));
  }
  return z;
}

// g * act'(z): the gradient at the pre-activation z of an output gradient g.
fn act_grad(g: f32, z: f32) -> f32 {
  if (ACT == 1u) {
    let s = 1.0 / (1.0 + exp(-z));
    return g * (s * (1.0 + z * (1.0 - s)));
  }
  return g;
}

fn act_grad4(g: vec4<f32>, z: vec4<f32>) -> vec4<f32> {
  if (ACT == 1u) {
    let s = 1.0 / (1.0 + exp(-z));
    return g * (s * (1.0 + z * (1.0 - s)));
  }
  return g;
}

// Workgroup sum of one vec2 per thread, in a fixed order (thread 0 adds them up).
fn reduce2(lid: u32, v: vec2<f32>) -> vec2<f32> {
  red[lid] = v;
  workgroupBarrier();
  if (lid == 0u) {
    var s0 = vec2<f32>(0.0);
    var s1 = vec2<f32>(0.0);
    var s2 = vec2<f32>(0.0);
    var s3 = vec2<f32>(0.0);
    for (var j = 0u; j < NT; j += 4u) {
      s0 += red[j];
      s1 += red[j + 1u];
      s2 += red[j + 2u];
      s3 += red[j + 3u];
    }
    red_out = (s0 + s1) + (s2 + s3);
  }
  workgroupBarrier();
  return red_out;
}

fn workgroup_linear(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.y * nwg.x + wid.x;
}

// Per-thread loops over one part of group k. Each cursor step covers VEC consecutive elements
// (a constant-bound loop, unrolled: it does not count against llvmpipe's loop budget).

fn sum_x(k: u32, p: u32, lid: u32) -> f32 {
  // One accumulator per lane j: independent add chains (faster, and slightly better rounding).
  var acc = vec4<f32>(0.0);
  var c = cursor_start(k, p, lid);
  for (; c.t < c.end; cursor_next(&c)) {
    let e = c.e * VEC;
    for (var j = 0u; j < VEC; j++) {
      acc[j] += src[e + j];
    }
  }
  return (acc.x + acc.y) + (acc.z + acc.w);
}

fn sum_sq(k: u32, p: u32, lid: u32, mean: f32) -> f32 {
  var acc = vec4<f32>(0.0);
  var c = cursor_start(k, p, lid);
  for (; c.t < c.end; cursor_next(&c)) {
    let e = c.e * VEC;
    for (var j = 0u; j < VEC; j++) {
      let d = src[e + j] - mean;
      acc[j] += d * d;
    }
  }
  return (acc.x + acc.y) + (acc.z + acc.w);
}

// Affine weight of lane j of a cursor step whose lane 0 has affine index a (aff_i is 0 for
// per-channel weights: one load per step).
fn lane_weight(a: u32, w0: f32, j: u32) -> f32 {
  if (params.aff_i == 0u) {
    return w0;
  }
  return weight_at(a + j * params.aff_i);
}

// The output gradient of lane j of a cursor step at affine index a (lane 0), through the fused
// activation: grad * act'(z) with z recomputed from x as in apply_part.
fn lane_grad(a: u32, j: u32, xv: f32, mean: f32, rstd: f32, g: f32) -> f32 {
  if (ACT == 0u) {
    return g;
  }
  let aj = a + j * params.aff_i;
  let sc = rstd * weight_at(aj);
  return act_grad(g, xv * sc + (bias_at(aj) - mean * sc));
}

// (sum dxhat, sum dxhat * xhat) with dxhat = grad * w (grad through the activation).
fn sum_bwd(k: u32, p: u32, lid: u32, mean: f32, rstd: f32) -> vec2<f32> {
  var s1 = vec4<f32>(0.0);
  var s2 = vec4<f32>(0.0);
  var c = cursor_start(k, p, lid);
  for (; c.t < c.end; cursor_next(&c)) {
    let e = c.e * VEC;
    let w0 = weight_at(c.a);
    for (var j = 0u; j < VEC; j++) {
      let xv = src[e + j];
      let xhat = (xv - mean) * rstd;
      let dxh = lane_grad(c.a, j, xv, mean, rstd, grad[e + j]) * lane_weight(c.a, w0, j);
      s1[j] += dxh;
      s2[j] += dxh * xhat;
    }
  }
  return vec2<f32>((s1.x + s1.y) + (s1.z + s1.w), (s2.x + s2.y) + (s2.z + s2.w));
}

// (sum grad * xhat, sum grad), each element normalised with its own group's statistics (grad
// through the activation; group k's affine index is k, so c.a = k and aff_i = 0).
fn sum_affine(k: u32, p: u32, lid: u32) -> vec2<f32> {
  var s1 = vec4<f32>(0.0);
  var s2 = vec4<f32>(0.0);
  var c = cursor_start(k, p, lid);
  for (; c.t < c.end; cursor_next(&c)) {
    let e = c.e * VEC;
    var mean = stats[3u * c.s];
    var rstd = stats[3u * c.s + 1u];
    for (var j = 0u; j < VEC; j++) {
      if (params.stat_i != 0u && j > 0u) {
        let st = 3u * (c.s + j * params.stat_i);
        mean = stats[st];
        rstd = stats[st + 1u];
      }
      let xv = src[e + j];
      let gv = lane_grad(c.a, j, xv, mean, rstd, grad[e + j]);
      s1[j] += gv * ((xv - mean) * rstd);
      s2[j] += gv;
    }
  }
  return vec2<f32>((s1.x + s1.y) + (s1.z + s1.w), (s2.x + s2.y) + (s2.z + s2.w));
}

// y = act((x - mean) * rstd * w + b).
fn apply_part(k: u32, p: u32, lid: u32, mean: f32, rstd: f32) {
  var c = cursor_start(k, p, lid);
  for (; c.t < c.end; cursor_next(&c)) {
    let e = c.e * VEC;
    let sc0 = rstd * weight_at(c.a);
    let sh0 = bias_at(c.a) - mean * sc0;
    for (var j = 0u; j < VEC; j++) {
      var sc = sc0;
      var sh = sh0;
      if (params.aff_i != 0u && j > 0u) {
        let a = c.a + j * params.aff_i;
        sc = rstd * weight_at(a);
        sh = bias_at(a) - mean * sc;
      }
      dst[e + j] = act(src[e + j] * sc + sh);
    }
  }
}

// dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)).
fn bwd_part(k: u32, p: u32, lid: u32, m1: f32, m2: f32) {
  let mean = stats[3u * k];
  let rstd = stats[3u * k + 1u];
  var c = cursor_start(k, p, lid);
  for (; c.t < c.end; cursor_next(&c)) {
    let e = c.e * VEC;
    let w0 = weight_at(c.a);
    for (var j = 0u; j < VEC; j++) {
      let xv = src[e + j];
      let xhat = (xv - mean) * rstd;
      let dxh = lane_grad(c.a, j, xv, mean, rstd, grad[e + j]) * lane_weight(c.a, w0, j);
      dst[e + j] = rstd * (dxh - m1 - xhat * m2);
    }
  }
}

// Forward with statistics, one workgroup per group (parts == 1): mean, then biased variance
// (two passes), then the output. Writes stats_out.
@compute @workgroup_size(NT)
fn fwd_fused(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let k = workgroup_linear(wid, nwg);
  if (k >= params.groups) { return; }
  let lid = lid3.x;
  let mean = reduce2(lid, vec2<f32>(sum_x(k, 0u, lid), 0.0)).x * params.inv_m;
  let variance = reduce2(lid, vec2<f32>(sum_sq(k, 0u, lid, mean), 0.0)).x * params.inv_m;
  let rstd = 1.0 / sqrt(variance + params.eps);
  if (lid == 0u) {
    stats_out[3u * k] = mean;
    stats_out[3u * k + 1u] = rstd;
    stats_out[3u * k + 2u] = variance;
  }
  apply_part(k, 0u, lid, mean, rstd);
}

// Output from precomputed statistics, one workgroup per (group, part).
@compute @workgroup_size(NT)
fn apply(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let id = workgroup_linear(wid, nwg);
  if (id >= params.groups * params.parts) { return; }
  let k = id / params.parts;
  let p = id % params.parts;
  apply_part(k, p, lid3.x, stats[3u * k], stats[3u * k + 1u]);
}

// Partial sums of one (group, part) into part[2 * (k * parts + p) + {0, 1}]:
//   MODE 0: sum x            MODE 1: sum (x - mean)^2
//   MODE 2: sum dxhat, sum dxhat * xhat   (dxhat = grad * w; backward of the normalisation)
//   MODE 3: sum grad * xhat, sum grad     (weight / bias gradients; groups are affine indices and
//           the statistics of element (k, o, i) are those of group
//           (k / stat_div) * stat_k + o * stat_o + i * stat_i)
@compute @workgroup_size(NT)
fn reduce_part(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let id = workgroup_linear(wid, nwg);
  if (id >= params.groups * params.parts) { return; }
  let k = id / params.parts;
  let p = id % params.parts;
  let lid = lid3.x;
  var acc = vec2<f32>(0.0);
  if (MODE == 0u) {
    acc.x = sum_x(k, p, lid);
  } else if (MODE == 1u) {
    acc.x = sum_sq(k, p, lid, stats[3u * k]);
  } else if (MODE == 2u) {
    acc = sum_bwd(k, p, lid, stats[3u * k], stats[3u * k + 1u]);
  } else {
    acc = sum_affine(k, p, lid);
  }
  let total = reduce2(lid, acc);
  if (lid == 0u) {
    part[2u * id] = total.x;
    part[2u * id + 1u] = total.y;
  }
}

// Combines the parts of each group: MODE 0 writes the mean, MODE 1 the variance and rstd.
@compute @workgroup_size(WG)
fn finalize_stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let k = thread_index(wid, nwg, lid);
  if (k >= params.groups) { return; }
  var s = 0.0;
  for (var p = 0u; p < params.parts; p++) {
    s += part_in[2u * (k * params.parts + p)];
  }
  let v = s * params.inv_m;
  if (MODE == 0u) {
    stats_out[3u * k] = v;
  } else {
    stats_out[3u * k + 1u] = 1.0 / sqrt(v + params.eps);
    stats_out[3u * k + 2u] = v;
  }
}

// Combines the parts of each group: dst[2k + j] = scale * sum_p part[2 (k parts + p) + j].
@compute @workgroup_size(WG)
fn finalize_sum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let k = thread_index(wid, nwg, lid);
  if (k >= params.groups) { return; }
  var s = vec2<f32>(0.0);
  for (var p = 0u; p < params.parts; p++) {
    let o = 2u * (k * params.parts + p);
    s += vec2<f32>(part_in[o], part_in[o + 1u]);
  }
  dst[2u * k] = s.x * params.scale;
  dst[2u * k + 1u] = s.y * params.scale;
}

// Input gradient, one workgroup per group (parts == 1): both sums, then dx.
@compute @workgroup_size(NT)
fn bwd_fused(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let k = workgroup_linear(wid, nwg);
  if (k >= params.groups) { return; }
  let lid = lid3.x;
  let acc = sum_bwd(k, 0u, lid, stats[3u * k], stats[3u * k + 1u]);
  let m = reduce2(lid, acc) * params.inv_m;
  bwd_part(k, 0u, lid, m.x, m.y);
}

// Input gradient from precomputed means bstats[2k] = mean(dxhat), bstats[2k + 1] = mean(dxhat xhat).
@compute @workgroup_size(NT)
fn bwd_apply(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let id = workgroup_linear(wid, nwg);
  if (id >= params.groups * params.parts) { return; }
  let k = id / params.parts;
  let p = id % params.parts;
  bwd_part(k, p, lid3.x, bstats[2u * k], bstats[2u * k + 1u]);
}

// Batch norm running statistics, in place:
// running = (1 - momentum) * running + momentum * batch (variance unbiased by \`unbias\`).
@compute @workgroup_size(WG)
fn running_update(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let k = thread_index(wid, nwg, lid);
  if (k >= params.groups) { return; }
  let mom = params.momentum;
  run_mean[k] = (1.0 - mom) * run_mean[k] + mom * stats[3u * k];
  run_var[k] = (1.0 - mom) * run_var[k] + mom * stats[3u * k + 2u] * params.unbias;
}

// dst[k] = 1 / sqrt(stats[k] + eps) (batch norm in eval mode, from the running variance).
@compute @workgroup_size(WG)
fn inv_std(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let k = thread_index(wid, nwg, lid);
  if (k >= params.groups) { return; }
  dst[k] = 1.0 / sqrt(stats[k] + params.eps);
}

// Contiguous groups (group norm; batch norm with N = 1): group k is the flat range
// [k m, (k + 1) m), enumerated as outer channels of \`inner\` elements each. The TS side passes
// inner and base_stride (= m) in units of vec4 (inner % 4 == 0, so a vec4 never straddles two
// channels). One thread per group, no shared memory or barriers (both are slow on llvmpipe),
// GT groups per workgroup. Long sums are two-level (chunks of GC vec4s). Per-thread loop trips:
// about 3 m / 4 + 2 m / (4 GC) + outer (forward), 2 m / 4 + m / (4 GC) + 2 outer (backward).

fn gn_thread(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return workgroup_linear(wid, nwg) * GT + lid.x;
}

// Affine index of channel o of group k.
fn gn_channel(k: u32, o: u32) -> u32 {
  return (k % params.aff_mod) * params.aff_k + o * params.aff_o;
}

@compute @workgroup_size(GT)
fn gn_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let k = gn_thread(wid, nwg, lid);
  if (k >= params.groups) { return; }
  let begin = k * params.base_stride;
  let end = begin + params.base_stride;
  // Two-level sums (chunks of GC vec4s) keep the rounding error of long serial sums small.
  var acc = vec4<f32>(0.0);
  for (var c0 = begin; c0 < end; c0 += GC) {
    let ce = min(c0 + GC, end);
    var pa = vec4<f32>(0.0);
    for (var j = c0; j < ce; j++) {
      pa += src4[j];
    }
    acc += pa;
  }
  let mean = ((acc.x + acc.y) + (acc.z + acc.w)) * params.inv_m;
  var sq = vec4<f32>(0.0);
  for (var c0 = begin; c0 < end; c0 += GC) {
    let ce = min(c0 + GC, end);
    var pa = vec4<f32>(0.0);
    for (var j = c0; j < ce; j++) {
      let d = src4[j] - mean;
      pa += d * d;
    }
    sq += pa;
  }
  let variance = ((sq.x + sq.y) + (sq.z + sq.w)) * params.inv_m;
  let rstd = 1.0 / sqrt(variance + params.eps);
  stats_out[3u * k] = mean;
  stats_out[3u * k + 1u] = rstd;
  stats_out[3u * k + 2u] = variance;
  var j = begin;
  for (var o = 0u; o < params.outer; o++) {
    let ch = gn_channel(k, o);
    let sc = rstd * weight_at(ch);
    let sh = bias_at(ch) - mean * sc;
    let ce = j + params.inner;
    for (; j < ce; j++) {
      dst4[j] = act4(src4[j] * sc + sh);
    }
  }
}

// Input gradient of a contiguous group; with AFFINE also the weight / bias gradient partials of
// its channels, from the same first pass (the per-channel sums of gz * xhat and gz are what the
// input gradient's sums are made of): part[2 (ch * N + n) + {0, 1}] for channel ch of sample n
// (N = groups / aff_mod samples), which finalize_sum adds up over n as after gn_affine. Without
// AFFINE, \`part\` is bound to a placeholder and never written.
@compute @workgroup_size(GT)
fn gn_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let k = gn_thread(wid, nwg, lid);
  if (k >= params.groups) { return; }
  let mean = stats[3u * k];
  let rstd = stats[3u * k + 1u];
  let begin = k * params.base_stride;
  let n = k / params.aff_mod;
  let samples = params.groups / params.aff_mod;
  var s1 = 0.0;
  var s2 = 0.0;
  var j = begin;
  for (var o = 0u; o < params.outer; o++) {
    let ch = gn_channel(k, o);
    let wv = weight_at(ch);
    let sc = rstd * wv;
    let sh = bias_at(ch) - mean * sc;
    let ce = j + params.inner;
    // Per channel: sums of gz (q1) and gz * xhat (q2), gz the gradient at the pre-activation.
    var q1 = vec4<f32>(0.0);
    var q2 = vec4<f32>(0.0);
    while (j < ce) {
      let pe = min(j + GC, ce);
      var p1 = vec4<f32>(0.0);
      var p2 = vec4<f32>(0.0);
      for (; j < pe; j++) {
        let xv = src4[j];
        let gz = act_grad4(grad4[j], xv * sc + sh);
        p1 += gz;
        p2 += gz * ((xv - mean) * rstd);
      }
      q1 += p1;
      q2 += p2;
    }
    let c1 = (q1.x + q1.y) + (q1.z + q1.w);
    let c2 = (q2.x + q2.y) + (q2.z + q2.w);
    s1 += wv * c1;
    s2 += wv * c2;
    if (AFFINE) {
      let at = 2u * (ch * samples + n);
      part[at] = c2;
      part[at + 1u] = c1;
    }
  }
  let m1 = s1 * params.inv_m;
  let m2 = s2 * params.inv_m;
  j = begin;
  for (var o = 0u; o < params.outer; o++) {
    let ch = gn_channel(k, o);
    let wv = weight_at(ch);
    let sc = rstd * wv;
    let sh = bias_at(ch) - mean * sc;
    let ce = j + params.inner;
    for (; j < ce; j++) {
      let xv = src4[j];
      let xhat = (xv - mean) * rstd;
      dst4[j] = rstd * (act_grad4(grad4[j], xv * sc + sh) * wv - m1 - xhat * m2);
    }
  }
}

// Weight / bias gradients (MODE 3 sums) when the inner elements are contiguous and a multiple of
// 4 (inner, base_stride and outer_stride in vec4 units): thread (k, o) sums grad * xhat and grad
// over the inner elements of outer index o of affine index k into part[2 (k outer + o) + {0, 1}];
// finalize_sum then adds the outer partials in a fixed order. Per-thread loop trips: inner / 4.
@compute @workgroup_size(GT)
fn gn_affine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let id = gn_thread(wid, nwg, lid);
  if (id >= params.groups * params.outer) { return; }
  let k = id / params.outer;
  let o = id % params.outer;
  let st = 3u * ((k / params.stat_div) * params.stat_k + o * params.stat_o);
  let mean = stats[st];
  let rstd = stats[st + 1u];
  // Affine index k (the activation's pre-activation needs its weight and bias).
  let sc = rstd * weight_at(k);
  let sh = bias_at(k) - mean * sc;
  let begin = k * params.base_stride + o * params.outer_stride;
  let end = begin + params.inner;
  var s1 = vec4<f32>(0.0);
  var s2 = vec4<f32>(0.0);
  for (var c0 = begin; c0 < end; c0 += GC) {
    let ce = min(c0 + GC, end);
    var p1 = vec4<f32>(0.0);
    var p2 = vec4<f32>(0.0);
    for (var j = c0; j < ce; j++) {
      let xv = src4[j];
      let gv = act_grad4(grad4[j], xv * sc + sh);
      p1 += gv * ((xv - mean) * rstd);
      p2 += gv;
    }
    s1 += p1;
    s2 += p2;
  }
  part[2u * id] = (s1.x + s1.y) + (s1.z + s1.w);
  part[2u * id + 1u] = (s2.x + s2.y) + (s2.z + s2.w);
}
`,
  },
  optim: {
    path: "shaders/optim.wgsl",
    code: `// Optimizer kernels over packed parameter/gradient/state buffers: one dispatch updates every
// parameter of a model.

struct Params {
  n: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weight_decay: f32,
  // 1 - beta1^t and sqrt(1 - beta2^t)
  bias_correction1: f32,
  bias_correction2_sqrt: f32,
  max_norm: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> exp_avg: array<f32>;
@group(0) @binding(4) var<storage, read_write> exp_avg_sq: array<f32>;
@group(0) @binding(5) var<storage, read> total_norm: array<f32>;
@group(0) @binding(6) var<storage, read_write> grad_rw: array<f32>;

// torch.optim.AdamW (amsgrad off), step for one element.
@compute @workgroup_size(WG)
fn adamw(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  let gi = grad[i];
  let p = param[i] * (1.0 - params.lr * params.weight_decay);
  let m = params.beta1 * exp_avg[i] + (1.0 - params.beta1) * gi;
  let v = params.beta2 * exp_avg_sq[i] + (1.0 - params.beta2) * gi * gi;
  exp_avg[i] = m;
  exp_avg_sq[i] = v;
  let denom = sqrt(v) / params.bias_correction2_sqrt + params.eps;
  param[i] = p - (params.lr / params.bias_correction1) * m / denom;
}

// torch.nn.utils.clip_grad_norm_: grad *= min(1, max_norm / (total_norm + 1e-6)).
@compute @workgroup_size(WG)
fn clip_scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  let coef = min(1.0, params.max_norm / (total_norm[0] + 1e-6));
  grad_rw[i] = grad_rw[i] * coef;
}
`,
  },
  pack: {
    path: "shaders/pack.wgsl",
    code: `// Packing GEMM operands into texel buffers (engine/ops/pack.ts).
//
// A packed operand is [matrices][rows (+ 1 zero row)][c4] vec4s: each row holds \`cols\` values,
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
`,
  },
  pool: {
    path: "shaders/pool.wgsl",
    code: `// 2-D pooling over planes of [planes, h, w] (planes = N * C). Forward kernels run one thread per
// output element; backward kernels are gathers with one thread per input element that loops over
// the output windows containing it (deterministic, no atomics). Window loops are bounded by the
// TS side (kh * kw <= 4096; larger windows are pooled separably along W, then H).

struct Params {
  n: u32,
  h: u32,
  w: u32,
  oh: u32,
  ow: u32,
  kh: u32,
  kw: u32,
  sh: u32,
  sw: u32,
  ph: u32,
  pw: u32,
  include_pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<storage, read_write> arg_out: array<i32>;
@group(0) @binding(4) var<storage, read> arg_in: array<i32>;
@group(0) @binding(5) var<storage, read> grad: array<f32>;

// Output rows [lo, hi] of a strided window (kernel k, stride s, padding p, n outputs) that
// contain input row i; empty when lo > hi.
fn covering(i: u32, k: u32, s: u32, p: u32, n: u32) -> vec2<i32> {
  let ip = i + p;
  var lo = 0u;
  if (ip >= k) {
    lo = (ip - k) / s + 1u;
  }
  let hi = min(i32(ip / s), i32(n) - 1);
  return vec2<i32>(i32(lo), hi);
}

// Max pooling with padding treated as -inf; argmax = iy * w + ix within the plane (torch's index).
@compute @workgroup_size(WG)
fn max_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = thread_index(wid, nwg, lid);
  if (t >= params.n) { return; }
  let plane = t / (params.oh * params.ow);
  let r = t % (params.oh * params.ow);
  let hs = i32((r / params.ow) * params.sh) - i32(params.ph);
  let ws = i32((r % params.ow) * params.sw) - i32(params.pw);
  let he = min(hs + i32(params.kh), i32(params.h));
  let we = min(ws + i32(params.kw), i32(params.w));
  let h0 = max(hs, 0);
  let w0 = max(ws, 0);
  let base = plane * params.h * params.w;
  // Start from the window's first element (padding never fills a whole window), as torch starts
  // from -inf and that index: WGSL has no infinite constants (Tint rejects bitcast<f32> of them).
  var arg = h0 * i32(params.w) + w0;
  var best = src[base + u32(arg)];
  for (var iy = h0; iy < he; iy++) {
    for (var ix = w0; ix < we; ix++) {
      let idx = iy * i32(params.w) + ix;
      let v = src[base + u32(idx)];
      // NaN wins like in torch (tested on the bits: compilers may fold v != v away).
      if (v > best || (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u) {
        best = v;
        arg = idx;
      }
    }
  }
  dst[t] = best;
  arg_out[t] = arg;
}

// dx[i] = sum of g over the windows whose argmax is i.
@compute @workgroup_size(WG)
fn max_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = thread_index(wid, nwg, lid);
  if (t >= params.n) { return; }
  let plane = t / (params.h * params.w);
  let r = t % (params.h * params.w);
  let iy = r / params.w;
  let ix = r % params.w;
  let ry = covering(iy, params.kh, params.sh, params.ph, params.oh);
  let rx = covering(ix, params.kw, params.sw, params.pw, params.ow);
  let obase = plane * params.oh * params.ow;
  let me = i32(r);
  var acc = 0.0;
  for (var oy = ry.x; oy <= ry.y; oy++) {
    for (var ox = rx.x; ox <= rx.y; ox++) {
      let o = obase + u32(oy) * params.ow + u32(ox);
      if (arg_in[o] == me) {
        acc += grad[o];
      }
    }
  }
  dst[t] = acc;
}

// Divisor of output window (oy, ox) of avg pooling, as torch computes it (ceil_mode false).
fn avg_divisor(oy: u32, ox: u32) -> f32 {
  let hs = i32(oy * params.sh) - i32(params.ph);
  let ws = i32(ox * params.sw) - i32(params.pw);
  let he = min(hs + i32(params.kh), i32(params.h + params.ph));
  let we = min(ws + i32(params.kw), i32(params.w + params.pw));
  if (params.include_pad != 0u) {
    return f32((he - hs) * (we - ws));
  }
  let cnt = (min(he, i32(params.h)) - max(hs, 0)) * (min(we, i32(params.w)) - max(ws, 0));
  return f32(max(cnt, 1));
}

@compute @workgroup_size(WG)
fn avg_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = thread_index(wid, nwg, lid);
  if (t >= params.n) { return; }
  let plane = t / (params.oh * params.ow);
  let r = t % (params.oh * params.ow);
  let oy = r / params.ow;
  let ox = r % params.ow;
  let hs = i32(oy * params.sh) - i32(params.ph);
  let ws = i32(ox * params.sw) - i32(params.pw);
  let he = min(hs + i32(params.kh), i32(params.h));
  let we = min(ws + i32(params.kw), i32(params.w));
  let base = plane * params.h * params.w;
  var acc = 0.0;
  for (var iy = max(hs, 0); iy < he; iy++) {
    for (var ix = max(ws, 0); ix < we; ix++) {
      acc += src[base + u32(iy) * params.w + u32(ix)];
    }
  }
  dst[t] = acc / avg_divisor(oy, ox);
}

@compute @workgroup_size(WG)
fn avg_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = thread_index(wid, nwg, lid);
  if (t >= params.n) { return; }
  let plane = t / (params.h * params.w);
  let r = t % (params.h * params.w);
  let ry = covering(r / params.w, params.kh, params.sh, params.ph, params.oh);
  let rx = covering(r % params.w, params.kw, params.sw, params.pw, params.ow);
  let obase = plane * params.oh * params.ow;
  var acc = 0.0;
  for (var oy = ry.x; oy <= ry.y; oy++) {
    for (var ox = rx.x; ox <= rx.y; ox++) {
      let o = obase + u32(oy) * params.ow + u32(ox);
      acc += grad[o] / avg_divisor(u32(oy), u32(ox));
    }
  }
  dst[t] = acc;
}

// Adaptive windows: start = floor(i * in / out), end = ceil((i + 1) * in / out).
fn adaptive_start(i: u32, n_in: u32, n_out: u32) -> u32 {
  return (i * n_in) / n_out;
}

fn adaptive_end(i: u32, n_in: u32, n_out: u32) -> u32 {
  return ((i + 1u) * n_in + n_out - 1u) / n_out;
}

@compute @workgroup_size(WG)
fn adaptive_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = thread_index(wid, nwg, lid);
  if (t >= params.n) { return; }
  let plane = t / (params.oh * params.ow);
  let r = t % (params.oh * params.ow);
  let oy = r / params.ow;
  let ox = r % params.ow;
  let hs = adaptive_start(oy, params.h, params.oh);
  let he = adaptive_end(oy, params.h, params.oh);
  let ws = adaptive_start(ox, params.w, params.ow);
  let we = adaptive_end(ox, params.w, params.ow);
  let base = plane * params.h * params.w;
  var acc = 0.0;
  for (var iy = hs; iy < he; iy++) {
    for (var ix = ws; ix < we; ix++) {
      acc += src[base + iy * params.w + ix];
    }
  }
  dst[t] = acc / f32((he - hs) * (we - ws));
}

@compute @workgroup_size(WG)
fn adaptive_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = thread_index(wid, nwg, lid);
  if (t >= params.n) { return; }
  let plane = t / (params.h * params.w);
  let r = t % (params.h * params.w);
  let iy = r / params.w;
  let ix = r % params.w;
  // Windows containing iy: oy in [floor(iy * oh / h), ceil((iy + 1) * oh / h) - 1].
  let oy0 = (iy * params.oh) / params.h;
  let oy1 = min(((iy + 1u) * params.oh + params.h - 1u) / params.h, params.oh);
  let ox0 = (ix * params.ow) / params.w;
  let ox1 = min(((ix + 1u) * params.ow + params.w - 1u) / params.w, params.ow);
  let obase = plane * params.oh * params.ow;
  var acc = 0.0;
  for (var oy = oy0; oy < oy1; oy++) {
    let hs = adaptive_start(oy, params.h, params.oh);
    let he = adaptive_end(oy, params.h, params.oh);
    for (var ox = ox0; ox < ox1; ox++) {
      let ws = adaptive_start(ox, params.w, params.ow);
      let we = adaptive_end(ox, params.w, params.ow);
      if (iy >= hs && iy < he && ix >= ws && ix < we) {
        acc += grad[obase + oy * params.ow + ox] / f32((he - hs) * (we - ws));
      }
    }
  }
  dst[t] = acc;
}
`,
  },
  random: {
    path: "shaders/random.wgsl",
    code: `// Random fills and dropout, all from Philox keyed by (seed, stream) and indexed by element.

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
`,
  },
  reduce: {
    path: "shaders/reduce.wgsl",
    code: `// Row sums: src is [rows, len]; thread (r, c) sums elements [c*CHUNK, (c+1)*CHUNK) of row r
// into dst[r * chunks + c], times \`scale\`. Long rows take several passes (chunks -> 1), which
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
`,
  },
  spectral: {
    path: "shaders/spectral.wgsl",
    code: `// Spectral normalisation of a weight viewed as a matrix W [h, w] (PyTorch semantics, dim 0).
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
`,
  },
  winograd: {
    path: "shaders/winograd.wgsl",
    code: `// Winograd transforms for stride-1 3x3 convolutions (engine/ops/winograd.ts): F(2x2, 3x3)
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
  // mirrored when flip = 1 (rows and k count \`rows\` and \`k\`)
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

// The (tile, c4) pair of thread i of a transform into the packed layout; tiles from \`tiles\` on
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

// Four consecutive K values of tap (kh, kw) of weight row \`row\` (zero past the last K).
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

// Writes the 4x4 output tile \`tile\` of channel ch (rows[a] = output row a), clipped to the
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
`,
  },
};
