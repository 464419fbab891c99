/**
 * The benchmark harness (bench/) runs end to end at tiny sizes and produces sane records. This is
 * not a benchmark: it only proves that `npm run bench` works (timings here mean nothing).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { setupWebGPU } from '../helpers/webgpu.js';
import { parseSections, parseSuites, plan, runBench, torchConfigs } from '../../bench/index.js';
import { alternateAll, stats } from '../../bench/harness.js';
import { convMacs, convShapes, FULL, paramCount, QUARTER, widthLabel } from '../../bench/shapes.js';
import { buildComparison } from '../../bench/comparison.js';
import { findTorchPython } from '../../bench/torch_peer.js';
import { comparisonTable, formatReport } from '../../bench/report.js';
import type { BenchReport, ModelResult, PairResult } from '../../bench/types.js';

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

  it('plans both model suites: full width at 64x64 and the shipped width 1/4 at 48x48', () => {
    expect(parseSuites(undefined)).toEqual(['full', 'quarter']);
    expect(parseSuites('quarter')).toEqual(['quarter']);
    expect(() => parseSuites('half')).toThrow(/unknown suite 'half'/);
    const full = plan({});
    expect(full.suites.map((s) => [s.name, s.geometry.width, s.geometry.size, s.trainBatch])).toEqual([
      ['full', 1, 64, 16],
      ['quarter', 0.25, 48, 64],
    ]);
    expect(paramCount(QUARTER)).toBe(5_022_215);
    expect(widthLabel(0.25)).toBe('1/4');
    expect(widthLabel(1)).toBe('1');
    // PyTorch measures what this library measures, including the configurations.
    const cfg = torchConfigs(full.suites).map((c) => `${c.mode}:${c.width}:${c.size}:${c.batch}`);
    for (const c of ['train:0.25:48:64', 'train:1:64:16', 'infer:1:64:1', 'infer:1:64:16', 'infer:0.25:48:1', 'infer:0.25:48:16']) expect(cfg).toContain(c);
    expect(full.torch).toMatchObject({ enabled: true, devices: ['cpu'], threads: 'auto' });
    expect(plan({ torch: false }).torch.enabled).toBe(false);
  });

  it('alternates several engines round-robin and pairs each with the first', async () => {
    const order: string[] = [];
    const f = (name: string, ms: number) => async () => (order.push(name), ms);
    const r = await alternateAll([f('a', 10), f('b', 30), f('c', 5)], 1, 2);
    expect(order).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c']);
    expect(r.stats.map((s) => s.median)).toEqual([10, 30, 5]);
    expect(r.pairedRatios).toEqual([undefined, 3, 0.5]);
  });

  it('builds one comparison table: per configuration ours, every peer, peer/ours', () => {
    const t = (median: number) => stats([median]);
    const g = { width: 0.25, size: 48 };
    const model: ModelResult[] = [
      { engine: 'ours-webgpu', mode: 'infer', batch: 1, ...g, time: t(10) },
      { engine: 'tfjs-webgpu', mode: 'infer', batch: 1, ...g, time: t(50) },
      { engine: 'tfjs-wasm', mode: 'infer', batch: 1, ...g, time: t(5), threads: 1 },
      { engine: 'ours-cpu', mode: 'infer', batch: 1, ...g, time: t(100) },
      { engine: 'tfjs-cpu', mode: 'infer', batch: 1, ...g, time: t(80) },
      { engine: 'ours-webgpu', mode: 'train', batch: 64, ...g, time: t(200) },
      { engine: 'torch-cpu', mode: 'train', batch: 64, ...g, time: t(300), threads: 2 },
      { engine: 'torch-cpu', mode: 'infer', batch: 1, ...g, error: 'RuntimeError: boom' },
    ];
    const pairs: PairResult[] = [{ a: 'ours-webgpu', b: 'tfjs-webgpu', mode: 'infer', batch: 1, ...g, medianA: 10, medianB: 50, ratio: 5, pairedRatio: 4.5 }];
    const c = buildComparison(model, pairs, 'llvmpipe', 'npm run bench');
    expect(c).toMatchObject({ adapter: 'llvmpipe', command: 'npm run bench' });
    expect(c.rows.map((r) => `${r.ours} ${r.mode} ${r.batch}`)).toEqual(['ours-webgpu infer 1', 'ours-cpu infer 1', 'ours-webgpu train 64']);
    const infer = c.rows[0]!;
    expect(infer.oursMs).toBe(10);
    expect(infer.peers.map((p) => p.engine)).toEqual(['tfjs-webgpu', 'tfjs-wasm', 'torch-cpu']);
    expect(infer.peers[0]).toMatchObject({ medianMs: 50, ratio: 5, pairedRatio: 4.5 });
    expect(infer.peers[1]).toMatchObject({ medianMs: 5, ratio: 0.5, threads: 1 });
    expect(infer.peers[2]!.error).toMatch(/boom/);
    expect(c.rows[1]!.peers).toMatchObject([{ engine: 'tfjs-cpu', ratio: 0.8 }]);
    expect(c.rows[2]!.peers).toMatchObject([{ engine: 'torch-cpu', ratio: 1.5, threads: 2 }]);
    const text = comparisonTable(c);
    expect(text).toMatch(/peer\/ours/);
    expect(text).toMatch(/PyTorch, CPU/);
    expect(text).toMatch(/1\/4 +48x48/);
  });

  it('skips PyTorch with a reason when the given Python is missing (no Python needed)', async () => {
    const r = await findTorchPython('/nonexistent/python3');
    expect('reason' in r && r.reason).toMatch(/\/nonexistent\/python3.*RESEMOTENET_PYTHON/);
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

  it('runs the model suites with the tfjs peers at tiny sizes, PyTorch turned off, into one comparison', async () => {
    const r = await runBench({ quick: true, only: 'model,peers', sizes: 'tiny', runs: 2, torch: false, json: false, log: () => {} });
    expect(r.params.map((p) => [p.suite, p.ours, p.tfjs])).toEqual([
      ['full', r.params[0]!.expected, r.params[0]!.expected],
      ['quarter', r.params[1]!.expected, r.params[1]!.expected],
    ]);
    for (const m of r.model) {
      expect(m.error, `${m.engine} ${m.mode} ${m.batch}`).toBeUndefined();
      expect(m.time!.median).toBeGreaterThan(0);
      expect(m.check ?? '').not.toMatch(/MISMATCH|NON-FINITE/);
    }
    const engines = new Set(r.model.map((m) => m.engine));
    for (const e of ['ours-webgpu', 'tfjs-webgpu', 'tfjs-wasm', 'ours-cpu', 'tfjs-cpu'] as const) expect(engines).toContain(e);
    expect(engines).not.toContain('torch-cpu');
    expect(r.skipped).toContainEqual({ engine: 'torch', reason: expect.stringMatching(/turned off/) });
    // Both geometries, inference and training, each with at least one peer and its ratio.
    const rows = r.comparison.rows.filter((x) => x.ours === 'ours-webgpu');
    expect(new Set(rows.map((x) => `${x.width}/${x.size}/${x.mode}`)).size).toBe(4);
    for (const row of rows) {
      expect(row.peers.length, `${row.mode} ${row.batch}`).toBeGreaterThan(0);
      for (const p of row.peers) expect(p.ratio).toBeGreaterThan(0);
    }
    expect(formatReport(r)).toMatch(/Comparison[\s\S]*peer\/ours[\s\S]*tfjs 4.22, wasm/);
  }, 180_000);
});
