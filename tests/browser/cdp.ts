/**
 * A small Chrome DevTools Protocol client over Chromium's --remote-debugging-pipe (JSON messages
 * ended by a NUL byte; Chromium reads fd 3 and writes fd 4), enough to drive a page in a test:
 * navigate, evaluate, wait for a condition, set the files of an <input type=file>, drop files on
 * an element, take a screenshot, and collect console errors and uncaught exceptions. No WebSocket, no dependency.
 * Protocol reference: https://chromedevtools.github.io/devtools-protocol/
 */
import { rename, writeFile } from 'node:fs/promises';
import { launchChromium, WEBGPU_FLAGS, type Browser } from './harness.js';

type Params = Record<string, unknown>;
interface Message {
  id?: number;
  method?: string;
  params?: Params;
  result?: Params;
  error?: { message: string; data?: string };
  sessionId?: string;
}

/** One protocol connection (the browser endpoint; sessions are addressed by sessionId). */
export class Cdp {
  private nextId = 1;
  private pending = new Map<number, { resolve: (r: Params) => void; reject: (e: Error) => void; method: string }>();
  private listeners: ((m: Message) => void)[] = [];
  private buffer = '';
  private closed: Error | null = null;

  constructor(private readonly out: NodeJS.WritableStream, input: NodeJS.ReadableStream) {
    input.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('utf8');
      let end;
      while ((end = this.buffer.indexOf('\0')) >= 0) {
        const text = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 1);
        this.dispatch(JSON.parse(text) as Message);
      }
    });
    input.on('close', () => this.fail(new Error('the DevTools pipe closed (chromium exited?)')));
  }

  private dispatch(m: Message): void {
    if (m.id !== undefined) {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(new Error(`${p.method}: ${m.error.message}${m.error.data ? ` (${m.error.data})` : ''}`));
      else p.resolve(m.result ?? {});
      return;
    }
    for (const l of this.listeners) l(m);
  }

  private fail(e: Error): void {
    this.closed = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  send<T = Params>(method: string, params: Params = {}, sessionId?: string): Promise<T> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: Params) => void, reject, method });
      this.out.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    });
  }

  onEvent(fn: (method: string, params: Params, sessionId?: string) => void): void {
    this.listeners.push((m) => m.method && fn(m.method, m.params ?? {}, m.sessionId));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A page (tab) of a launched Chromium, driven over the protocol. */
export class Page {
  /** console.error / console.assert messages, uncaught exceptions and error log entries (failed loads, ...). */
  readonly errors: string[] = [];
  /** Every console message, for diagnostics. */
  readonly console: string[] = [];

  constructor(
    readonly cdp: Cdp,
    readonly sessionId: string,
    readonly browser: Browser,
  ) {
    cdp.onEvent((method, p, sid) => {
      if (sid !== sessionId) return;
      if (method === 'Runtime.consoleAPICalled') {
        const args = (p.args as { value?: unknown; description?: string }[]).map((a) => (a.value !== undefined ? String(a.value) : (a.description ?? ''))).join(' ');
        this.console.push(`${String(p.type)}: ${args}`);
        if (p.type === 'error' || p.type === 'assert') this.errors.push(`console.${String(p.type)}: ${args}`);
      } else if (method === 'Runtime.exceptionThrown') {
        const d = p.exceptionDetails as { text: string; exception?: { description?: string } };
        this.errors.push(`uncaught: ${d.exception?.description ?? d.text}`);
      } else if (method === 'Log.entryAdded') {
        const e = p.entry as { level: string; text: string; url?: string };
        this.console.push(`log ${e.level}: ${e.text} ${e.url ?? ''}`);
        if (e.level === 'error') this.errors.push(`log: ${e.text} ${e.url ?? ''}`.trim());
      }
    });
  }

  send<T = Params>(method: string, params: Params = {}): Promise<T> {
    return this.cdp.send<T>(method, params, this.sessionId);
  }

  /** Loads `url` and waits for its load event. */
  async goto(url: string, timeoutMs = 30_000): Promise<void> {
    const loaded = new Promise<void>((res) => this.cdp.onEvent((m, _p, sid) => sid === this.sessionId && m === 'Page.loadEventFired' && res()));
    await this.send('Page.navigate', { url });
    await Promise.race([loaded, sleep(timeoutMs).then(() => Promise.reject(new Error(`${url} did not load within ${timeoutMs} ms`)))]);
  }

  /** The value of a JavaScript expression in the page (promises awaited; JSON-able values). */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.send<{ result: { value?: unknown }; exceptionDetails?: { text: string; exception?: { description?: string } } }>('Runtime.evaluate', {
      expression,
      awaitPromise: true,
      returnByValue: true,
    });
    if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}\n  evaluating: ${expression}`);
    return r.result.value as T;
  }

  /**
   * Polls `expression` until it is truthy; returns its value.
   * @throws Error with `describe`'s value (page state for the message) after `timeoutMs`.
   */
  async waitFor<T>(expression: string, timeoutMs: number, describe = 'document.body.dataset.state + " " + (document.getElementById("notice")?.textContent ?? "")'): Promise<T> {
    const t0 = Date.now();
    for (;;) {
      const v = await this.evaluate<T>(expression);
      if (v) return v;
      if (Date.now() - t0 > timeoutMs) {
        const state = await this.evaluate<string>(describe).catch((e: Error) => e.message);
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${expression}; page: ${state}; errors: ${this.errors.join(' | ') || 'none'}\nchromium stderr (tail): ${this.browser.log().slice(-2000)}`);
      }
      await sleep(100);
    }
  }

  /** Sets the files of the <input type=file> matched by `selector` (fires input and change). */
  async setFiles(selector: string, files: string[]): Promise<void> {
    const { root } = await this.send<{ root: { nodeId: number } }>('DOM.getDocument', { depth: 0 });
    const { nodeId } = await this.send<{ nodeId: number }>('DOM.querySelector', { nodeId: root.nodeId, selector });
    if (!nodeId) throw new Error(`setFiles: no element matches ${selector}`);
    await this.send('DOM.setFileInputFiles', { nodeId, files });
  }

  /** Drags the files from outside the window and drops them on the centre of the element matched by `selector`. */
  async dropFiles(selector: string, files: string[]): Promise<void> {
    const at = await this.evaluate<{ x: number; y: number } | null>(
      `(() => { const e = document.querySelector(${JSON.stringify(selector)}); if (!e) return null; e.scrollIntoView(); const r = e.getBoundingClientRect(); return { x: r.x + r.width / 2, y: r.y + r.height / 2 }; })()`,
    );
    if (!at) throw new Error(`dropFiles: no element matches ${selector}`);
    const data = { items: [], files, dragOperationsMask: 1 };
    for (const type of ['dragEnter', 'dragOver', 'drop']) await this.send('Input.dispatchDragEvent', { type, x: at.x, y: at.y, data });
  }

  /** Sets the viewport (CSS pixels). */
  async viewport(width: number, height: number, mobile = false): Promise<void> {
    await this.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile });
  }

  /** Saves a PNG screenshot of the whole page to `file` (written atomically), scaled by `scale`. */
  async screenshot(file: string, scale = 1): Promise<void> {
    const size = await this.evaluate<{ w: number; h: number }>('({ w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight })');
    const { data } = await this.send<{ data: string }>('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true, clip: { x: 0, y: 0, width: size.w, height: size.h, scale } });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, Buffer.from(data, 'base64'));
    await rename(tmp, file);
  }
}

