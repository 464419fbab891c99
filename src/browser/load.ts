/**
 * Weights in a page: fetched from the page's server (or any URL that allows it), or read from
 * files the user picks. The emotion classifier is a checkpoint in this library's format (a
 * sidecar JSON naming a safetensors model file; ../resemotenet/sidecar.ts); the face detector is
 * BlazeFace's safetensors file (weights/blazeface/, which a bundler that understands
 * `new URL(..., import.meta.url)` such as Vite or webpack 5 emits next to the bundle).
 */
import type { Device } from '../tensor/device.js';
import { FaceDetector } from '../facedetect/detect.js';
import { loadCheckpointBytes, parseSidecar, type ModelConfig, type Sidecar } from '../resemotenet/sidecar.js';
import type { ResEmoteNet } from '../resemotenet/model.js';

/** A fetch that did not give the bytes: the URL and the HTTP status (0 for a network error). */
export class WeightsFetchError extends Error {
  override name = 'WeightsFetchError';
  constructor(
    readonly url: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** `url` resolved against the page (or worker) location. */
function resolveUrl(url: string | URL): URL {
  const here = (globalThis as { location?: { href: string } }).location?.href;
  return here ? new URL(url, here) : new URL(url);
}

/**
 * The bytes at `url`.
 * @param what names the file in errors ("the classifier's sidecar").
 * @throws WeightsFetchError with the HTTP status (404 ...) or 0 when the request failed.
 */
export async function fetchBytes(url: string | URL, what = 'file'): Promise<Uint8Array> {
  const u = resolveUrl(url).href;
  let res: Response;
  try {
    res = await fetch(u);
  } catch (e) {
    throw new WeightsFetchError(u, 0, `${what}: fetching ${u} failed: ${(e as Error).message}`);
  }
  if (!res.ok) throw new WeightsFetchError(u, res.status, `${what}: fetching ${u} gave HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** A loaded emotion classifier (satisfies the pipeline's FaceClassifier). */
export interface LoadedClassifier {
  model: ResEmoteNet;
  config: ModelConfig;
  sidecar: Sidecar;
  /** Where it came from (URL or file names), for display. */
  source: string;
}

const toBytes = (b: Uint8Array | ArrayBuffer): Uint8Array => (b instanceof Uint8Array ? b : new Uint8Array(b));

/**
 * A classifier from a sidecar (JSON text, its bytes, or parsed) and its model file's bytes.
 * @param o.device where the model goes (default cpu; call `initBackend` / `initWebGPU` first for webgpu).
 * @throws Error naming the files for a bad sidecar, a model file from another save, or tensors
 * that do not fit (see loadCheckpointBytes).
 */
export async function loadClassifierFromBytes(
  sidecar: string | Uint8Array | ArrayBuffer | Sidecar,
  model: Uint8Array | ArrayBuffer,
  o: { device?: Device; name?: string; modelName?: string } = {},
): Promise<LoadedClassifier> {
  const name = o.name ?? '<sidecar>';
  const sc = typeof sidecar === 'string' ? parseSidecar(sidecar, name) : sidecar instanceof Uint8Array || sidecar instanceof ArrayBuffer ? parseSidecar(new TextDecoder().decode(toBytes(sidecar)), name) : sidecar;
  const ck = await loadCheckpointBytes(sc, toBytes(model), { device: o.device, name, modelName: o.modelName });
  return { model: ck.model, config: ck.sidecar.config, sidecar: ck.sidecar, source: `${name} + ${o.modelName ?? sc.model_file}` };
}

/**
 * The classifier at `baseUrl`: a folder URL holding `model.json` (as weights/resemotenet/, the
 * shipped weights), or the URL of a sidecar `.json` itself; the model file is fetched from the
 * name the sidecar gives, relative to the sidecar.
 * @throws WeightsFetchError when a file cannot be fetched (status 404 when it is not there);
 * Error for files that are not a matching checkpoint.
 */
export async function loadPretrainedFromUrl(baseUrl: string | URL, o: { device?: Device } = {}): Promise<LoadedClassifier> {
  let sidecarUrl = resolveUrl(baseUrl);
  if (!sidecarUrl.pathname.endsWith('.json')) sidecarUrl = new URL('model.json', sidecarUrl.href.endsWith('/') ? sidecarUrl : `${sidecarUrl.href}/`);
  const text = new TextDecoder().decode(await fetchBytes(sidecarUrl, "the classifier's sidecar"));
  const sc = parseSidecar(text, sidecarUrl.href);
  if (sc.model_file.includes('/') || sc.model_file.includes('\\')) throw new Error(`${sidecarUrl.href}: model_file must be a file name next to the sidecar, got '${sc.model_file}'`);
  const modelUrl = new URL(sc.model_file, sidecarUrl);
  const bytes = await fetchBytes(modelUrl, "the classifier's model file");
  const ck = await loadCheckpointBytes(sc, bytes, { device: o.device, name: sidecarUrl.href, modelName: modelUrl.href });
  return { model: ck.model, config: sc.config, sidecar: sc, source: sidecarUrl.href };
}

/**
 * A classifier from files the user picked (an <input type=file multiple> or a drop): one sidecar
 * `.json` and the `.safetensors` it names (or the only `.safetensors` picked, when the names
 * differ, e.g. `best.json` with a downloaded `model.safetensors`; the checkpoint ids must match).
 * @throws Error saying which file is missing or extra.
 */
export async function loadClassifierFromFiles(files: Iterable<File> | ArrayLike<File>, o: { device?: Device } = {}): Promise<LoadedClassifier> {
  const list = Array.from(files as ArrayLike<File>);
  const jsons = list.filter((f) => f.name.toLowerCase().endsWith('.json'));
  const models = list.filter((f) => f.name.toLowerCase().endsWith('.safetensors') && !f.name.toLowerCase().endsWith('.optim.safetensors'));
  const names = list.map((f) => f.name).join(', ') || 'none';
  if (jsons.length !== 1) throw new Error(`pick one checkpoint sidecar (.json) and its .safetensors model file; got ${jsons.length} .json files (${names})`);
  const json = jsons[0]!;
  const sc = parseSidecar(await json.text(), json.name);
  const model = models.find((f) => f.name === sc.model_file) ?? (models.length === 1 ? models[0] : undefined);
  if (!model) throw new Error(`${json.name} names the model file ${sc.model_file}: pick it together with the sidecar (picked: ${names})`);
  return loadClassifierFromBytes(sc, await model.arrayBuffer(), { device: o.device, name: json.name, modelName: model.name });
}

/**
 * The BlazeFace face detector on `device`: from `bytes`, from `url`, or (neither given) from the
 * library's own weights file, which the bundler emits as an asset (src/facedetect/weights.ts).
 * @throws WeightsFetchError when the weights cannot be fetched; Error when they do not fit.
 */
export async function loadFaceDetector(o: { device?: Device; url?: string | URL; bytes?: Uint8Array | ArrayBuffer } = {}): Promise<FaceDetector> {
  const device = o.device ?? 'cpu';
  if (o.bytes) return FaceDetector.create({ device, bytes: toBytes(o.bytes) });
  if (o.url) return FaceDetector.create({ device, bytes: await fetchBytes(o.url, 'the face detector weights') });
  return FaceDetector.create({ device });
}
