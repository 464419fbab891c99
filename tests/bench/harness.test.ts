/**
 * The benchmark harness (bench/) runs end to end at tiny sizes and produces sane records. This is
 * not a benchmark: it only proves that `npm run bench` works (timings here mean nothing).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { setupWebGPU } from '../helpers/webgpu.js';
import { parseSections, plan, runBench } from '../../bench/index.js';
import { stats } from '../../bench/harness.js';
import { convMacs, convShapes, FULL, paramCount } from '../../bench/shapes.js';
import { formatReport } from '../../bench/report.js';
import type { BenchReport } from '../../bench/types.js';

describe('bench helpers', () => {
  it('computes median, min and max', () => {
    const s = stats([5, 1, 3, 9]);
    expect(s.median).toBe(4);
    expect(s.min).toBe(1);
    expect(s.max).toBe(9);
    expect(stats([2, 7, 3]).median).toBe(3);
  });

  it('knows ResEmoteNet: 80.2M parameters, 12 convs, padding taps not counted', () => {
    expect(paramCount(FULL)).toBe(80_238_599);
    const convs = convShapes(16, FULL);
    expect(convs.map((c) => c.layer)).toContain('res_block3.conv2');
    expect(convs).toHaveLength(12);
    const last = convs.find((c) => c.layer === 'res_block3.conv2')!.p;
    expect([last.C_in, last.C_out, last.OH]).toEqual([2048, 2048, 1]);
    // 3x3 on a 1x1 map with padding 1: only the centre tap touches the input.
    expect(convMacs(last)).toBe(16 * 2048 * 2048);
  });

  it('parses options', () => {
    expect(parseSections(undefined)).toEqual(['model', 'peers', 'kernels']);
    expect(parseSections('kernels,peers')).toEqual(['peers', 'kernels']);
    expect(() => parseSections('nope' as never)).toThrow(/unknown section/);
    const q = plan({ quick: true });
    expect(q.sizes).toBe('tiny');
    expect(q.runs).toBe(3);
    const full = plan({});
    expect(full.batches).toEqual([1, 16, 64]);
    expect(full.runs).toBeGreaterThanOrEqual(5);
    expect(full.kernelMeasure.minRuns).toBeGreaterThanOrEqual(5);
  });
});

const gpu = await setupWebGPU();

describe.runIf(gpu !== null)('bench harness on WebGPU', () => {
  it('runs the kernel section at tiny sizes and writes sane JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-'));
    const path = join(dir, 'r.json');
    try {
      const r = await runBench({ quick: true, only: 'kernels', sizes: 'tiny', json: path, log: () => {} });
      const disk = JSON.parse(readFileSync(path, 'utf8')) as BenchReport;
      expect(disk.kernels.length).toBe(r.kernels.length);
      expect(r.adapter.description + r.adapter.device).not.toBe('');
      expect(r.versions.node).toBe(process.version);
      expect(r.kernels.length).toBeGreaterThan(50);
      const groups = new Set(r.kernels.map((k) => k.group));
      for (const g of ['peak', 'conv2d', 'matmul', 'batch_norm', 'max_pool2d', 'se_block', 'cross_entropy', 'sgd']) expect(groups).toContain(g);
      for (const k of r.kernels) {
        expect(k.name).not.toBe('');
        expect(k.error, k.name).toBeUndefined();
        expect(k.shape, k.name).not.toBe('');
        const t = k.time!;
        expect(t.median, k.name).toBeGreaterThan(0);
        expect(t.min).toBeLessThanOrEqual(t.median);
        expect(t.max).toBeGreaterThanOrEqual(t.median);
        expect(t.samples.length).toBeGreaterThanOrEqual(3);
        expect(k.coldMs).toBeGreaterThan(0);
        expect(k.inner).toBeGreaterThanOrEqual(1);
        if (k.flops) expect(k.gflops).toBeGreaterThan(0);
        if (k.bytes) expect(k.gbps).toBeGreaterThan(0);
        if (k.group !== 'peak' && (r.peak.gflops || r.peak.gbps)) {
          if ((k.bound === 'compute' && r.peak.gflops) || (k.bound === 'memory' && r.peak.gbps)) expect(k.peakFraction, k.name).toBeGreaterThan(0);
        }
      }
      expect(r.peak.gbps).toBeGreaterThan(0);
      expect(formatReport(r)).toContain('Kernels');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