/**
 * Launches headless Chromium (WebGPU flags by default, plus `extraFlags`) with the protocol on a
 * pipe, attaches to its tab with console and log capture on, and returns it blank (call goto).
 * The caller must `await page.browser.kill()`.
 */
export async function openPage(bin: string, o: { flags?: string[]; extraFlags?: string[] } = {}): Promise<Page> {
  const browser = await launchChromium(bin, 'about:blank', [...(o.flags ?? WEBGPU_FLAGS), ...(o.extraFlags ?? [])], { pipe: true });
  try {
    if (!browser.pipe) throw new Error('launchChromium gave no DevTools pipe');
    const cdp = new Cdp(browser.pipe.toBrowser, browser.pipe.fromBrowser);
    let targetId: string | undefined;
    for (let i = 0; i < 100 && !targetId; i++) {
      const { targetInfos } = await cdp.send<{ targetInfos: { targetId: string; type: string }[] }>('Target.getTargets');
      targetId = targetInfos.find((t) => t.type === 'page')?.targetId;
      if (!targetId) await sleep(100);
    }
    if (!targetId) throw new Error(`chromium opened no page.\nchromium stderr:\n${browser.log()}`);
    const { sessionId } = await cdp.send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
    const page = new Page(cdp, sessionId, browser);
    for (const domain of ['Runtime', 'Log', 'Page', 'DOM']) await page.send(`${domain}.enable`);
    return page;
  } catch (e) {
    await browser.kill();
    throw e;
  }
}
