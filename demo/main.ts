/**
 * The demo page: a photo (file input or drag and drop) or the webcam -> faces and emotions, drawn
 * over the picture and listed beside it, with the adapter and the time per frame. Weights: the
 * shipped classifier when the build found weights/resemotenet/ (weights/manifest.json says so),
 * else the checkpoint the user picks; the face detector's weights are bundled by Vite.
 *
 * The page state is on <body data-state> (loading | need-weights | busy | ready | error) and every
 * finished analysis bumps <body data-runs>; the tests (tests/demo.test.ts) read those and the
 * faces list, whose items carry the exact numbers in data-* attributes.
 */
import {
  EmotionRecognizer,
  decodeImageFile,
  describeAdapter,
  initBackend,
  loadClassifierFromFiles,
  loadFaceDetector,
  loadPretrainedFromUrl,
  type Backend,
  type FaceDetector,
  type LoadedClassifier,
  type PageFaces,
} from '../src/browser/index.js';
import { drawOverlay, faceColor } from './overlay.js';

const el = <T extends HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`demo: #${id} is missing from index.html`);
  return e as T;
};
const ui = {
  notice: el<HTMLDivElement>('notice'),
  photoInput: el<HTMLInputElement>('photo-input'),
  webcamButton: el<HTMLButtonElement>('webcam-button'),
  model: el<HTMLDetailsElement>('model'),
  modelName: el<HTMLSpanElement>('model-name'),
  checkpointInput: el<HTMLInputElement>('checkpoint-input'),
  stage: el<HTMLDivElement>('stage'),
  photo: el<HTMLCanvasElement>('photo'),
  video: el<HTMLVideoElement>('video'),
  overlay: el<HTMLCanvasElement>('overlay'),
  faces: el<HTMLOListElement>('faces'),
  noFaces: el<HTMLParagraphElement>('no-faces'),
  stats: el<HTMLParagraphElement>('stats'),
};

const EMOJI: Record<string, string> = { angry: '😠', disgust: '🤢', fear: '😨', happy: '😀', sad: '😢', surprise: '😮', neutral: '😐' };

let backend: Backend | null = null;
let detector: FaceDetector | null = null;
let recognizer: EmotionRecognizer | null = null;
let photo: { bitmap: ImageBitmap; name: string } | null = null;
let webcam: { stream: MediaStream; running: boolean; done: Promise<void>; wake: () => void } | null = null;
let runs = 0;

type State = 'loading' | 'need-weights' | 'busy' | 'ready' | 'error';
const setState = (s: State) => (document.body.dataset.state = s);

function notice(text: string | null, kind: 'warn' | 'error' = 'warn'): void {
  ui.notice.hidden = !text;
  ui.notice.textContent = text ?? '';
  ui.notice.classList.toggle('error', kind === 'error');
  ui.notice.setAttribute('role', kind === 'error' ? 'alert' : 'status');
}

/** Runs GPU work one piece at a time (a photo, a webcam frame, a model swap). */
let lock: Promise<unknown> = Promise.resolve();
function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const p = lock.then(fn);
  lock = p.catch(() => undefined);
  return p;
}

/** Runs a user action; an error is shown on the page (with the fallback notice kept in mind). */
async function guard(what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    notice(`${what}: ${(e as Error).message}`, 'error');
    setState('error');
  }
}

const backendLabel = () => (backend?.device === 'webgpu' ? `WebGPU, ${describeAdapter(backend.adapter)}` : 'CPU backend');
const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));

function widthLabel(w: number): string {
  const inv = 1 / w;
  return w < 1 && Math.abs(inv - Math.round(inv)) < 1e-9 ? `1/${Math.round(inv)}` : String(w);
}

function setClassifier(clf: LoadedClassifier, origin: string): void {
  if (!detector || !backend) throw new Error('the face detector is not loaded');
  const old = recognizer?.classifier.model;
  recognizer = new EmotionRecognizer(detector, clf, backend.device);
  if (old) for (const t of [...old.parameters(), ...old.buffers()]) t.dispose();
  const c = clf.config;
  ui.modelName.textContent = `ResEmoteNet width ${widthLabel(c.width)}, ${c.image_size}×${c.image_size} grey, ${c.num_classes} classes (${origin})`;
}

