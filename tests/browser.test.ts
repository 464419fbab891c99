/**
 * The library in a real browser: bundles tests/browser/entry.ts with Vite, serves it on
 * 127.0.0.1 and runs it in headless Chromium on SwiftShader's WebGPU (navigator.gpu, not Dawn's
 * Node bindings). The page runs each op on 'webgpu' and on 'cpu' and reports per-check results.
 * Without Chromium: fails with CI=true (scripts/setup.sh installs Debian's `chromium`), skips
 * with a warning otherwise. $CHROMIUM_BIN selects the browser.
 */
import { describe, expect, it } from 'vitest';
import { findChromium, runInChromium, type BrowserReport } from './browser/harness.js';

const chromium = findChromium();
const CI = process.env.CI === 'true';
if (!chromium && !CI) {
  console.warn('browser test skipped: no chromium found (apt-get install chromium, or set CHROMIUM_BIN)');
}

/**
 * Checks whose webgpu kernels exist today: they must pass in the browser. Every other check must
 * pass too once its kernel lands; until then it may report 'unimplemented' (never 'fail'/'error').
 */
const REQUIRED = ['elementwise', 'matmul', 'conv2d', 'autograd', 'nn'];

describe('browser (headless Chromium, navigator.gpu)', () => {
  it('runs the library on WebGPU in the page and matches the cpu reference', async (ctx) => {
    if (!chromium) {
      if (CI) throw new Error("CI=true but no chromium: run `bash scripts/setup.sh` (installs Debian's chromium) or set CHROMIUM_BIN");
      ctx.skip();
      return;
    }
    const t0 = performance.now();
    const { report, bundle, timings } = await runInChromium(chromium, { timeoutMs: 60_000 });
    printReport(report, { ...timings, totalMs: Math.round(performance.now() - t0) });

    // The bundle is browser code: Dawn's Node package and node: builtins stay out of it.
    expect(bundle).not.toContain('dawn.node');
    expect(bundle).not.toContain('createRequire');
    expect(bundle).not.toMatch(/^\s*import\s[^;]*from\s*["'](?:node:|webgpu)/m);

    expect(report.fatal, report.fatal).toBeUndefined();
    expect(report.hasNavigatorGpu).toBe(true);
    expect(report.adapter, 'navigator.gpu gave no adapter').not.toBeNull();
    expect(report.adapter!.vendor || report.adapter!.architecture).not.toBe('');
    expect(report.gpuErrors).toEqual([]);

    const ids = report.checks.map((c) => c.id);
    for (const id of REQUIRED) expect(ids, `check '${id}' missing from the report`).toContain(id);
    for (const c of report.checks) {
      const what = `${c.id} (${c.name}): ${c.status}, max |gpu-cpu| = ${c.maxAbsDiff}, ${c.error ?? ''}`;
      if (REQUIRED.includes(c.id)) expect(c.status, what).toBe('pass');
      else expect(['pass', 'unimplemented'], what).toContain(c.status);
    }
  }, 90_000);
});

function printReport(r: BrowserReport, timings: Record<string, number>): void {
  const a = r.adapter;
  const lines = [
    `browser: ${r.userAgent}`,
    `adapter: ${a ? `${a.vendor} / ${a.architecture} / ${a.device} ${a.description} (software: ${a.isSoftware})` : 'none'}`,
    `features: ${a?.features.join(', ') ?? '-'}`,
    ...r.checks.map(
      (c) => `  ${c.status.padEnd(13)} ${c.id.padEnd(12)} max|diff| ${String(c.maxAbsDiff ?? 'NaN').padEnd(24)} ${String(c.ms).padStart(6)} ms  ${c.error ?? ''}`,
    ),
    `timings: ${Object.entries(timings).map(([k, v]) => `${k}=${v}`).join(' ')}, page ${r.totalMs} ms`,
  ];
  if (r.fatal) lines.push(`FATAL: ${r.fatal}`);
  console.log(lines.join('\n'));
}
