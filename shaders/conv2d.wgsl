// conv2d as three register-blocked implicit GEMMs (NCHW, weight [Cout, Cin/groups, KH, KW]).
//
// Every invocation accumulates a TM x TN block of one GEMM in registers; the workgroup is
// (WGX, WGY) with WGX a multiple of 8 so llvmpipe's 8-wide SIMD rows share their M block.
// The grid is (N blocks, M blocks, group * splits * fold): `fold` spreads N blocks over z when
// there are more than 65535 of them, `splits` cuts the K loop into chunks (llvmpipe stops any
// invocation after 65535 loop iterations) whose partial results go to dst[idx * splits + split]
// and are summed by a second pass (engine/ops/reduce.ts sumRows). No atomics: deterministic.
//
//   conv_fwd: out[b, g*OPG + m, oh, ow]   M = OPG, N = B*OH*OW, K = CPG*KH*KW (split over c)
//   conv_dx:  dx[b, g*CPG + c, ih, iw]    M = CPG, N = B*H*W,   K = OPG*KH*KW (split over m)
//   conv_dw:  dw[g*OPG + m, c, kh, kw]    M = OPG, N = CPG*KH*KW (tap-major), K = B*OH*OW
//                                          (split over rows (b, oh))
// Padding (and, for conv_dx, taps that miss the stride grid) read as 0: the load address is
// clamped in range and the value selected away.

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
  col_blocks: u32,
  m_total: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias_in: array<f32>;
@group(0) @binding(4) var<storage, read> grad: array<f32>;
@group(0) @binding(5) var<storage, read_write> dst: array<f32>;

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

// Index of the j-th of the TN GEMM columns an invocation owns (strided by WGX so that the
// 8 lanes of a SIMD row read neighbouring addresses).
fn column(nblock: u32, lx: u32, j: u32) -> u32 {
  return nblock * (WGX * TN) + j * WGX + lx;
}

@compute @workgroup_size(WGX, WGY)
fn conv_fwd(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let t = tile_of(wid, nwg);
  let m0 = (wid.y * WGY + lid.y) * TM;
  let hw = params.height * params.width;
  let ohw = params.out_h * params.out_w;
  let kk = params.k_h * params.k_w;
  let kg = params.cpg * kk;
  let c_begin = t.split * params.chunk;
  let c_end = min(c_begin + params.chunk, params.cpg);

  var xoff: array<u32, TN>;
  var ih0: array<i32, TN>;
  var iw0: array<i32, TN>;
  for (var j = 0u; j < TN; j++) {
    let n = min(column(t.nblock, lid.x, j), params.n_total - 1u);
    let b = n / ohw;
    let r = n % ohw;
    xoff[j] = (b * params.cin + t.grp * params.cpg) * hw;
    ih0[j] = i32((r / params.out_w) * params.stride_h) - i32(params.pad_h);
    iw0[j] = i32((r % params.out_w) * params.stride_w) - i32(params.pad_w);
  }
  var wrow: array<u32, TM>;
  for (var i = 0u; i < TM; i++) {
    wrow[i] = (t.grp * params.opg + min(m0 + i, params.opg - 1u)) * kg;
  }

  var acc: array<f32, TM * TN>;
  for (var kh = 0u; kh < params.k_h; kh++) {
    for (var kw = 0u; kw < params.k_w; kw++) {
      var off: array<u32, TN>;
      var ok: array<bool, TN>;
      for (var j = 0u; j < TN; j++) {
        let ih = ih0[j] + i32(kh * params.dil_h);
        let iw = iw0[j] + i32(kw * params.dil_w);
        ok[j] = u32(ih) < params.height && u32(iw) < params.width;
        off[j] = xoff[j] + select(0u, u32(ih) * params.width + u32(iw), ok[j]);
      }
      let tap = kh * params.k_w + kw;
      for (var c = c_begin; c < c_end; c++) {
        var xv: array<f32, TN>;
        for (var j = 0u; j < TN; j++) {
          xv[j] = select(0.0, src[off[j] + c * hw], ok[j]);
        }
        for (var i = 0u; i < TM; i++) {
          let wv = weight[wrow[i] + c * kk + tap];
          for (var j = 0u; j < TN; j++) {
            acc[i * TN + j] = fma(wv, xv[j], acc[i * TN + j]);
          }
        }
      }
    }
  }

  let add_bias = params.has_bias != 0u && t.split == 0u;
  for (var i = 0u; i < TM; i++) {
    let m = m0 + i;
    if (m >= params.opg) {
      break;
    }
    let co = t.grp * params.opg + m;
    let bv = select(0.0, bias_in[min(co, params.cout - 1u)], add_bias);
    for (var j = 0u; j < TN; j++) {
      let n = column(t.nblock, lid.x, j);
      if (n < params.n_total) {
        let b = n / ohw;
        let r = n % ohw;
        dst[((b * params.cout + co) * ohw + r) * params.splits + t.split] = acc[i * TN + j] + bv;
      }
    }
  }
}

