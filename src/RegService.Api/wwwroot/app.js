// RegService's page: upload a CSV, fit, follow the fit, show its result and plots, predict.
// Plain browser JavaScript (no build step, no library); every request carries the pasted API key.
'use strict';

const KEY_STORAGE = 'regservice.apiKey';
const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);
const POLL_MILLISECONDS = 500;
const SHOWN_ROWS = 100;

const $ = (id) => document.getElementById(id);
const state = { dataset: null, fitId: null, tracking: null, validated: false };

// ---------- requests ----------

/** A request the service refused: its RFC 9457 problem details (or what the response held instead). */
class ApiError extends Error {
  constructor(problem) {
    super(problem.title || 'The request failed');
    this.problem = problem;
  }
}

function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || '';
}

function withKey(headers) {
  const h = new Headers(headers || {});
  const key = apiKey();
  if (key) h.set('Authorization', 'Bearer ' + key);
  return h;
}

/** fetch() with the key; a response that is not 2xx becomes an ApiError with the problem it carried. */
async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, { ...options, headers: withKey(options.headers), cache: 'no-store' });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError({ title: 'The service could not be reached', detail: String(error.message || error) });
  }
  if (!response.ok) throw new ApiError(await problemOf(response));
  return response;
}

async function problemOf(response) {
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (body && typeof body === 'object' && !Array.isArray(body)) return { status: response.status, ...body };
  return { status: response.status, title: response.statusText || 'HTTP ' + response.status, detail: text.slice(0, 500) || null };
}

const getJson = async (path, options) => (await api(path, options)).json();
const fitPath = (id, rest = '') => '/v1/fits/' + encodeURIComponent(id) + rest;
const delay = (ms, signal) => new Promise((resolve, reject) => {
  const timer = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(timer); reject(new DOMException('aborted', 'AbortError')); }, { once: true });
});

// ---------- rendering helpers ----------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

function fmt(value) {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return String(value);
    const abs = Math.abs(value);
    return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? value.toExponential(4) : String(Number(value.toPrecision(5)));
  }
  if (Array.isArray(value)) return value.map(fmt).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function definitionList(entries) {
  const list = el('dl');
  for (const [name, value] of entries) list.append(el('dt', { text: name }), el('dd', { text: fmt(value) }));
  return list;
}

const PROBLEM_FIELDS = new Set(['type', 'title', 'status', 'detail', 'instance', 'errors', 'requestId', 'traceId']);

/** Shows problem details readably: title and status, detail, the errors by field, other members, the request id. */
function showProblem(container, error) {
  container.replaceChildren();
  if (error?.name === 'AbortError') return;
  const problem = error instanceof ApiError ? error.problem : { title: 'Something went wrong in this page', detail: String(error?.message || error) };
  const box = el('div', { class: 'problem', role: 'alert' });
  box.append(el('strong', { class: 'problem-title', text: problem.title || 'The request failed' }));
  if (problem.status) box.append(' ', el('span', { class: 'problem-status', text: '(' + problem.status + ')' }));
  if (problem.detail) box.append(el('p', { class: 'problem-detail', text: problem.detail }));
  if (problem.errors && typeof problem.errors === 'object') {
    const list = el('ul', { class: 'problem-errors' });
    for (const [field, messages] of Object.entries(problem.errors)) {
      for (const message of [].concat(messages)) {
        list.append(el('li', {}, el('code', { text: field || '(body)' }), ': ' + message));
      }
    }
    box.append(list);
  }
  for (const [name, value] of Object.entries(problem)) {
    if (!PROBLEM_FIELDS.has(name)) box.append(el('p', { class: 'problem-extra', text: name + ': ' + fmt(value) }));
  }
  if (problem.status === 401) box.append(el('p', { text: 'Paste an API key in step 1 (Use key).' }));
  if (problem.requestId) box.append(el('p', { class: 'request-id', text: 'request ' + problem.requestId }));
  container.append(box);
}

async function busy(button, work) {
  button.disabled = true;
  try { await work(); } finally { button.disabled = false; }
}

// ---------- 1. key ----------

let keyChecks = 0;

