// The web app: range, filters and mode controls, the timeline and the
// flamegraph view, all driven by the state in the URL fragment (state.js).

import { h, fmtCount, fmtTime, fmtDuration } from './util.js';
import { apiGet } from './api.js';
import { parseState, stateToHash } from './state.js';
import { FlameView } from './view.js';
import { Timeline } from './timeline.js';

const $ = (id) => document.getElementById(id);
let state = parseState(location.hash);
let meta = null;
let lastQuery = null;
let generation = 0;
let controller = null;

const view = new FlameView($('view'), {
  onState: (vs) => {
    Object.assign(state, vs);
    saveHash(false);
  },
});
const timeline = new Timeline($('timeline'), {
  onBrush: (a, b) => setState({ from: isoOf(a), to: isoOf(b) }, true),
});
window.emberView = view;

function isoOf(ms) {
  return new Date(ms).toISOString();
}

// datetime-local value (local time, seconds) <-> ms.
function localValue(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 19);
}

function saveHash(push) {
  const hash = stateToHash(state);
  if (hash === location.hash || (hash === '#' && !location.hash)) return;
  history[push ? 'pushState' : 'replaceState'](null, '', hash);
}

function setState(changes, push) {
  Object.assign(state, changes);
  saveHash(push);
  syncControls();
  load();
}

function showMessage(text, retry) {
  const m = $('message');
  const parts = [h('span', null, text)];
  if (retry) parts.push(h('button', { type: 'button', onclick: retry }, 'Retry'));
  m.replaceChildren(...parts);
  m.hidden = false;
}

function hideMessage() {
  $('message').hidden = true;
}

function syncControls() {
  for (const b of document.querySelectorAll('[data-range]'))
    b.classList.toggle('active', state.to === 'now' && state.from === '-' + b.dataset.range);
  for (const b of document.querySelectorAll('[data-mode]'))
    b.classList.toggle('active', b.dataset.mode === state.mode);
  $('comm').value = state.comm;
  $('cgroup').value = state.cgroup;
  $('diffform').hidden = state.mode !== 'diff';
  if (state.pid && ![...$('pid').options].some((o) => o.value === state.pid))
    $('pid').append(h('option', { value: state.pid }, 'pid ' + state.pid));
  $('pid').value = state.pid;
}

function fillProcesses(pr) {
  const sel = $('pid');
  const opts = [h('option', { value: '' }, 'all processes')];
  const seen = new Set();
  for (const p of pr.processes) {
    if (seen.has(p.pid)) continue;
    seen.add(p.pid);
    opts.push(h('option', { value: String(p.pid) },
      `${p.comm || '?'} \u00b7 pid ${p.pid} \u00b7 ${fmtCount(p.samples)} samples`));
  }
  if (state.pid && !seen.has(Number(state.pid)))
    opts.push(h('option', { value: state.pid }, 'pid ' + state.pid + ' (no samples in range)'));
  sel.replaceChildren(...opts);
  sel.value = state.pid;
}

function filterParams() {
  return { from: state.from, to: state.to, pid: state.pid, comm: state.comm, cgroup: state.cgroup };
}

function emptyText(q) {
  const who = [state.pid && 'pid ' + state.pid, state.comm && 'comm ' + state.comm,
    state.cgroup && 'cgroup ' + state.cgroup].filter(Boolean);
  let s = `No samples between ${fmtTime(q.from_ms)} and ${fmtTime(q.to_ms)}` +
    (who.length ? ` for ${who.join(', ')}` : '') + '.';
  const db = meta && meta.database;
  if (db && db.first_ms) s += ` The database holds samples from ${fmtTime(db.first_ms)} to ${fmtTime(db.last_ms)}.`;
  else s += ' The database is empty: is the ember daemon running and writing to it?';
  return s;
}

function describeRange(q) {
  const len = fmtDuration(q.to_ms - q.from_ms);
  const rel = state.to === 'now' && /^-\d/.test(state.from) ? `last ${len}` : len;
  document.title = `ember \u00b7 ${meta ? meta.host : ''} \u00b7 ${rel}`;
  $('from').value = localValue(q.from_ms);
  $('to').value = localValue(q.to_ms);
}

