// Browser demo: pick or drop an ONNX ShuffleNet, a photo and (optionally) a label file; shows
// the top 5 with probability bars, the latency, and model.profile()'s time per step.
// Plain ESM importing the package by name: src/demo/serve.mjs bundles it with esbuild.
// Labels may also come from a URL: ?labels=/labels.txt (serve.mjs --labels FILE serves one).
import { loadModel, hasSimd, hasRelaxedSimd, parseLabels, ShuffleNetError } from 'shufflenet-wasm';

const $ = (id) => document.getElementById(id);
const state = { model: undefined, modelName: '', labels: undefined, image: undefined, busy: false, seq: 0 };

function setState(s) {
  document.body.dataset.state = s;
}

function status(text) {
  $('status').textContent = text;
}

function showError(e) {
  const msg = e instanceof ShuffleNetError ? `${e.code}: ${e.message.replace(/^E_[A-Z_]+: /, '')}` : String(e?.message ?? e);
  $('error').textContent = msg;
  setState('error');
}

function clearError() {
  $('error').textContent = '';
}

const fmtMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

async function setModel(file) {
  clearError();
  $('modelName').textContent = file.name;
  setState('loading');
  status(`Loading ${file.name} (${(file.size / 1e6).toFixed(1)} MB)…`);
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const t0 = performance.now();
    const model = await loadModel(bytes);
    const ms = performance.now() - t0;
    state.model?.dispose();
    state.model = model;
    state.modelName = file.name;
    state.loadMs = ms;
    status(`Model ${file.name} loaded in ${fmtMs(ms)} ms.`);
    setState('ready');
    await classify();
  } catch (e) {
    showError(e);
  }
}

async function setLabels(text, name) {
  clearError();
  try {
    state.labels = parseLabels(text);
    $('labelsName').textContent = `${name} (${state.labels.length} classes)`;
    await classify();
  } catch (e) {
    showError(e);
  }
}

async function setPhoto(file) {
  clearError();
  $('photoName').textContent = file.name;
  try {
    // createImageBitmap decodes JPEG / PNG / WebP / AVIF off the main thread, honouring EXIF
    // orientation; the canvas gives the RGBA ImageData that model.classify takes.
    const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    const canvas = $('preview');
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(bitmap, 0, 0);
    bitmap.close();
    state.image = ctx.getImageData(0, 0, canvas.width, canvas.height);
    state.imageName = file.name;
    $('result').classList.remove('hidden');
    await classify();
  } catch (e) {
    showError(e.name === 'InvalidStateError' || e.name === 'EncodingError' ? new Error(`could not decode ${file.name} as an image`) : e);
  }
}

async function classify() {
  if (!state.model || !state.image) {
    if (!state.model) status(state.image ? 'Now load an ONNX model.' : 'Load a model and a photo.');
    else status(`Model ${state.modelName} loaded. Now choose a photo.`);
    return;
  }
  const seq = ++state.seq;
  setState('running');
  const labels = state.labels && state.labels.length === state.model.classes ? state.labels : undefined;
  if (state.labels && !labels) {
    $('error').textContent = `label file has ${state.labels.length} entries but the model has ${state.model.classes} classes: showing indices`;
  }
  // First call (what a user waits for), then the median of a few more.
  const t0 = performance.now();
  const top = state.model.classify(state.image, { topk: 5, labels });
  const first = performance.now() - t0;
  const more = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    state.model.classify(state.image, { topk: 5 });
    more.push(performance.now() - t);
  }
  more.sort((a, b) => a - b);
  renderTop(top);
  $('latency').innerHTML =
    `classify (resize + crop + normalize + inference): <b id="latencyFirst">${fmtMs(first)} ms</b>, ` +
    `median of 5 more <b id="latencyMedian">${fmtMs(more[2])} ms</b> · image ${state.image.width}×${state.image.height}`;
  status(`${state.imageName}: ${top[0].label ?? 'class ' + top[0].index} (${(top[0].probability * 100).toFixed(1)}%) with ${state.modelName}`);
  setState('done');
  // Profiling runs every step 10 times: let the result paint first.
  await new Promise((r) => setTimeout(r, 30));
  if (seq !== state.seq) return;
  renderProfile(state.model.profile({ runs: 10 }));
}

function renderTop(top) {
  const ol = $('top5');
  ol.replaceChildren(...top.map((c) => {
    const li = document.createElement('li');
    li.dataset.index = String(c.index);
    const label = document.createElement('span');
    label.className = 'label';
    const idx = document.createElement('span');
    idx.className = 'idx';
    idx.textContent = String(c.index);
    label.append(idx, c.label ?? `class ${c.index}`);
    label.title = c.label ?? '';
    const pct = document.createElement('span');
    pct.className = 'pct';
    pct.textContent = `${(c.probability * 100).toFixed(1)}%`;
    const bar = document.createElement('div');
    bar.className = 'bar';
    const fill = document.createElement('span');
    fill.style.width = `${Math.max(0.5, c.probability * 100).toFixed(1)}%`;
    bar.append(fill);
    li.append(label, pct, bar);
    return li;
  }));
}

const COLORS = ['#2f6fde', '#e07a1f', '#2a9d6f', '#b54bc4', '#d64545', '#7a8699', '#c9a227', '#3bb3c3'];