async function checkKey() {
  const status = $('key-status');
  const problem = $('key-problem');
  const check = ++keyChecks;   // a slower earlier check (the key before this one) must not write over this one's answer
  problem.replaceChildren();
  status.textContent = 'Checking...';
  try {
    await api('/v1/datasets?limit=1');
    if (check !== keyChecks) return;
    status.textContent = apiKey() ? 'Connected with this key.' : 'Connected: this service needs no key (Auth:Mode None).';
    status.dataset.state = 'ok';
    await refreshLists();
  } catch (error) {
    if (check !== keyChecks) return;
    status.textContent = apiKey() ? 'The key was not accepted.' : 'This service needs an API key.';
    status.dataset.state = 'refused';
    showProblem(problem, error);
  }
}

function setUpKey() {
  $('api-key').value = apiKey();
  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = $('api-key').value.trim();
    if (key) sessionStorage.setItem(KEY_STORAGE, key); else sessionStorage.removeItem(KEY_STORAGE);
    checkKey();
  });
  $('forget-key').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_STORAGE);
    $('api-key').value = '';
    checkKey();
  });
  checkKey();
}

// ---------- 2. data set ----------

async function upload() {
  const file = $('csv-file').files[0];
  const problem = $('upload-problem');
  problem.replaceChildren();
  if (!file) return;
  const name = file.name.replace(/\.csv$/i, '').slice(0, 200);
  try {
    const response = await api('/v1/datasets?name=' + encodeURIComponent(name), {
      method: 'POST', headers: { 'Content-Type': 'text/csv' }, body: file,
    });
    showDataset(await response.json());
    await refreshLists();
  } catch (error) {
    showProblem(problem, error);
  }
}

// ---------- what this key already has: data sets and fits ----------

const LISTED = 100;

/** The caller's data sets (newest first) into both choosers, and its fits into the table of earlier fits. */
async function refreshLists() {
  const problem = $('lists-problem');
  problem.replaceChildren();
  try {
    const [datasets, fits] = await Promise.all([
      getJson('/v1/datasets?limit=' + LISTED), getJson('/v1/fits?limit=' + LISTED)]);
    state.datasets = datasets.items;
    for (const id of ['existing-dataset', 'predict-dataset']) {
      const select = $(id);
      const chosen = select.value;
      select.replaceChildren(...datasets.items.map((d) => el('option', { value: d.id, text: `${d.name} (${d.rows} x ${d.columnCount}, ${d.id.slice(0, 8)})` })));
      if (chosen && datasets.items.some((d) => d.id === chosen)) select.value = chosen;
    }
    $('existing-form').classList.toggle('is-hidden', datasets.items.length === 0);
    showFits(fits);
  } catch (error) {
    showProblem(problem, error);
  }
}

function showFits(page) {
  const names = new Map((state.datasets || []).map((d) => [d.id, d.name]));
  const table = $('fits-table');
  table.replaceChildren(el('tr', {}, ...['fit', 'data set', 'status', 'created', ''].map((h) => el('th', { text: h }))));
  for (const job of page.items) {
    const open = el('button', { type: 'button', class: 'open-fit', 'data-fit-id': job.id, text: 'Open' });
    open.addEventListener('click', () => busy(open, () => openFit(job.id)));
    table.append(el('tr', { 'data-fit-id': job.id },
      el('td', { text: job.name || job.id.slice(0, 8) }), el('td', { text: names.get(job.datasetId) || job.datasetId.slice(0, 8) }),
      el('td', { class: 'fit-status', text: job.status }), el('td', { text: new Date(job.createdAt).toLocaleString() }), el('td', {}, open)));
  }
  table.hidden = page.items.length === 0;
  $('fits-empty').hidden = page.items.length > 0;
  $('fits-empty').textContent = page.items.length ? '' : 'None yet with this key.';
  if (page.total > page.items.length) table.append(el('tr', {}, el('td', { colspan: '5', class: 'hint', text: `the newest ${page.items.length} of ${page.total}` })));
}

/** A fit chosen from the list: its data set becomes the current one, and the fit is followed (or shown) as a new one is. */
async function openFit(id) {
  const job = await getJson(fitPath(id));
  try {
    showDataset(await getJson('/v1/datasets/' + encodeURIComponent(job.datasetId)));
  } catch (error) {
    if (!(error instanceof ApiError && error.problem.status === 404)) throw error;   // deleted since: the fit still shows
  }
  await track(job);
}

async function useExisting() {
  const id = $('existing-dataset').value;
  const problem = $('upload-problem');
  problem.replaceChildren();
  if (!id) return;
  try {
    showDataset(await getJson('/v1/datasets/' + encodeURIComponent(id)));
  } catch (error) {
    showProblem(problem, error);
  }
}

