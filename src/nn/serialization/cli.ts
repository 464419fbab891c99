/**
 * Command line: convert a PyTorch checkpoint to safetensors, or list a checkpoint's tensors.
 *
 *   npx tsx src/nn/serialization/cli.ts in.pth out.safetensors [--key K] [--strip-prefix P]
 *   npx tsx src/nn/serialization/cli.ts in.pth|in.safetensors        (list tensors only)
 *
 * Exit status: 0 on success, 1 on a load/convert error, 2 on bad usage.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Tensor } from '../../tensor/tensor.js';
import { pth_to_safetensors, type ConvertedTensor } from './pth2safetensors.js';
import { extract_state_dict, load_pth } from './pth.js';
import { read_safetensors_header } from './safetensors.js';

const USAGE = `usage: cli.ts IN.pth OUT.safetensors [--key KEY] [--strip-prefix PREFIX]
       cli.ts IN.pth|IN.safetensors          list the tensors`;

function table(rows: ConvertedTensor[]): string {
  const w = Math.max(4, ...rows.map((r) => r.name.length));
  let params = 0;
  const lines = rows.map((r) => {
    const n = r.shape.reduce((a, b) => a * b, 1);
    params += n;
    return `${r.name.padEnd(w)}  ${r.dtype.padEnd(8)}  [${r.shape.join(', ')}]`;
  });
  return [`${'name'.padEnd(w)}  dtype     shape`, ...lines, `${rows.length} tensors, ${params} elements`].join('\n');
}

/**
 * Runs the command line with `argv` (without node and script). Output goes to `out`, errors to
 * `err`. Returns the exit status instead of exiting.
 */
export async function main(argv: string[], out: (s: string) => void = console.log, err: (s: string) => void = console.error): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { key: { type: 'string' }, 'strip-prefix': { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    err(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    out(USAGE);
    return 0;
  }
  if (positionals.length < 1 || positionals.length > 2) {
    err(USAGE);
    return 2;
  }
  const [input, output] = positionals as [string, string | undefined];
  const opts = { key: values.key, strip_prefix: values['strip-prefix'] };
  try {
    if (output !== undefined) {
      const rows = await pth_to_safetensors(input, output, opts);
      out(table(rows));
      out(`wrote ${output}`);
    } else if (input.endsWith('.safetensors')) {
      const h = await read_safetensors_header(input);
      out(table(h.names.map((name) => ({ name, dtype: h.tensors[name]!.dtype, shape: h.tensors[name]!.shape }))));
      if (h.metadata) out(`metadata: ${JSON.stringify(h.metadata)}`);
    } else {
      const ckpt = await load_pth(input);
      const sd = extract_state_dict(ckpt, opts);
      out(table(Object.entries(sd).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape }))));
      const others = Object.keys(ckpt).filter((k) => !(ckpt[k] instanceof Tensor) && ckpt[k] !== sd);
      if (others.length) out(`other entries: ${others.join(', ')}`);
    }
    return 0;
  } catch (e) {
    err(`error: ${(e as Error).message}`);
    return 1;
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
