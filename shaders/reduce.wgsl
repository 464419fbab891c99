// One pass of a reduction over the last axis of a contiguous (outer, inner) matrix: sum, max,
// min, argmax, argmin of f32 or i32 (specialized by reduce.ts).
// Each row is cut into `nchunks` chunks of `chunk` elements ("segments"); a group of T lanes
// (a power of two <= 256, T = P.lanes) reduces one segment: each lane folds a strided share of
// the segment (at most 16 elements), then the group combines its lanes as a tree in workgroup
// memory. A workgroup of 256 holds 256 / T segments, so many short rows share a workgroup and a
// long row spreads over many workgroups; the partial results (one per segment, with the index
// for arg ops) are reduced again by the next pass until one chunk per row remains.
// NaN wins in max/min/argmax/argmin; arg ops keep the first index on ties (and the first NaN).
#include "strided"

struct Params {
  nseg: u32,     // segments in this dispatch
  seg0: u32,     // global index of its first segment
  inner: u32,    // row length of this pass's input
  nchunks: u32,  // segments per row
  chunk: u32,    // elements per segment
  lanes: u32,    // T
  x_base: u32,   // global element index bound at x[0] (and xi[0])
  o_base: u32,   // global segment index bound at o[0] (and oi[0])
}

@group(0) @binding(0) var<storage, read> x: array<{{T}}>;
@group(0) @binding(1) var<storage, read> xi: array<u32>;
@group(0) @binding(2) var<storage, read_write> o: array<{{T}}>;
@group(0) @binding(3) var<storage, read_write> oi: array<u32>;
@group(0) @binding(4) var<uniform> P: Params;

const OP_SUM = 0u;
const OP_MAX = 1u;
const OP_MIN = 2u;
const OPC = {{OPC}}u;         // OP_SUM, OP_MAX or OP_MIN (argmax is MAX with indices)
const ARG = {{ARG}};          // arg op: track indices
const READ_IDX = {{READ_IDX}}; // input comes with indices (a later pass of an arg op)
const WRITE_VAL = {{WRITE_VAL}};
const TREE = {{TREE}};        // false when T = 1: no workgroup memory, no barriers
const NONE = 0xffffffffu;

var<workgroup> sv: array<{{T}}, 256>;
var<workgroup> si: array<u32, 256>;

fn isnan_t(v: {{T}}) -> bool {
  {{ISNAN}}
}

fn neutral() -> {{T}} {
  {{NEUTRAL}}
}

// Whether (vb, ib) replaces the running (va, ia): NaN first, then the extremum, then the lower index.
fn better(va: {{T}}, ia: u32, vb: {{T}}, ib: u32) -> bool {
  let na = isnan_t(va);
  let nb = isnan_t(vb);
  if (na || nb) { return nb && (!na || ib < ia); }
  if (vb == va) { return ib < ia; }
  if (OPC == OP_MAX) { return vb > va; }
  return vb < va;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let T = P.lanes;
  let local_seg = (wid.x + wid.y * nwg.x) * (256u / T) + lid / T;
  let lane = lid % T;
  let valid = local_seg < P.nseg;
  var acc = neutral();
  var acc_i = NONE;
  if (valid) {
    let s = P.seg0 + local_seg;
    let row = s / P.nchunks;
    let c = s % P.nchunks;
    let first = c * P.chunk;
    let len = min(P.chunk, P.inner - first);
    let base = row * P.inner + first - P.x_base;
    for (var i = lane; i < len; i += T) {
      let v = x[base + i];
      if (OPC == OP_SUM) {
        acc = acc + v;
      } else {
        var idx = first + i;
        if (READ_IDX) { idx = xi[base + i]; }
        if (better(acc, acc_i, v, idx)) { acc = v; acc_i = idx; }
      }
    }
  }
  if (TREE) {
    sv[lid] = acc;
    si[lid] = acc_i;
    workgroupBarrier();
    for (var h = T / 2u; h > 0u; h = h / 2u) {
      if (lane < h) {
        let vb = sv[lid + h];
        if (OPC == OP_SUM) {
          sv[lid] = sv[lid] + vb;
        } else {
          let ib = si[lid + h];
          if (better(sv[lid], si[lid], vb, ib)) { sv[lid] = vb; si[lid] = ib; }
        }
      }
      workgroupBarrier();
    }
    acc = sv[lid];
    acc_i = si[lid];
  }
  if (valid && lane == 0u) {
    let j = P.seg0 + local_seg - P.o_base;
    if (WRITE_VAL) { o[j] = acc; }
    if (ARG) { oi[j] = acc_i; }
  }
}