function showDataset(dataset) {
  state.dataset = dataset;
  const info = $('dataset-info');
  const table = el('table', { id: 'columns' },
    el('tr', {}, ...['column', 'mean', 'sd', 'min', 'max'].map((h) => el('th', { text: h }))));
  for (const c of dataset.columns) {
    table.append(el('tr', {}, el('td', { text: c.name }), ...[c.mean, c.stdDev, c.min, c.max].map((v) => el('td', { text: fmt(v) }))));
  }
  info.replaceChildren(
    el('p', { id: 'dataset-summary', text: `${dataset.name}: ${dataset.rows} rows, ${dataset.columnCount} columns (id ${dataset.id})` }),
    table);
  info.hidden = false;

  const target = $('target');
  target.replaceChildren(...dataset.columns.map((c) => el('option', { value: c.name, text: c.name })));
  target.value = dataset.columns[dataset.columns.length - 1].name;   // the last column, as CSV exports usually put it
  $('folds').max = String(dataset.rows);
  $('folds').value = String(Math.min(Number($('folds').value) || 10, dataset.rows));
  $('fit-section').hidden = false;
}

// ---------- 3. fit ----------

function updateFitForm() {
  const penalty = $('penalty').value;
  const validation = $('validation').value;
  for (const node of document.querySelectorAll('.elastic-only')) node.classList.toggle('is-hidden', penalty !== 'elasticNet');
  for (const node of document.querySelectorAll('.kfold-only')) node.classList.toggle('is-hidden', validation !== 'kfold');
  for (const node of document.querySelectorAll('.validated-only')) node.classList.toggle('is-hidden', validation === 'none');
}

function fitRequest() {
  const request = {
    datasetId: state.dataset.id,
    target: $('target').value,
    family: $('family').value,
    penalty: $('penalty').value,
  };
  if (request.penalty === 'elasticNet') request.l1Ratio = Number($('l1ratio').value);
  const method = $('validation').value;
  if (method !== 'none') {
    request.validation = { method, rule: $('rule').value };
    if (method === 'kfold') request.validation.folds = Number($('folds').value);
  }
  return request;
}

async function submitFit() {
  const problem = $('fit-problem');
  problem.replaceChildren();
  try {
    const response = await api('/v1/fits', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(fitRequest()),
    });
    const job = await response.json();
    refreshLists();
    track(job);
  } catch (error) {
    showProblem(problem, error);
  }
}

// ---------- 4. progress ----------

/** Follows a fit: its event stream when the service has one, else polling; then its result. */
async function track(job) {
  state.tracking?.abort();
  const controller = new AbortController();
  state.tracking = controller;
  state.fitId = job.id;
  $('progress-section').dataset.fitId = job.id;
  for (const id of ['result-section', 'predict-section']) $(id).hidden = true;
  $('progress-section').hidden = false;
  $('progress-log').replaceChildren();
  $('progress-problem').replaceChildren();
  $('progress-section').dataset.updates = '0';
  $('progress-section').dataset.events = '0';
  $('progress-section').dataset.finished = '';
  showProgress(job, 'the submission');
  try {
    const ended = await followEvents(job.id, controller.signal) || await poll(job.id, controller.signal);
    if (ended) await finish(job.id, controller.signal);
  } catch (error) {
    if (state.tracking === controller) showProblem($('progress-problem'), error);   // not an older fit's, replaced by a new one
  }
}

/** Reads GET /v1/fits/{id}/events with fetch() (EventSource cannot send the key). False when there is no stream to read. */
async function followEvents(id, signal) {
  let response;
  try {
    response = await fetch(fitPath(id, '/events'), { headers: withKey({ Accept: 'text/event-stream' }), cache: 'no-store', signal });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    return false;
  }
  // A service without the events route, or too many streams open (Limits:MaxProgressStreams): poll instead.
  if (response.status === 404 || response.status === 429) return false;
  if (!response.ok) throw new ApiError(await problemOf(response));

  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return false;   // the stream closed before its end event: poll for the rest
    buffer += value;
    let boundary;
    while ((boundary = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary).replace(/^\r?\n\r?\n/, '');
      const event = parseEvent(block);
      if (!event) continue;
      const section = $('progress-section');
      section.dataset.events = String(Number(section.dataset.events || 0) + 1);
      showProgress(JSON.parse(event.data), 'the event stream');
      if (event.type === 'end') {
        reader.cancel().catch(() => {});
        return true;
      }
    }
  }
}

