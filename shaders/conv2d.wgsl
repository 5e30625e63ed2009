// conv2d (NCHW, weight [Cout, Cin/groups, KH, KW]) as register-blocked implicit GEMMs.
//
// llvmpipe runs 8 invocations per SIMD row and turns every storage load into a loop over the
// lanes with a branch per lane, so loads, not FMAs, bound these kernels: a vec4 load costs
// far less than four f32 loads. The kernels therefore read packed operands whose GEMM K
// dimension is contiguous, as vec4s, and keep a TM x TN tile of accumulators per invocation in
// 4x4 matrices (TM, TN in {4, 8, 12, 16}; one vec4 feeds 4 * TN or 4 * TM FMAs). Loops over
// small constant bounds and arrays are avoided in the hot loops (llvmpipe does not reliably
// unroll them into registers). Operands are packed first (pack_act, pack_wt):
//   act: [group][rows + 1][k4] vec4s, an NCHW tensor as rows = (b, y, x) positions with the
//        group's channels contiguous (zero-padded to k4 * 4); the extra last row is all zero
//        and stands in for padding taps, so the K loop has no bounds checks.
//   wt:  [group][tap][rows][k4] vec4s, per tap the weight as rows of output channels
//        (forward) or input channels (input gradient), K = the other channel dimension.
//
//   conv_gemm, DX = 0 (forward):        M = Cout/g, N = B*OH*OW, K = (Cin/g) * KH*KW
//   conv_gemm, DX = 1 (input gradient): M = Cin/g,  N = B*H*W,   K = (Cout/g) * KH*KW
//     (taps whose (i + pad - k*dil) is not a multiple of the stride read the zero row)
//   conv_dw (weight gradient):          M = Cout/g, N = KH*KW * Cin/g (tap-major), K = B*OH*OW
//
// Grid: (N blocks, M blocks, group * splits * fold). `fold` spreads N blocks over z when there
// are more than 65535 of them; `splits` cuts the K loop into chunks (llvmpipe stops an
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
  // pack kernels: channels, channels per group, spatial size, rows per group (positions), mode
  pk_c: u32,
  pk_cpg: u32,
  pk_s: u32,
  pk_rows: u32,
  pk_mode: u32,
  pk_total: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> act4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> wt4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> gp4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> bias_in: array<f32>;
@group(0) @binding(6) var<storage, read_write> dst: array<f32>;
@group(0) @binding(7) var<storage, read_write> dst4: array<vec4<f32>>;

// ------------------------------------------------------------------------------- packing

// NCHW [pk_c channels, pk_s positions per image] -> [group][pk_rows + 1][k4] vec4s (see top).
@compute @workgroup_size(WG)
fn pack_act(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.pk_total) {
    return;
  }
  let k4 = params.k4;
  let c4 = i % k4;
  let row = (i / k4) % (params.pk_rows + 1u);
  let grp = i / (k4 * (params.pk_rows + 1u));
  var v = vec4<f32>(0.0);
  if (row < params.pk_rows) {
    let b = row / params.pk_s;
    let s = row % params.pk_s;
    let c = c4 * 4u;
    let base = (b * params.pk_c + grp * params.pk_cpg + c) * params.pk_s + s;
    let last = params.pk_cpg - 1u - c; // channels c + q with q <= last exist
    v.x = src[base];
    if (last >= 1u) { v.y = src[base + params.pk_s]; }
    if (last >= 2u) { v.z = src[base + 2u * params.pk_s]; }
    if (last >= 3u) { v.w = src[base + 3u * params.pk_s]; }
  }
  dst4[i] = v;
}

