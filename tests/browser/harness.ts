/**
 * Node-side harness of the browser smoke test: bundles tests/browser/entry.ts for the browser
 * with Vite's build API, serves the page on 127.0.0.1 and receives its POSTed report, and runs
 * headless Chromium on it with SwiftShader's WebGPU. Used by tests/browser.test.ts and by
 * tests/browser/serve.ts (open the page in your own browser).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserReport } from './entry.js';

export type { BrowserReport };
export type { CheckResult, CheckStatus } from './checks.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));

/**
 * Chromium flags that give navigator.gpu an adapter headless on a machine without a GPU:
 * WebGPU is still behind --enable-unsafe-webgpu on Linux, and SwiftShader (bundled with Chromium)
 * is its CPU Vulkan implementation. --no-sandbox because CI runs as root in a container.
 */
export const WEBGPU_FLAGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=swiftshader',
  '--use-webgpu-adapter=swiftshader',
];
const BASE_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-extensions',
  '--disable-sync',
  '--mute-audio',
];

/**
 * The Chromium executable: $CHROMIUM_BIN, Debian's real binary (its /usr/bin/chromium is a shell
 * wrapper), or chromium / chromium-browser / google-chrome on PATH; null when none is installed.
 */
export function findChromium(): string | null {
  const env = process.env.CHROMIUM_BIN;
  if (env) return existsSync(env) ? env : null;
  if (existsSync('/usr/lib/chromium/chromium')) return '/usr/lib/chromium/chromium';
  for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      if (dir && existsSync(join(dir, name))) return join(dir, name);
    }
  }
  return null;
}

/**
 * Bundles the page into `outDir` (index.html + entry.js, one self-contained ES module) and
 * returns the bundle's text. The 'webgpu' npm package (Dawn for Node) is never bundled: device.ts
 * imports it with a computed specifier only when there is no navigator.gpu.
 */
export async function buildBrowserBundle(outDir: string): Promise<string> {
  const { build } = await import('vite');
  await build({
    configFile: false,
    envFile: false,
    publicDir: false,
    root: HERE,
    logLevel: 'error',
    build: {
      outDir,
      emptyOutDir: true,
      minify: false,
      sourcemap: false,
      target: 'es2022',
      copyPublicDir: false,
      reportCompressedSize: false,
      lib: { entry: join(HERE, 'entry.ts'), formats: ['es'], fileName: () => 'entry.js' },
      rolldownOptions: { output: { codeSplitting: false } },
    },
  });
  await copyFile(join(HERE, 'index.html'), join(outDir, 'index.html'));
  return readFile(join(outDir, 'entry.js'), 'utf8');
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
};

export interface PageServer {
  url: string;
  /** Resolves with the first report POSTed to /result. */
  report: Promise<BrowserReport>;
  close: () => Promise<void>;
}

/** Serves `dir` on 127.0.0.1 (ephemeral port) and accepts the page's POST /result. */
export async function servePage(dir: string): Promise<PageServer> {
  const root = resolve(dir);
  let deliver!: (r: BrowserReport) => void;
  let reject!: (e: Error) => void;
  const report = new Promise<BrowserReport>((res, rej) => {
    deliver = res;
    reject = rej;
  });
  report.catch(() => undefined);
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'POST' && url.pathname === '/result') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.end('ok');
        try {
          deliver(JSON.parse(Buffer.concat(chunks).toString('utf8')) as BrowserReport);
        } catch (e) {
          reject(new Error(`the page posted a report that is not JSON: ${(e as Error).message}`));
        }
      });
      return;
    }
    const file = resolve(root, '.' + (url.pathname === '/' ? '/index.html' : decodeURIComponent(url.pathname)));
    if (req.method !== 'GET' || !file.startsWith(root + sep)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    readFile(file).then(
      (body) => {
        res.setHeader('content-type', MIME[extname(file)] ?? 'application/octet-stream');
        res.setHeader('cache-control', 'no-store');
        res.end(body);
      },
      () => {
        res.statusCode = 404;
        res.end();
      },
    );
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => res());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    report,
    close: () =>
      new Promise<void>((res) => {
        server.closeAllConnections();
        server.close(() => res());
      }),
  };
}