/** One server-sent event block: its type and data; null for a comment-only block (keep-alive). */
function parseEvent(block) {
  let type = 'message';
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  }
  return data.length ? { type, data: data.join('\n') } : null;
}

async function poll(id, signal) {
  for (;;) {
    let job;
    try {
      job = await getJson(fitPath(id), { signal });
    } catch (error) {
      // Too many requests, or the store briefly unavailable: wait as the service asks, then go on.
      const after = error instanceof ApiError && [429, 503].includes(error.problem.status) ? error.problem.retryAfterSeconds : null;
      if (!after) throw error;
      await delay(1000 * after, signal);
      continue;
    }
    showProgress(job, 'polling');
    if (TERMINAL.has(job.status)) return true;
    await delay(POLL_MILLISECONDS, signal);
  }
}

/** The values of the live progress shown beside its stage (GET /v1/fits/{id}/events). */
const PROGRESS_VALUES = [['lambda', 'lambda'], ['devianceRatio', 'dev.ratio'], ['loss', 'loss'], ['validationLoss', 'validation loss']];

function showProgress(job, source) {
  const progress = job.progress || {};
  const fraction = TERMINAL.has(job.status) && job.status === 'succeeded' ? 1 : Math.min(Math.max(progress.fraction || 0, 0), 1);
  $('progress-bar').value = fraction;
  const parts = [job.status, Math.round(fraction * 100) + '%'];
  if (progress.stage) parts.push(progress.stage);   // its words carry the lambda, fold and epoch counts
  for (const [name, label] of PROGRESS_VALUES) {
    if (progress[name] !== null && progress[name] !== undefined) parts.push(label + ' ' + fmt(progress[name]));
  }
  if (progress.etaSeconds != null && !TERMINAL.has(job.status)) parts.push('about ' + fmt(progress.etaSeconds) + ' s left');
  const text = parts.join(' · ');
  $('progress-text').textContent = text;
  $('progress-source').textContent = source;
  const section = $('progress-section');
  section.dataset.source = source;
  section.dataset.status = job.status;
  section.dataset.updates = String(Number(section.dataset.updates || 0) + 1);
  const log = $('progress-log');
  if (log.lastElementChild?.textContent !== text) log.append(el('li', { text }));
}

// ---------- 5. result ----------

async function finish(id, signal) {
  const job = await getJson(fitPath(id), { signal });
  showProgress(job, $('progress-section').dataset.source);
  $('progress-section').dataset.finished = job.status;
  if (job.status !== 'succeeded') {
    const error = job.error || { title: 'The fit was ' + job.status, detail: job.cancelRequested ? 'DELETE asked it to stop.' : null };
    showProblem($('progress-problem'), new ApiError({ title: error.title, detail: error.detail, fitStatus: job.status }));
    return;
  }
  showResult(job.result);
  state.validated = Boolean(job.result.validation);
  for (const node of document.querySelectorAll('.validated-fit')) node.disabled = !state.validated;
  if (!state.validated && ['min', '1se'].includes($('predict-lambda').value)) $('predict-lambda').value = '';
  updatePredictForm();
  $('result-section').hidden = false;
  $('predict-section').hidden = false;
  for (const cell of document.querySelectorAll(`#fits-table tr[data-fit-id="${CSS.escape(id)}"] .fit-status`)) cell.textContent = job.status;
  $('predictions').replaceChildren();
  $('predict-problem').replaceChildren();
  await showPlots(id, signal);
}