// weight [Cout, cpg, KH*KW] -> [group][tap][opg][k4] (pk_mode 0, vec4 over input channels)
// or [group][tap][cpg][k4] (pk_mode 1, vec4 over output channels).
@compute @workgroup_size(WG)
fn pack_wt(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.pk_total) {
    return;
  }
  let kk = params.k_h * params.k_w;
  let k4 = params.k4;
  let q4 = i % k4;
  let rows = select(params.opg, params.cpg, params.pk_mode == 1u);
  let r = (i / k4) % rows;
  let tap = (i / (k4 * rows)) % kk;
  let grp = i / (k4 * rows * kk);
  var v = vec4<f32>(0.0);
  for (var q = 0u; q < 4u; q++) {
    let kq = q4 * 4u + q;
    var m = r;
    var c = kq;
    var lim = params.cpg;
    if (params.pk_mode == 1u) {
      m = kq;
      c = r;
      lim = params.opg;
    }
    if (kq < lim) {
      v[q] = src[((grp * params.opg + m) * params.cpg + c) * kk + tap];
    }
  }
  dst4[i] = v;
}

// ------------------------------------------------------------------------------- GEMM tiles

// (group, split, N block) of a workgroup.
struct Tile {
  grp: u32,
  split: u32,
  nblock: u32,
}

fn tile_of(wid: vec3<u32>, nwg: vec3<u32>) -> Tile {
  let fx = wid.z % params.fold;
  let gs = wid.z / params.fold;
  return Tile(gs / params.splits, gs % params.splits, fx * nwg.x + wid.x);
}

// Four consecutive GEMM columns of conv_gemm: their positions, the row of their image in the
// packed operand, and per spatial axis the first input coordinate (forward: o * stride - pad)
// or the quotient and remainder of (i + pad) by the stride (input gradient).
struct Cols {
  n: vec4<u32>,
  base: vec4<u32>,
  h: vec4<i32>,
  w: vec4<i32>,
  rh: vec4<u32>,
  rw: vec4<u32>,
  zero: u32,
}

fn columns(first: u32, grp: u32) -> Cols {
  var c: Cols;
  c.n = vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u);
  let n = min(c.n, vec4<u32>(params.n_total - 1u));
  let gbase = grp * params.act_rows;
  c.zero = gbase + params.act_rows - 1u;
  if (DX == 0u) {
    let plane = params.out_h * params.out_w;
    let b = n / plane;
    let r = n % plane;
    c.base = vec4<u32>(gbase) + b * (params.height * params.width);
    c.h = vec4<i32>((r / params.out_w) * params.stride_h) - i32(params.pad_h);
    c.w = vec4<i32>((r % params.out_w) * params.stride_w) - i32(params.pad_w);
  } else {
    let plane = params.height * params.width;
    let b = n / plane;
    let r = n % plane;
    c.base = vec4<u32>(gbase) + b * (params.out_h * params.out_w);
    let th = r / params.width + params.pad_h;
    let tw = r % params.width + params.pad_w;
    c.h = vec4<i32>(th / params.stride_h);
    c.rh = th % params.stride_h;
    c.w = vec4<i32>(tw / params.stride_w);
    c.rw = tw % params.stride_w;
  }
  return c;
}

// vec4 offsets of the packed rows the four columns read at tap (kh, kw) (the zero row when the
// tap falls into padding or, for the input gradient, between stride steps).
fn tap_rows(c: Cols, kh: u32, kw: u32) -> vec4<u32> {
  var row: vec4<u32>;
  if (DX == 0u) {
    let ih = c.h + i32(kh * params.dil_h);
    let iw = c.w + i32(kw * params.dil_w);
    let ok = (vec4<u32>(ih) < vec4<u32>(params.height)) & (vec4<u32>(iw) < vec4<u32>(params.width));
    row = select(vec4<u32>(c.zero), c.base + vec4<u32>(ih) * params.width + vec4<u32>(iw), ok);
  } else {
    let kh_d = kh * params.dil_h;
    let kw_d = kw * params.dil_w;
    let oh = c.h - i32(kh_d / params.stride_h);
    let ow = c.w - i32(kw_d / params.stride_w);
    let ok = (c.rh == vec4<u32>(kh_d % params.stride_h)) & (c.rw == vec4<u32>(kw_d % params.stride_w)) &
      (vec4<u32>(oh) < vec4<u32>(params.out_h)) & (vec4<u32>(ow) < vec4<u32>(params.out_w));
    row = select(vec4<u32>(c.zero), c.base + vec4<u32>(oh) * params.out_w + vec4<u32>(ow), ok);
  }
  return row * params.k4;
}