export interface Browser {
  /** The last 8 KB of Chromium's stderr (for diagnostics). */
  log: () => string;
  /** With `pipe: true`: the DevTools protocol pipe (Chromium reads fd 3, writes fd 4; see ./cdp.ts). */
  pipe?: { toBrowser: NodeJS.WritableStream; fromBrowser: NodeJS.ReadableStream };
  /** Resolves with the exit code when Chromium exits on its own (a crash, bad flags). */
  exited: Promise<number | null>;
  kill: () => Promise<void>;
}

/**
 * Starts headless Chromium on `url` with a fresh profile, in its own process group so that
 * kill() ends the browser and all its helper processes (and nothing else). `pipe: true` opens
 * the DevTools protocol on a pipe (--remote-debugging-pipe) for ./cdp.ts.
 */
export async function launchChromium(bin: string, url: string, extraFlags: string[] = WEBGPU_FLAGS, opts: { pipe?: boolean } = {}): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'resemotenet-chromium-'));
  const pipeFlags = opts.pipe ? ['--remote-debugging-pipe'] : [];
  const child: ChildProcess = spawn(bin, [...BASE_FLAGS, ...extraFlags, ...pipeFlags, `--user-data-dir=${profile}`, url], {
    detached: true,
    stdio: opts.pipe ? ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (c: Buffer) => {
    log = (log + c.toString('utf8')).slice(-8192);
  });
  const exited = new Promise<number | null>((res) => {
    child.once('exit', (code) => res(code));
    child.once('error', (e) => {
      log += `\nspawn failed: ${e.message}`;
      res(-1);
    });
  });
  let killed = false;
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, sig);
    } catch {
      /* already gone */
    }
  };
  return {
    log: () => log,
    pipe: opts.pipe ? { toBrowser: child.stdio[3] as NodeJS.WritableStream, fromBrowser: child.stdio[4] as NodeJS.ReadableStream } : undefined,
    exited,
    kill: async () => {
      if (!killed) {
        killed = true;
        if (child.exitCode === null && child.signalCode === null) {
          signal('SIGTERM');
          const timer = setTimeout(() => signal('SIGKILL'), 3000);
          await exited;
          clearTimeout(timer);
        }
        // Helpers (zygote, GPU process) may outlive the browser process by a moment.
        signal('SIGKILL');
      }
      await rm(profile, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
    },
  };
}

/** Builds, serves and runs the page in headless Chromium; returns the page's report. */
export async function runInChromium(
  bin: string,
  opts: { timeoutMs?: number; flags?: string[] } = {},
): Promise<{ report: BrowserReport; bundle: string; timings: Record<string, number> }> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const timings: Record<string, number> = {};
  const dir = await mkdtemp(join(tmpdir(), 'resemotenet-browser-'));
  let server: PageServer | null = null;
  let browser: Browser | null = null;
  try {
    let t = performance.now();
    const bundle = await buildBrowserBundle(dir);
    timings.buildMs = Math.round(performance.now() - t);
    server = await servePage(dir);
    t = performance.now();
    browser = await launchChromium(bin, server.url, opts.flags);
    const b = browser;
    let timer: NodeJS.Timeout | undefined;
    const report = await Promise.race([
      server.report,
      b.exited.then((code) => {
        throw new Error(`chromium exited (code ${code}) before the page reported.\nchromium stderr:\n${b.log()}`);
      }),
      new Promise<never>((_, rej) => {
        timer = setTimeout(
          () => rej(new Error(`no report from the page within ${timeoutMs} ms.\nchromium stderr:\n${b.log()}`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    timings.browserMs = Math.round(performance.now() - t);
    return { report, bundle, timings };
  } finally {
    await browser?.kill();
    await server?.close();
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