function showResult(result) {
  const path = result.path || {};
  const lambdaMin = result.lambdaMin ?? path.lambdaMin ?? result.validation?.lambdaMin;
  const lambda1se = result.lambda1se ?? path.lambda1se ?? result.validation?.lambda1se;
  const summary = [
    ['family', result.family], ['penalty', result.penalty], ['l1Ratio', result.l1Ratio], ['lambda', result.lambda],
    ['status', result.status], ['solver', result.diagnostics?.solver],
  ];
  if (result.validation) summary.push(['validation', result.validation.method + (result.validation.folds ? ` (${result.validation.folds} folds)` : '')], ['rule', result.validation.rule]);
  if (lambdaMin !== undefined) summary.push(['lambda.min', lambdaMin]);
  if (lambda1se !== undefined) summary.push(['lambda.1se', lambda1se]);
  $('result-summary').replaceChildren(definitionList(summary));
  for (const warning of result.diagnostics?.warnings || []) $('result-summary').append(el('p', { class: 'hint', text: 'warning: ' + warning }));

  const metrics = $('metrics');
  metrics.replaceChildren();
  for (const [set, values] of Object.entries(result.metrics || {})) {
    if (!values) continue;
    metrics.append(el('h4', { text: set === 'train' ? 'training rows' : set + ' (out of sample)' }),
      definitionList(Object.entries(values).filter(([name]) => name !== 'family')));
    metrics.lastElementChild.dataset.set = set;
  }

  const s = result.sparsity;
  const sparsity = $('sparsity');
  sparsity.textContent = s ? `${s.nonZero} of ${s.total} coefficients nonzero (${fmt(100 * s.fractionZero)}% zero)` : '-';
  if (s) { sparsity.dataset.nonZero = s.nonZero; sparsity.dataset.total = s.total; }

  const table = $('coefficients');
  const models = result.classes?.models;   // multinomial: one column per class
  if (models) {
    const names = [...new Set(models.flatMap((m) => Object.keys(m.coefficients)))];
    table.replaceChildren(el('tr', {}, el('th', { text: 'feature' }), ...models.map((m) => el('th', { text: 'class ' + fmt(m.label) }))),
      el('tr', {}, el('td', { text: '(intercept)' }), ...models.map((m) => el('td', { text: fmt(m.intercept) }))));
    for (const name of names) table.append(el('tr', {}, el('td', { text: name }), ...models.map((m) => el('td', { text: fmt(m.coefficients[name] ?? 0) }))));
    return;
  }
  table.replaceChildren(el('tr', {}, el('th', { text: 'feature' }), el('th', { text: 'coefficient' })),
    el('tr', {}, el('td', { text: '(intercept)' }), el('td', { text: fmt(result.intercept) })));
  for (const [name, value] of Object.entries(result.coefficients || {})) {
    if (value !== 0) table.append(el('tr', {}, el('td', { text: name }), el('td', { text: fmt(value) })));
  }
}

/** The plots the fit can draw (GET /v1/fits/{id}/plots), each SVG fetched with the key and put in the page. */
async function showPlots(id, signal) {
  const plots = $('plots');
  const problem = $('plots-problem');
  plots.replaceChildren();
  problem.replaceChildren();
  let kinds;
  try {
    kinds = (await getJson(fitPath(id, '/plots'), { signal })).kinds;
  } catch (error) {
    if (error instanceof ApiError && error.problem.status === 404) {   // the fit exists: the service has no plots route
      plots.append(el('p', { class: 'hint', id: 'no-plots', text: 'This service does not draw plots.' }));
      return;
    }
    throw error;
  }
  for (const kind of kinds) {
    const figure = el('figure', { 'data-kind': kind }, el('figcaption', { text: kind }));
    plots.append(figure);
    try {
      const text = await (await api(fitPath(id, '/plots/' + encodeURIComponent(kind) + '.svg'), { signal })).text();
      figure.append(svgFrom(text, 'plot-' + kind + '-'));
    } catch (error) {
      const box = el('div');
      figure.append(box);
      showProblem(box, error);
    }
  }
}

/**
 * Parses an SVG document and keeps only drawing: no scripts, no event handlers, no external links. Its ids get a
 * prefix (with the references to them), so that several plots in one page do not share a clip path or gradient.
 */
