// The self-contained html export (-f html): the flamegraph view over the
// payload embedded in the page, with no server and no network. The view's
// state (zoom, search, orientation, sort) lives in the URL's #fragment.

import { h, fmtCount, fmtTime, fmtDuration } from './util.js';
import { FlameView, VIEW_DEFAULTS } from './view.js';

function standaloneState() {
  const p = new URLSearchParams(location.hash.slice(1));
  const st = { ...VIEW_DEFAULTS };
  if (p.has('q')) st.q = p.get('q');
  st.re = p.get('re') === '1';
  if (p.get('orient') === 'flame') st.orient = 'flame';
  if (p.get('sort') === 'total') st.sort = 'total';
  try {
    const z = JSON.parse(p.get('zoom') || '[]');
    if (Array.isArray(z)) st.zoom = z.map(String);
  } catch (e) {
    st.zoom = [];
  }
  return st;
}

function standaloneSave(st) {
  const p = new URLSearchParams();
  if (st.q) p.set('q', st.q);
  if (st.re) p.set('re', '1');
  if (st.orient === 'flame') p.set('orient', 'flame');
  if (st.sort === 'total') p.set('sort', 'total');
  if (st.zoom.length) p.set('zoom', JSON.stringify(st.zoom));
  history.replaceState(null, '', '#' + p.toString());
}

function standaloneMain() {
  const main = document.getElementById('main');
  const sub = document.getElementById('subtitle');
  let payload;
  try {
    payload = JSON.parse(document.getElementById('ember-data').textContent);
  } catch (e) {
    main.replaceChildren(h('p', { class: 'error' }, 'This file holds no readable profile: ' + e.message));
    return;
  }
  const m = payload.meta || {};
  const parts = [`${fmtCount(payload.total)} samples`];
  if (m.start_ms && m.end_ms > m.start_ms)
    parts.push(`${fmtTime(m.start_ms)} \u2013 ${fmtTime(m.end_ms)} (${fmtDuration(m.end_ms - m.start_ms)})`);
  if (m.freq_hz) parts.push(`${m.freq_hz} Hz`);
  sub.textContent = parts.join(' \u00b7 ');
  const view = new FlameView(main, { onState: standaloneSave, emptyText: 'This profile has no samples.' });
  view.setPayload(payload, standaloneState());
  window.emberView = view;
}

standaloneMain();