@compute @workgroup_size(WGX, WGY)
fn conv_dx(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let t = tile_of(wid, nwg);
  let c0 = (wid.y * WGY + lid.y) * TM;
  let hw = params.height * params.width;
  let ohw = params.out_h * params.out_w;
  let kk = params.k_h * params.k_w;
  let kg = params.cpg * kk;
  let m_begin = t.split * params.chunk;
  let m_end = min(m_begin + params.chunk, params.opg);

  var goff: array<u32, TN>;
  var th0: array<i32, TN>;
  var tw0: array<i32, TN>;
  for (var j = 0u; j < TN; j++) {
    let n = min(column(t.nblock, lid.x, j), params.n_total - 1u);
    let b = n / hw;
    let r = n % hw;
    goff[j] = (b * params.cout + t.grp * params.opg) * ohw;
    th0[j] = i32(r / params.width) + i32(params.pad_h);
    tw0[j] = i32(r % params.width) + i32(params.pad_w);
  }
  var wcol: array<u32, TM>;
  for (var i = 0u; i < TM; i++) {
    wcol[i] = t.grp * params.opg * kg + min(c0 + i, params.cpg - 1u) * kk;
  }

  var acc: array<f32, TM * TN>;
  for (var kh = 0u; kh < params.k_h; kh++) {
    for (var kw = 0u; kw < params.k_w; kw++) {
      var off: array<u32, TN>;
      var ok: array<bool, TN>;
      var any_ok = false;
      for (var j = 0u; j < TN; j++) {
        // Output row oh = (ih + pad - kh*dil) / stride when that divides and is in range.
        let th = th0[j] - i32(kh * params.dil_h);
        let tw = tw0[j] - i32(kw * params.dil_w);
        let oh = u32(th) / params.stride_h;
        let ow = u32(tw) / params.stride_w;
        ok[j] = th >= 0 && tw >= 0 && oh * params.stride_h == u32(th) && ow * params.stride_w == u32(tw) &&
          oh < params.out_h && ow < params.out_w;
        off[j] = goff[j] + select(0u, oh * params.out_w + ow, ok[j]);
        any_ok = any_ok || ok[j];
      }
      if (!any_ok) {
        continue;
      }
      let tap = kh * params.k_w + kw;
      for (var m = m_begin; m < m_end; m++) {
        var gv: array<f32, TN>;
        for (var j = 0u; j < TN; j++) {
          gv[j] = select(0.0, grad[off[j] + m * ohw], ok[j]);
        }
        for (var i = 0u; i < TM; i++) {
          let wv = weight[wcol[i] + m * kg + tap];
          for (var j = 0u; j < TN; j++) {
            acc[i * TN + j] = fma(wv, gv[j], acc[i * TN + j]);
          }
        }
      }
    }
  }

  for (var i = 0u; i < TM; i++) {
    let c = c0 + i;
    if (c >= params.cpg) {
      break;
    }
    for (var j = 0u; j < TN; j++) {
      let n = column(t.nblock, lid.x, j);
      if (n < params.n_total) {
        let b = n / hw;
        let r = n % hw;
        dst[((b * params.cin + t.grp * params.cpg + c) * hw + r) * params.splits + t.split] = acc[i * TN + j];
      }
    }
  }
}

@compute @workgroup_size(WGX, WGY)
fn conv_dw(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let t = tile_of(wid, nwg);
  let m0 = (wid.y * WGY + lid.y) * TM;
  let hw = params.height * params.width;
  let ohw = params.out_h * params.out_w;
  let kk = params.k_h * params.k_w;
  let kg = params.cpg * kk;
  // Column block -> (tap, first channel); the TN columns are TN consecutive channels.
  let cb = t.nblock * WGX + lid.x;
  let tap = min(cb / params.col_blocks, kk - 1u);
  let cbase = (cb % params.col_blocks) * TN;
  let kh = tap / params.k_w;
  let kw = tap % params.k_w;
  let dh = i32(kh * params.dil_h) - i32(params.pad_h);
  let dw = i32(kw * params.dil_w) - i32(params.pad_w);

  var xch: array<u32, TN>;
  for (var j = 0u; j < TN; j++) {
    xch[j] = (t.grp * params.cpg + min(cbase + j, params.cpg - 1u)) * hw;
  }
  var gch: array<u32, TM>;
  for (var i = 0u; i < TM; i++) {
    gch[i] = (t.grp * params.opg + min(m0 + i, params.opg - 1u)) * ohw;
  }

  let rows = params.batch * params.out_h;
  let r_begin = t.split * params.chunk;
  let r_end = min(r_begin + params.chunk, rows);
  var acc: array<f32, TM * TN>;
  for (var row = r_begin; row < r_end; row++) {
    let b = row / params.out_h;
    let oh = row % params.out_h;
    let ih = i32(oh * params.stride_h) + dh;
    if (u32(ih) >= params.height) {
      continue;
    }
    let xrow = b * params.cin * hw + u32(ih) * params.width;
    let grow = b * params.cout * ohw + oh * params.out_w;
    var iw = dw;
    for (var ow = 0u; ow < params.out_w; ow++) {
      let ok = u32(iw) < params.width;
      let ix = xrow + select(0u, u32(iw), ok);
      var xv: array<f32, TN>;
      for (var j = 0u; j < TN; j++) {
        xv[j] = select(0.0, src[xch[j] + ix], ok);
      }
      for (var i = 0u; i < TM; i++) {
        let gv = grad[gch[i] + grow + ow];
        for (var j = 0u; j < TN; j++) {
          acc[i * TN + j] = fma(gv, xv[j], acc[i * TN + j]);
        }
      }
      iw += i32(params.stride_w);
    }
  }

  if (cb >= params.col_blocks * kk) {
    return;
  }
  for (var i = 0u; i < TM; i++) {
    let m = m0 + i;
    if (m >= params.opg) {
      break;
    }
    for (var j = 0u; j < TN; j++) {
      let c = cbase + j;
      if (c < params.cpg) {
        dst[((t.grp * params.opg + m) * kg + c * kk + tap) * params.splits + t.split] = acc[i * TN + j];
      }
    }
  }
}