// vec4 offsets of four consecutive A rows (clamped to the last row).
fn a_rows(abase: u32, first: u32) -> vec4<u32> {
  let m = min(vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.m_total - 1u));
  return (vec4<u32>(abase) + m) * params.k4;
}

// B block: columns = the four GEMM columns, rows = 4 consecutive K.
fn ld_rows(o: vec4<u32>, c: u32) -> mat4x4<f32> {
  return mat4x4<f32>(act4[o.x + c], act4[o.y + c], act4[o.z + c], act4[o.w + c]);
}

// A block: rows = four GEMM rows, columns = 4 consecutive K.
fn ld_rows_t(o: vec4<u32>, c: u32) -> mat4x4<f32> {
  return transpose(mat4x4<f32>(wt4[o.x + c], wt4[o.y + c], wt4[o.z + c], wt4[o.w + c]));
}

fn put_gemm(v: f32, m: u32, n: u32, split: u32, grp: u32) {
  if (m >= params.m_total || n >= params.n_total) {
    return;
  }
  if (DX == 0u) {
    let plane = params.out_h * params.out_w;
    let co = grp * params.opg + m;
    let bv = select(0.0, bias_in[co], params.has_bias != 0u && split == 0u);
    dst[(((n / plane) * params.cout + co) * plane + n % plane) * params.splits + split] = v + bv;
  } else {
    let plane = params.height * params.width;
    dst[(((n / plane) * params.cin + grp * params.cpg + m) * plane + n % plane) * params.splits + split] = v;
  }
}

// Stores a 4x4 block: acc[j][i] is (row m + i, column c.n[j]).
fn store_gemm(acc: mat4x4<f32>, m: u32, c: Cols, t: Tile) {
  for (var j = 0u; j < 4u; j++) {
    let v = acc[j];
    let n = c.n[j];
    put_gemm(v.x, m, n, t.split, t.grp);
    put_gemm(v.y, m + 1u, n, t.split, t.grp);
    put_gemm(v.z, m + 2u, n, t.split, t.grp);
    put_gemm(v.w, m + 3u, n, t.split, t.grp);
  }
}