function renderProfile(p) {
  const section = $('profile');
  section.classList.remove('hidden');
  const steps = p.steps.filter((s) => s.kernel !== 'view');
  const kernels = [...new Set(steps.map((s) => s.kernel))];
  const color = (k) => COLORS[kernels.indexOf(k) % COLORS.length];
  const max = Math.max(...steps.map((s) => s.timeMs ?? 0), 1e-6);
  const svg = $('chart');
  const W = svg.clientWidth || 1000, H = svg.clientHeight || 190, pad = 22;
  const bw = (W - pad) / steps.length;
  const ns = 'http://www.w3.org/2000/svg';
  const el = (name, attrs) => {
    const e = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    return e;
  };
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const children = [el('line', { x1: pad, y1: H - 14, x2: W, y2: H - 14, stroke: '#c5cbd6' })];
  const axis = el('text', { x: 0, y: 10, 'font-size': 10, fill: '#667085' });
  axis.textContent = `${fmtMs(max)} ms`;
  children.push(axis);
  steps.forEach((s, i) => {
    const h = ((s.timeMs ?? 0) / max) * (H - 30);
    const r = el('rect', { x: pad + i * bw + 0.5, y: H - 14 - h, width: Math.max(1, bw - 1), height: Math.max(0.5, h), fill: color(s.kernel) });
    const title = document.createElementNS(ns, 'title');
    title.textContent = `${s.name}: ${s.kernel}, ${s.input} → ${s.output}, ${(s.timeMs ?? 0).toFixed(3)} ms`;
    r.append(title);
    children.push(r);
  });
  const first = el('text', { x: pad, y: H - 2, 'font-size': 10, fill: '#667085' });
  first.textContent = 'input';
  const last = el('text', { x: W, y: H - 2, 'font-size': 10, fill: '#667085', 'text-anchor': 'end' });
  last.textContent = 'logits';
  children.push(first, last);
  svg.replaceChildren(...children);

  $('legend').replaceChildren(...kernels.map((k) => {
    const span = document.createElement('span');
    const sw = document.createElement('i');
    sw.style.background = color(k);
    span.append(sw, k);
    return span;
  }));
  const total = p.totals.timeMs ?? 0;
  const rows = kernels.map((k) => {
    const ss = steps.filter((s) => s.kernel === k);
    const ms = ss.reduce((a, s) => a + (s.timeMs ?? 0), 0);
    const macs = ss.reduce((a, s) => a + s.macs, 0);
    return { k, n: ss.length, ms, macs };
  }).sort((a, b) => b.ms - a.ms);
  const table = $('byKernel');
  table.innerHTML = '<tr><th>kernel</th><th>steps</th><th>ms</th><th>share</th><th>GFLOP/s</th></tr>';
  for (const r of rows) {
    const tr = document.createElement('tr');
    for (const v of [r.k, r.n, r.ms.toFixed(2), `${((r.ms / total) * 100).toFixed(0)}%`, r.macs && r.ms ? ((2 * r.macs) / (r.ms * 1e6)).toFixed(1) : '–']) {
      const td = document.createElement('td');
      td.textContent = String(v);
      tr.append(td);
    }
    table.append(tr);
  }
  $('profileNote').textContent = `— median of 10 runs per step, ${p.steps.length} steps (${p.steps.length - steps.length} zero-copy views not drawn), sum ${fmtMs(total)} ms, ${p.flavor} kernels`;
  document.body.dataset.profiled = 'true';
}

// ---- inputs: file pickers, drag and drop, optional ?labels=URL

function route(file) {
  if (/\.onnx$/i.test(file.name)) return setModel(file);
  if (file.type.startsWith('image/') || /\.(jpe?g|png|webp|gif|bmp|avif)$/i.test(file.name)) return setPhoto(file);
  if (file.type.startsWith('text/') || /\.(txt|labels?)$/i.test(file.name)) return file.text().then((t) => setLabels(t, file.name));
  showError(new Error(`don't know what to do with ${file.name}: expected .onnx, an image or a .txt label file`));
}

async function routeAll(files) {
  // Labels and model first, so the photo is classified once with everything in place.
  const order = (f) => (/\.onnx$/i.test(f.name) ? 1 : /\.(txt|labels?)$/i.test(f.name) ? 0 : 2);
  for (const f of [...files].sort((a, b) => order(a) - order(b))) await route(f);
}

$('model').addEventListener('change', (e) => e.target.files[0] && setModel(e.target.files[0]));
$('photo').addEventListener('change', (e) => e.target.files[0] && setPhoto(e.target.files[0]));
$('labels').addEventListener('change', (e) => e.target.files[0] && e.target.files[0].text().then((t) => setLabels(t, e.target.files[0].name)));

const drop = $('drop');
for (const ev of ['dragenter', 'dragover']) {
  window.addEventListener(ev, (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
}
for (const ev of ['dragleave', 'drop']) window.addEventListener(ev, () => drop.classList.remove('over'));
window.addEventListener('drop', (e) => {
  e.preventDefault();
  if (e.dataTransfer?.files?.length) routeAll(e.dataTransfer.files);
});

$('engine').textContent = `WebAssembly SIMD: ${hasSimd() ? 'yes' : 'no'} · relaxed SIMD: ${hasRelaxedSimd() ? 'yes' : 'no'} · ` +
  `timer: ${self.crossOriginIsolated ? 'fine (cross-origin isolated)' : 'coarse (not cross-origin isolated)'} · ${navigator.userAgent}`;

const labelsUrl = new URLSearchParams(location.search).get('labels');
if (labelsUrl) {
  fetch(labelsUrl)
    .then((r) => (r.ok ? r.text() : Promise.reject(new Error(`labels ${labelsUrl}: HTTP ${r.status}`))))
    .then((t) => setLabels(t, labelsUrl.split('/').pop()))
    .catch(showError);
}
if (!hasSimd()) showError(new Error('this browser has no WebAssembly SIMD (needs Chrome 91+, Firefox 89+, Safari 16.4+)'));