/** Shows one analysis: overlay, faces list, timings. */
function show(r: PageFaces, source: string, fps?: number): void {
  const names = recognizer?.classifier.config.class_names ?? [];
  drawOverlay(ui.overlay, r.width, r.height, r.faces, names);
  ui.faces.replaceChildren(
    ...r.faces.map((f, i) => {
      const li = document.createElement('li');
      li.className = 'face';
      li.style.setProperty('--face-color', faceColor(i));
      li.dataset.box = JSON.stringify(f.box);
      li.dataset.label = f.label;
      li.dataset.probs = JSON.stringify(f.probabilities);
      li.dataset.score = String(f.faceScore);
      const h = document.createElement('h3');
      const title = document.createElement('span');
      title.className = 'label';
      title.textContent = `${EMOJI[f.label] ?? ''} ${f.label} ${Math.round(f.confidence * 100)}%`.trim();
      const small = document.createElement('small');
      small.textContent = `face ${i + 1}, detector ${Math.round(f.faceScore * 100)}%`;
      h.append(title, small);
      const bars = document.createElement('div');
      bars.className = 'bars';
      for (const n of names) {
        const p = f.probabilities[n] ?? 0;
        const name = document.createElement('span');
        name.textContent = n;
        if (n === f.label) name.className = 'top';
        const bar = document.createElement('span');
        bar.className = 'bar';
        const fill = document.createElement('i');
        fill.style.width = `${(p * 100).toFixed(1)}%`;
        bar.append(fill);
        const val = document.createElement('span');
        val.className = 'pct';
        val.textContent = `${(p * 100).toFixed(p < 0.1 ? 1 : 0)}%`;
        bars.append(name, bar, val);
      }
      li.append(h, bars);
      return li;
    }),
  );
  ui.noFaces.hidden = r.faces.length > 0;
  ui.noFaces.textContent = source === 'webcam' ? 'No face in view.' : 'No face found in this picture.';
  const t = r.timings;
  ui.stats.textContent =
    `${backendLabel()} · ${r.width}×${r.height} · detection ${ms(t.detectMs)} ms · classification ${ms(t.classifyMs)} ms · ` +
    `frame ${ms(t.totalMs)} ms${fps ? ` · ${fps.toFixed(1)} frames/s` : ''}`;
  Object.assign(ui.stats.dataset, { pixelsMs: String(t.pixelsMs), detectMs: String(t.detectMs), classifyMs: String(t.classifyMs), totalMs: String(t.totalMs) });
  document.body.dataset.source = source;
  document.body.dataset.runs = String(++runs);
}

async function analysePhoto(): Promise<void> {
  const p = photo;
  const rec = recognizer;
  if (!p) return;
  if (!rec) {
    const loading = document.body.dataset.state === 'loading';
    ui.stats.textContent = loading ? 'Loading the models: the photo is analysed when they are ready.' : 'Pick a checkpoint (Model, above) to analyse this photo.';
    ui.noFaces.hidden = false;
    ui.noFaces.textContent = 'Waiting for a model.';
    return;
  }
  setState('busy');
  const r = await exclusive(() => rec.predictFaces(p.bitmap));
  if (photo === p && !webcam) show(r, `photo:${p.name}`);
  setState('ready');
}

function showMedia(which: 'photo' | 'video'): void {
  ui.stage.classList.remove('empty');
  ui.photo.hidden = which !== 'photo';
  ui.video.hidden = which !== 'video';
}

async function openPhoto(file: File): Promise<void> {
  await stopWebcam();
  const bitmap = await decodeImageFile(file);
  photo?.bitmap.close();
  photo = { bitmap, name: file.name };
  ui.photo.width = bitmap.width;
  ui.photo.height = bitmap.height;
  ui.photo.getContext('2d')?.drawImage(bitmap, 0, 0);
  drawOverlay(ui.overlay, bitmap.width, bitmap.height, [], []);
  ui.faces.replaceChildren();
  showMedia('photo');
  notice(backend?.fallbackReason ? fallbackText(backend.fallbackReason) : null);
  await analysePhoto();
}

