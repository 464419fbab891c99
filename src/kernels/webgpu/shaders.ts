/**
 * WGSL sources from shaders/*.wgsl (embedded by scripts/gen-shaders.mjs) with `{{NAME}}`
 * placeholders filled per specialization (element type, op expression, tile sizes).
 */
import { SHADERS } from './shaders.gen.js';

/** The source of shaders/<name>.wgsl with each {{KEY}} replaced by defs[KEY]. */
export function shader(name: string, defs: Record<string, string | number> = {}): string {
  const src = SHADERS[name];
  if (src === undefined) throw new Error(`shader '${name}' not found in shaders/ (did you run node scripts/gen-shaders.mjs?)`);
  // `#include "other"` pulls in shaders/other.wgsl (shared helpers), once per line.
  const full = src.replace(/^#include "(\w+)"$/gm, (_, inc: string) => {
    const s = SHADERS[inc];
    if (s === undefined) throw new Error(`shader '${name}': included shader '${inc}' not found`);
    return s;
  });
  return full.replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
    const v = defs[k];
    if (v === undefined) throw new Error(`shader '${name}': no value for {{${k}}}`);
    return String(v);
  });
}

/** A cache key for a shader specialization. */
export function shaderKey(name: string, defs: Record<string, string | number> = {}): string {
  return name + JSON.stringify(defs);
}

/**
 * `code` with the uniform fields P.<name> of `values` replaced by u32 literals. On lavapipe an
 * integer division or modulo by a uniform is a scalar loop over the SIMD lanes, by a literal it is
 * a multiply and shift (or nothing): for kernels that split a flat index per invocation, compiling
 * one pipeline per shape pays (conv_pack4 16x64x4096: 5.7-6.3 -> 4.0-4.3 ms on lavapipe,
 * 2026-12-05). The struct keeps the fields; the host still writes them.
 */
export function withLiterals(code: string, values: Record<string, number>): string {
  return code.replace(/\bP\.(\w+)\b/g, (m, k: string) => (values[k] === undefined ? m : `${values[k] >>> 0}u`));
}