function svgFrom(text, prefix) {
  const parsed = new DOMParser().parseFromString(text, 'image/svg+xml');
  const root = parsed.documentElement;
  if (root.nodeName !== 'svg' || parsed.querySelector('parsererror')) throw new Error('the plot is not a readable SVG document');
  for (const node of root.querySelectorAll('script, foreignObject, iframe')) node.remove();
  const nodes = [root, ...root.querySelectorAll('*')];
  const ids = new Set(nodes.filter((node) => node.id).map((node) => node.id));
  const renamed = (value) => value.replace(/url\(#([^)]+)\)/g, (all, id) => ids.has(id) ? `url(#${prefix}${id})` : all);
  for (const node of nodes) {
    for (const attribute of [...node.attributes]) {
      const name = attribute.name.toLowerCase();
      if (name.startsWith('on') || ((name === 'href' || name === 'xlink:href') && !attribute.value.startsWith('#'))) node.removeAttribute(attribute.name);
      else if (name === 'id') attribute.value = prefix + attribute.value;
      else if ((name === 'href' || name === 'xlink:href') && ids.has(attribute.value.slice(1))) attribute.value = '#' + prefix + attribute.value.slice(1);
      else if (attribute.value.includes('url(#')) attribute.value = renamed(attribute.value);
    }
  }
  return document.importNode(root, true);
}

// ---------- 6. predict ----------

function updatePredictForm() {
  for (const node of document.querySelectorAll('.lambda-value-only')) node.classList.toggle('is-hidden', $('predict-lambda').value !== 'number');
}

/** The query of a prediction: ?lambda= as chosen (a number, min or 1se; none: the fit's own) and ?datasetId= when scoring a stored data set. */
function predictQuery(datasetId) {
  const query = new URLSearchParams();
  const choice = $('predict-lambda').value;
  if (choice === 'number') query.set('lambda', $('predict-lambda-value').value.trim());
  else if (choice) query.set('lambda', choice);
  if (datasetId) query.set('datasetId', datasetId);
  const text = query.toString();
  return text ? '?' + text : '';
}

async function predict(stored) {
  const problem = $('predict-problem');
  problem.replaceChildren();
  $('predictions').replaceChildren();
  if (!state.fitId) return;
  const file = $('predict-file').files[0];
  const datasetId = stored ? $('predict-dataset').value : null;
  if (stored ? !datasetId : !file) return;
  try {
    const options = stored ? { method: 'POST' } : { method: 'POST', headers: { 'Content-Type': 'text/csv' }, body: file };
    const response = await api(fitPath(state.fitId, '/predict' + predictQuery(datasetId)), options);
    showPredictions(await response.json());
  } catch (error) {
    showProblem(problem, error);
  }
}

const PREDICTION_HEADINGS = { gaussian: 'prediction', binomial: 'probability of 1', poisson: 'mean count', multinomial: 'class' };

function showPredictions(result) {
  const binomial = Array.isArray(result.classes);
  const multinomial = Array.isArray(result.probabilities);   // predictions are the labels; the probability of the one chosen beside them
  const second = binomial ? 'class' : multinomial ? 'its probability' : null;
  const table = el('table', { id: 'prediction-table' },
    el('tr', {}, el('th', { text: 'row' }), el('th', { text: PREDICTION_HEADINGS[result.family] || 'prediction' }), second ? el('th', { text: second }) : null));
  result.predictions.slice(0, SHOWN_ROWS).forEach((p, i) => {
    const extra = binomial ? String(result.classes[i]) : multinomial ? fmt(Math.max(...result.probabilities[i])) : null;
    table.append(el('tr', {}, el('td', { text: String(i + 1) }), el('td', { text: fmt(p) }), extra !== null ? el('td', { text: extra }) : null));
  });
  const shown = Math.min(result.rows, SHOWN_ROWS);
  $('predictions').replaceChildren(
    el('p', { id: 'prediction-summary', text: `${result.rows} rows scored at lambda ${fmt(result.lambda)}` + (result.interpolated ? ' (interpolated)' : '')
      + (shown < result.rows ? ` (the first ${shown} shown)` : '') }),
    table);
  if (result.metrics) {
    const metrics = definitionList(Object.entries(result.metrics).filter(([name]) => name !== 'family'));
    metrics.id = 'prediction-metrics';
    $('predictions').append(el('h4', { text: 'against the data set\'s target' }), metrics);
  }
}

// ---------- start ----------

function start() {
  setUpKey();
  $('upload-form').addEventListener('submit', (event) => { event.preventDefault(); busy($('upload'), upload); });
  $('fit-form').addEventListener('submit', (event) => { event.preventDefault(); busy($('submit-fit'), submitFit); });
  $('predict-form').addEventListener('submit', (event) => { event.preventDefault(); busy($('predict'), () => predict(false)); });
  $('predict-dataset-form').addEventListener('submit', (event) => { event.preventDefault(); busy($('predict-stored'), () => predict(true)); });
  $('existing-form').addEventListener('submit', (event) => { event.preventDefault(); busy($('use-dataset'), useExisting); });
  $('refresh-lists').addEventListener('click', () => busy($('refresh-lists'), refreshLists));
  $('predict-lambda').addEventListener('change', updatePredictForm);
  updatePredictForm();
  $('penalty').addEventListener('change', updateFitForm);
  $('validation').addEventListener('change', updateFitForm);
  updateFitForm();
  document.body.dataset.ready = 'true';
}

start();