async function startWebcam(): Promise<void> {
  if (!navigator.mediaDevices?.getUserMedia) throw new Error('this browser gives no camera access here (it needs https or localhost)');
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' }, audio: false });
  ui.video.srcObject = stream;
  await ui.video.play();
  showMedia('video');
  ui.faces.replaceChildren();
  ui.webcamButton.textContent = 'Stop webcam';
  const cam = { stream, running: true, done: Promise.resolve(), wake: () => undefined as void };
  webcam = cam;
  cam.done = (async () => {
    let last = performance.now();
    while (cam.running) {
      const rec = recognizer;
      if (rec && ui.video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) {
        setState('busy');
        const r = await exclusive(() => rec.predictFaces(ui.video));
        const now = performance.now();
        if (cam.running) show(r, 'webcam', 1000 / (now - last));
        last = now;
        setState(recognizer ? 'ready' : 'need-weights');
      }
      await new Promise<void>((res) => {
        if (!cam.running) return res();
        cam.wake = res; // stopWebcam wakes the loop: a stopped camera delivers no more frames
        nextVideoFrame(res);
      });
    }
  })().catch((e: Error) => {
    notice(`webcam: ${e.message}`, 'error');
    setState('error');
  });
}

function nextVideoFrame(cb: () => void): void {
  const v = ui.video as HTMLVideoElement & { requestVideoFrameCallback?: (cb: () => void) => number };
  if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(cb);
  else requestAnimationFrame(() => cb());
}

async function stopWebcam(): Promise<void> {
  const cam = webcam;
  if (!cam) return;
  cam.running = false;
  webcam = null;
  for (const t of cam.stream.getTracks()) t.stop();
  cam.wake();
  await cam.done;
  ui.video.srcObject = null;
  ui.webcamButton.textContent = 'Start webcam';
  ui.video.hidden = true;
  if (!photo) ui.stage.classList.add('empty');
}

const fallbackText = (reason: string) => `WebGPU is not available (${reason}), so the page runs on the CPU backend: it works, slowly.`;

async function start(): Promise<void> {
  setState('loading');
  ui.stats.textContent = 'Starting the GPU…';
  const prefer = new URLSearchParams(location.search).get('backend') === 'cpu' ? 'cpu' : 'webgpu';
  backend = await initBackend({ prefer });
  if (backend.fallbackReason) notice(fallbackText(backend.fallbackReason));
  document.body.dataset.device = backend.device;
  ui.stats.textContent = `${backendLabel()} · loading the face detector…`;
  detector = await loadFaceDetector({ device: backend.device });
  const manifest = (await fetch(new URL('weights/manifest.json', document.baseURI)).then((r) => (r.ok ? r.json() : {}), () => ({}))) as { resemotenet?: string | null };
  if (manifest.resemotenet) {
    ui.stats.textContent = `${backendLabel()} · loading the emotion classifier…`;
    setClassifier(await loadPretrainedFromUrl(new URL(manifest.resemotenet, document.baseURI), { device: backend.device }), 'shipped weights');
  } else {
    ui.modelName.textContent = 'none yet: pick a checkpoint';
    ui.model.open = true;
  }
  ui.stats.textContent = backendLabel();
  setState(recognizer ? 'ready' : 'need-weights');
  if (photo && !webcam) await analysePhoto(); // chosen while the models loaded
}

ui.photoInput.addEventListener('change', () => {
  const file = ui.photoInput.files?.[0];
  ui.photoInput.value = ''; // choosing the same file again analyses it again
  if (file) void guard(file.name, () => openPhoto(file));
});

ui.webcamButton.addEventListener('click', () => void guard('webcam', () => (webcam ? stopWebcam() : startWebcam())));

ui.checkpointInput.addEventListener('change', () => {
  const files = Array.from(ui.checkpointInput.files ?? []);
  ui.checkpointInput.value = '';
  if (files.length === 0 || !backend) return;
  const device = backend.device;
  void guard('checkpoint', async () => {
    setState('busy');
    const clf = await loadClassifierFromFiles(files, { device });
    await exclusive(async () => setClassifier(clf, files.map((f) => f.name).join(' + ')));
    notice(backend?.fallbackReason ? fallbackText(backend.fallbackReason) : null);
    ui.model.open = false;
    setState('ready');
    if (!webcam) await analysePhoto();
  });
});

// Drag and drop onto the picture (dropping elsewhere must not navigate away from the page).
for (const ev of ['dragover', 'drop'] as const) window.addEventListener(ev, (e) => e.preventDefault());
ui.stage.addEventListener('dragover', () => ui.stage.classList.add('dragging'));
ui.stage.addEventListener('dragleave', () => ui.stage.classList.remove('dragging'));
ui.stage.addEventListener('drop', (e) => {
  ui.stage.classList.remove('dragging');
  const file = Array.from(e.dataTransfer?.files ?? []).find((f) => f.type.startsWith('image/'));
  if (file) void guard(file.name, () => openPhoto(file));
});

void guard('start-up', start);
