/**
 * Browser entry of the WebGPU smoke test (bundled by tests/browser/build.ts, loaded by
 * tests/browser/index.html). Initializes the library's WebGPU backend on navigator.gpu, runs
 * ./checks.ts against the cpu reference and POSTs one JSON report to /result on the page's own
 * server. Every failure (no navigator.gpu, no adapter, an exception) is reported too, so the
 * test never has to wait for its timeout to learn why.
 */
import { initWebGPU, webgpuRuntime, type AdapterReport } from '../../src/index.js';
import { runChecks, type CheckResult } from './checks.js';

export interface BrowserReport {
  userAgent: string;
  hasNavigatorGpu: boolean;
  adapter: AdapterReport | null;
  checks: CheckResult[];
  /** Uncaptured WebGPU errors (validation, out of memory) seen while the checks ran. */
  gpuErrors: string[];
  /** Set when the page could not run the checks at all (no WebGPU, init failure, ...). */
  fatal?: string;
  totalMs: number;
}

function show(text: string): void {
  const pre = document.getElementById('out');
  if (pre) pre.textContent = text;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const report: BrowserReport = {
    userAgent: navigator.userAgent,
    hasNavigatorGpu: 'gpu' in navigator && !!navigator.gpu,
    adapter: null,
    checks: [],
    gpuErrors: [],
    totalMs: 0,
  };
  try {
    report.adapter = await initWebGPU();
    webgpuRuntime().device.addEventListener('uncapturederror', (ev) => {
      report.gpuErrors.push((ev as GPUUncapturedErrorEvent).error.message);
    });
    report.checks = await runChecks();
  } catch (e) {
    report.fatal = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
  }
  report.totalMs = Math.round(performance.now() - t0);
  const body = JSON.stringify(report, null, 2);
  show(body);
  await fetch('/result', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
}

window.addEventListener('error', (ev) => {
  void fetch('/result', {
    method: 'POST',
    body: JSON.stringify({ fatal: `uncaught: ${ev.message}`, checks: [], gpuErrors: [], adapter: null }),
  });
});

void main();
