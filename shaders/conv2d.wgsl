// conv2d (NCHW, weight [Cout, Cin/groups, KH, KW]) as register-blocked implicit GEMMs.
//
// On llvmpipe loads, not FMAs, bound these kernels: it runs 8 invocations per SIMD row and
// turns a storage-buffer load into a loop over the lanes, while a texel fetch is one vector
// gather (1.3x at 8x8 tiles; it is what lets the large tiles below pay off). So the operands
// are first packed (shaders/pack.wgsl) into texel buffers (rgba32float textures,
// engine/buffers.ts) with the GEMM's K dimension contiguous in vec4s, and each
// invocation keeps a (4 BM) x (4 BN) tile of accumulators as BM x BN named 4x4 matrices
// (`// #for` blocks, expanded by engine/kernels.ts; arrays would live in memory), so one 4x4
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
// pipeline per tile size: llvmpipe takes ~13 s to compile one 8x4-tiled kernel. `fold` spreads N blocks over z when
// there are more than 65535 of them; `splits` cuts the K loop into chunks (llvmpipe stops an
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

// Stores a 4x4 block: acc[j][i] is (row m + i, column j of `c`).
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

// vec4 offset of the packed x row that output position `w` reads at this tap (zero row when
// outside the image or when `ok` is false).
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