async function load() {
  const my = ++generation;
  if (controller) controller.abort();
  controller = new AbortController();
  const signal = controller.signal;
  $('busy').hidden = false;
  try {
    const q = filterParams();
    const diff = state.mode === 'diff';
    if (diff && (!state.base_from || !state.base_to)) {
      // A defaults to the period just before B.
      const cur = lastQuery || (await apiGet('timeline', q, signal)).query;
      const len = cur.to_ms - cur.from_ms;
      state.base_from = isoOf(cur.from_ms - len);
      state.base_to = isoOf(cur.from_ms);
      saveHash(false);
    }
    const [tl, pr, fg] = await Promise.all([
      apiGet('timeline', q, signal),
      apiGet('processes', { from: state.from, to: state.to, limit: 200 }, signal),
      diff ? apiGet('diff', { ...q, base_from: state.base_from, base_to: state.base_to }, signal)
        : apiGet('flamegraph', q, signal),
    ]);
    if (my !== generation) return;
    hideMessage();
    $('view').classList.remove('stale');
    lastQuery = fg.query;
    describeRange(fg.query);
    if (diff) {
      $('bfrom').value = localValue(fg.query.base_from_ms);
      $('bto').value = localValue(fg.query.base_to_ms);
    }
    timeline.setData(tl);
    fillProcesses(pr);
    view.handlers.emptyText = diff && fg.total + (fg.base_total || 0) === 0
      ? 'Neither range has samples. ' + emptyText(fg.query) : emptyText(fg.query);
    view.setPayload(fg, state);
  } catch (e) {
    if (e.name === 'AbortError' || my !== generation) return;
    // What is still on screen belongs to the previous range: say so by fading it.
    $('view').classList.add('stale');
    showMessage(e.message, () => load());
  } finally {
    if (my === generation) $('busy').hidden = true;
  }
}

function bindControls() {
  for (const b of document.querySelectorAll('[data-range]'))
    b.addEventListener('click', () => setState({ from: '-' + b.dataset.range, to: 'now' }, true));
  for (const b of document.querySelectorAll('[data-mode]'))
    b.addEventListener('click', () => {
      if (state.mode !== b.dataset.mode) setState({ mode: b.dataset.mode, zoom: [] }, true);
    });
  $('absform').addEventListener('submit', (e) => {
    e.preventDefault();
    const a = new Date($('from').value).getTime(), b = new Date($('to').value).getTime();
    if (!(a < b)) {
      showMessage('Pick a "from" time before the "to" time.');
      return;
    }
    setState({ from: isoOf(a), to: isoOf(b) }, true);
  });
  $('diffform').addEventListener('submit', (e) => {
    e.preventDefault();
    const a = new Date($('bfrom').value).getTime(), b = new Date($('bto').value).getTime();
    if (!(a < b)) {
      showMessage('Pick an A "from" time before its "to" time.');
      return;
    }
    setState({ base_from: isoOf(a), base_to: isoOf(b) }, true);
  });
  $('prev').addEventListener('click', () => setState({ base_from: '', base_to: '' }, true));
  $('filterform').addEventListener('submit', (e) => {
    e.preventDefault();
    setState({ comm: $('comm').value.trim(), cgroup: $('cgroup').value.trim() }, true);
  });
  $('pid').addEventListener('change', () => setState({ pid: $('pid').value }, true));
  $('clear').addEventListener('click', () => setState({ pid: '', comm: '', cgroup: '' }, true));
  // Back/forward, or a fragment typed by hand: load the view it names.
  const onUrl = () => {
    if (location.hash === stateToHash(state)) return;
    state = parseState(location.hash);
    syncControls();
    load();
  };
  window.addEventListener('hashchange', onUrl);
  window.addEventListener('popstate', onUrl);
}

async function connect() {
  try {
    meta = await apiGet('meta');
  } catch (e) {
    showMessage(e.message, connect);
    return;
  }
  hideMessage();
  showMeta();
  load();
}

function showMeta() {
  $('host').textContent = meta.host;
  const db = meta.database;
  $('dbrange').textContent = db.first_ms
    ? `data ${fmtTime(db.first_ms)} \u2013 ${fmtTime(db.last_ms)} \u00b7 ${fmtCount(db.samples)} samples`
    : 'the database is empty';
}

bindControls();
syncControls();
connect();