@compute @workgroup_size(WGX, WGY)
fn conv_gemm(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let t = tile_of(wid, nwg);
  let m0 = (wid.y * WGY + lid.y) * TM;
  let n0 = (t.nblock * WGX + lid.x) * TN;
  let c_begin = t.split * params.chunk;
  let c_end = min(c_begin + params.chunk, params.k4);
  var col0: Cols;
  var col1: Cols;
  var col2: Cols;
  var col3: Cols;
  col0 = columns(n0 + 0u, t.grp);
  if (TN > 4u) { col1 = columns(n0 + 4u, t.grp); }
  if (TN > 8u) { col2 = columns(n0 + 8u, t.grp); }
  if (TN > 12u) { col3 = columns(n0 + 12u, t.grp); }
  var acc00 = mat4x4<f32>();
  var acc01 = mat4x4<f32>();
  var acc02 = mat4x4<f32>();
  var acc03 = mat4x4<f32>();
  var acc10 = mat4x4<f32>();
  var acc11 = mat4x4<f32>();
  var acc12 = mat4x4<f32>();
  var acc13 = mat4x4<f32>();
  var acc20 = mat4x4<f32>();
  var acc21 = mat4x4<f32>();
  var acc22 = mat4x4<f32>();
  var acc23 = mat4x4<f32>();
  var acc30 = mat4x4<f32>();
  var acc31 = mat4x4<f32>();
  var acc32 = mat4x4<f32>();
  var acc33 = mat4x4<f32>();
  var ao0: vec4<u32>;
  var ao1: vec4<u32>;
  var ao2: vec4<u32>;
  var ao3: vec4<u32>;
  var xo0: vec4<u32>;
  var xo1: vec4<u32>;
  var xo2: vec4<u32>;
  var xo3: vec4<u32>;
  var wa0: mat4x4<f32>;
  var wa1: mat4x4<f32>;
  var wa2: mat4x4<f32>;
  var wa3: mat4x4<f32>;
  var xb0: mat4x4<f32>;
  var xb1: mat4x4<f32>;
  var xb2: mat4x4<f32>;
  var xb3: mat4x4<f32>;
  for (var kh = 0u; kh < params.k_h; kh++) {
    for (var kw = 0u; kw < params.k_w; kw++) {
      let abase = (t.grp * params.k_h * params.k_w + kh * params.k_w + kw) * params.a_rows;
      ao0 = a_rows(abase, m0 + 0u);
      if (TM > 4u) { ao1 = a_rows(abase, m0 + 4u); }
      if (TM > 8u) { ao2 = a_rows(abase, m0 + 8u); }
      if (TM > 12u) { ao3 = a_rows(abase, m0 + 12u); }
      xo0 = tap_rows(col0, kh, kw);
      if (TN > 4u) { xo1 = tap_rows(col1, kh, kw); }
      if (TN > 8u) { xo2 = tap_rows(col2, kh, kw); }
      if (TN > 12u) { xo3 = tap_rows(col3, kh, kw); }
      for (var c = c_begin; c < c_end; c++) {
        wa0 = ld_rows_t(ao0, c);
        if (TM > 4u) { wa1 = ld_rows_t(ao1, c); }
        if (TM > 8u) { wa2 = ld_rows_t(ao2, c); }
        if (TM > 12u) { wa3 = ld_rows_t(ao3, c); }
        xb0 = ld_rows(xo0, c);
        if (TN > 4u) { xb1 = ld_rows(xo1, c); }
        if (TN > 8u) { xb2 = ld_rows(xo2, c); }
        if (TN > 12u) { xb3 = ld_rows(xo3, c); }
        acc00 += wa0 * xb0;
        if (TN > 4u) { acc01 += wa0 * xb1; }
        if (TN > 8u) { acc02 += wa0 * xb2; }
        if (TN > 12u) { acc03 += wa0 * xb3; }
        if (TM > 4u) {
          acc10 += wa1 * xb0;
          if (TN > 4u) { acc11 += wa1 * xb1; }
          if (TN > 8u) { acc12 += wa1 * xb2; }
          if (TN > 12u) { acc13 += wa1 * xb3; }
        }
        if (TM > 8u) {
          acc20 += wa2 * xb0;
          if (TN > 4u) { acc21 += wa2 * xb1; }
          if (TN > 8u) { acc22 += wa2 * xb2; }
          if (TN > 12u) { acc23 += wa2 * xb3; }
        }
        if (TM > 12u) {
          acc30 += wa3 * xb0;
          if (TN > 4u) { acc31 += wa3 * xb1; }
          if (TN > 8u) { acc32 += wa3 * xb2; }
          if (TN > 12u) { acc33 += wa3 * xb3; }
        }
      }
    }
  }
  store_gemm(acc00, m0 + 0u, col0, t);
  if (TN > 4u) { store_gemm(acc01, m0 + 0u, col1, t); }
  if (TN > 8u) { store_gemm(acc02, m0 + 0u, col2, t); }
  if (TN > 12u) { store_gemm(acc03, m0 + 0u, col3, t); }
  if (TM > 4u) {
    store_gemm(acc10, m0 + 4u, col0, t);
    if (TN > 4u) { store_gemm(acc11, m0 + 4u, col1, t); }
    if (TN > 8u) { store_gemm(acc12, m0 + 4u, col2, t); }
    if (TN > 12u) { store_gemm(acc13, m0 + 4u, col3, t); }
  }
  if (TM > 8u) {
    store_gemm(acc20, m0 + 8u, col0, t);
    if (TN > 4u) { store_gemm(acc21, m0 + 8u, col1, t); }
    if (TN > 8u) { store_gemm(acc22, m0 + 8u, col2, t); }
    if (TN > 12u) { store_gemm(acc23, m0 + 8u, col3, t); }
  }
  if (TM > 12u) {
    store_gemm(acc30, m0 + 12u, col0, t);
    if (TN > 4u) { store_gemm(acc31, m0 + 12u, col1, t); }
    if (TN > 8u) { store_gemm(acc32, m0 + 12u, col2, t); }
    if (TN > 12u) { store_gemm(acc33, m0 + 12u, col3, t); }
  }
}

