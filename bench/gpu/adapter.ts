/**
 * Prints the WebGPU adapter that Dawn gives this library (JSON on stdout) and fails when it is a
 * software one, so a GPU run never measures lavapipe by mistake. The first check of
 * bench/gpu/run.sh.
 *
 *   XDG_RUNTIME_DIR=/tmp npx tsx bench/gpu/adapter.ts [--allow-software]
 *
 * Exit status: 0 a hardware adapter (or any adapter with --allow-software), 1 a software adapter,
 * 2 no adapter at all (the message says why).
 */
import { initWebGPU } from '../../src/index.js';

const allowSoftware = process.argv.includes('--allow-software');
let code = 0;
try {
  const a = await initWebGPU();
  console.log(JSON.stringify({ ...a, env: { VK_DRIVER_FILES: process.env.VK_DRIVER_FILES ?? null, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? null } }, null, 2));
  if (a.isSoftware && !allowSoftware) {
    console.error(`adapter: software (${a.description || a.device}); expected the GPU. Point VK_DRIVER_FILES at the GPU's Vulkan ICD json (bench/gpu/run.sh does) or pass --allow-software.`);
    code = 1;
  } else {
    console.error(`adapter: ${a.vendor} ${a.device} (${a.description}${a.isSoftware ? ', software' : ''})`);
  }
} catch (e) {
  console.error(`adapter: none: ${(e as Error).message}`);
  code = 2;
}
// Dawn keeps the process alive while its device exists.
process.exit(code);
