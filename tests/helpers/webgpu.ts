/**
 * WebGPU test setup. GPU tests never skip silently: with CI=true a missing adapter fails the
 * run; locally (no CI) a missing adapter skips the WebGPU tests with a printed warning.
 */
import { initWebGPU, type AdapterReport } from '../../src/index.js';

let report: AdapterReport | null = null;
let failure: Error | null = null;

/** Initializes WebGPU once; returns the adapter report, or null when unavailable outside CI. */
export async function setupWebGPU(): Promise<AdapterReport | null> {
  if (report) return report;
  if (failure) {
    if (process.env.CI === 'true') throw failure;
    return null;
  }
  try {
    report = await initWebGPU();
    return report;
  } catch (e) {
    failure = e as Error;
    if (process.env.CI === 'true') throw new Error(`CI=true but no WebGPU adapter: ${failure.message}`);
    console.warn(`WebGPU unavailable, skipping GPU tests: ${failure.message}`);
    return null;
  }
}

/** True when WebGPU tests should run (awaits setup). Use with `describe.runIf` after a top-level await. */
export const gpuAvailable = async (): Promise<boolean> => (await setupWebGPU()) !== null;