// ------------------------------------------------------------------------------- weight grad

// A block of the weight gradient: columns = 4 positions, rows = 4 output channels (g rows).
fn ld_pos_g(o: vec4<u32>, m4: u32) -> mat4x4<f32> {
  let q = min(m4, params.g4 - 1u);
  return mat4x4<f32>(gp4[o.x + q], gp4[o.y + q], gp4[o.z + q], gp4[o.w + q]);
}

// B block: columns = 4 positions, rows = 4 input channels (x rows shifted by the tap).
fn ld_pos_x(o: vec4<u32>, c4: u32) -> mat4x4<f32> {
  let q = min(c4, params.k4 - 1u);
  return mat4x4<f32>(act4[o.x + q], act4[o.y + q], act4[o.z + q], act4[o.w + q]);
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

@compute @workgroup_size(WGX, WGY)
fn conv_dw(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let t = tile_of(wid, nwg);
  let kk = params.k_h * params.k_w;
  let m0 = (wid.y * WGY + lid.y) * TM;
  let cb = t.nblock * WGX + lid.x;
  let tap = min(cb / params.col_blocks, kk - 1u);
  let c0 = (cb % params.col_blocks) * TN;
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
  var acc00 = mat4x4<f32>();
  var acc01 = mat4x4<f32>();
  var acc02 = mat4x4<f32>();
  var acc03 = mat4x4<f32>();
  var acc10 = mat4x4<f32>();
  var acc11 = mat4x4<f32>();
  var acc12 = mat4x4<f32>();
  var acc13 = mat4x4<f32>();
  var acc20 = mat4x4<f32>();
  var acc21 = mat4x4<f32>();
  var acc22 = mat4x4<f32>();
  var acc23 = mat4x4<f32>();
  var acc30 = mat4x4<f32>();
  var acc31 = mat4x4<f32>();
  var acc32 = mat4x4<f32>();
  var acc33 = mat4x4<f32>();
  var ga0: mat4x4<f32>;
  var ga1: mat4x4<f32>;
  var ga2: mat4x4<f32>;
  var ga3: mat4x4<f32>;
  var xb0: mat4x4<f32>;
  var xb1: mat4x4<f32>;
  var xb2: mat4x4<f32>;
  var xb3: mat4x4<f32>;
  for (var p = p_begin; p < p_end; p += 4u) {
    // Four consecutive positions; those past the chunk read zero rows.
    let ok = vec4<u32>(p) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(p_end);
    let grow = select(vec4<u32>(gzero), vec4<u32>(gbase + p) + vec4<u32>(0u, 1u, 2u, 3u), ok) * params.g4;
    let pos1 = next_pos(pos);
    let pos2 = next_pos(pos1);
    let pos3 = next_pos(pos2);
    let xrow = vec4<u32>(x_row(x_at, pos, ok.x), x_row(x_at, pos1, ok.y), x_row(x_at, pos2, ok.z), x_row(x_at, pos3, ok.w));
    pos = next_pos(pos3);
    ga0 = ld_pos_g(grow, gm4 + 0u);
    if (TM > 4u) { ga1 = ld_pos_g(grow, gm4 + 1u); }
    if (TM > 8u) { ga2 = ld_pos_g(grow, gm4 + 2u); }
    if (TM > 12u) { ga3 = ld_pos_g(grow, gm4 + 3u); }
    xb0 = ld_pos_x(xrow, xc4 + 0u);
    if (TN > 4u) { xb1 = ld_pos_x(xrow, xc4 + 1u); }
    if (TN > 8u) { xb2 = ld_pos_x(xrow, xc4 + 2u); }
    if (TN > 12u) { xb3 = ld_pos_x(xrow, xc4 + 3u); }
    acc00 += ga0 * transpose(xb0);
    if (TN > 4u) { acc01 += ga0 * transpose(xb1); }
    if (TN > 8u) { acc02 += ga0 * transpose(xb2); }
    if (TN > 12u) { acc03 += ga0 * transpose(xb3); }
    if (TM > 4u) {
      acc10 += ga1 * transpose(xb0);
      if (TN > 4u) { acc11 += ga1 * transpose(xb1); }
      if (TN > 8u) { acc12 += ga1 * transpose(xb2); }
      if (TN > 12u) { acc13 += ga1 * transpose(xb3); }
    }
    if (TM > 8u) {
      acc20 += ga2 * transpose(xb0);
      if (TN > 4u) { acc21 += ga2 * transpose(xb1); }
      if (TN > 8u) { acc22 += ga2 * transpose(xb2); }
      if (TN > 12u) { acc23 += ga2 * transpose(xb3); }
    }
    if (TM > 12u) {
      acc30 += ga3 * transpose(xb0);
      if (TN > 4u) { acc31 += ga3 * transpose(xb1); }
      if (TN > 8u) { acc32 += ga3 * transpose(xb2); }
      if (TN > 12u) { acc33 += ga3 * transpose(xb3); }
    }
  }
  if (cb >= params.col_blocks * kk) {
    return;
  }
  store_dw(acc00, m0 + 0u, c0 + 0u, tap, t);
  if (TN > 4u) { store_dw(acc01, m0 + 0u, c0 + 4u, tap, t); }
  if (TN > 8u) { store_dw(acc02, m0 + 0u, c0 + 8u, tap, t); }
  if (TN > 12u) { store_dw(acc03, m0 + 0u, c0 + 12u, tap, t); }
  if (TM > 4u) {
    store_dw(acc10, m0 + 4u, c0 + 0u, tap, t);
    if (TN > 4u) { store_dw(acc11, m0 + 4u, c0 + 4u, tap, t); }
    if (TN > 8u) { store_dw(acc12, m0 + 4u, c0 + 8u, tap, t); }
    if (TN > 12u) { store_dw(acc13, m0 + 4u, c0 + 12u, tap, t); }
  }
  if (TM > 8u) {
    store_dw(acc20, m0 + 8u, c0 + 0u, tap, t);
    if (TN > 4u) { store_dw(acc21, m0 + 8u, c0 + 4u, tap, t); }
    if (TN > 8u) { store_dw(acc22, m0 + 8u, c0 + 8u, tap, t); }
    if (TN > 12u) { store_dw(acc23, m0 + 8u, c0 + 12u, tap, t); }
  }
  if (TM > 12u) {
    store_dw(acc30, m0 + 12u, c0 + 0u, tap, t);
    if (TN > 4u) { store_dw(acc31, m0 + 12u, c0 + 4u, tap, t); }
    if (TN > 8u) { store_dw(acc32, m0 + 12u, c0 + 8u, tap, t); }
    if (TN > 12u) { store_dw(acc33, m0 + 12u, c0 + 12u, tap, t); }
  }
}
