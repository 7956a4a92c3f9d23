// The app's whole state in the URL fragment, so a link reproduces the view:
// range, filters, mode (flamegraph or diff), the diff's base range, and the
// flamegraph view's zoom path, search, orientation and table sort.

import { VIEW_DEFAULTS } from './view.js';

export const APP_DEFAULTS = {
  from: '-1h', to: 'now', pid: '', comm: '', cgroup: '', mode: 'flame',
  base_from: '', base_to: '', ...VIEW_DEFAULTS,
};

const TEXT_KEYS = ['from', 'to', 'pid', 'comm', 'cgroup', 'base_from', 'base_to', 'q'];

export function parseState(hash) {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const st = { ...APP_DEFAULTS, zoom: [] };
  for (const k of TEXT_KEYS) if (p.has(k)) st[k] = p.get(k).slice(0, 1024);
  st.mode = p.get('mode') === 'diff' ? 'diff' : 'flame';
  st.re = p.get('re') === '1';
  st.orient = p.get('orient') === 'flame' ? 'flame' : 'icicle';
  st.sort = p.get('sort') === 'total' ? 'total' : 'self';
  try {
    const z = JSON.parse(p.get('zoom') || '[]');
    if (Array.isArray(z)) st.zoom = z.slice(0, 512).map(String);
  } catch (e) {
    st.zoom = [];
  }
  return st;
}

export function stateToHash(st) {
  const p = new URLSearchParams();
  for (const k of TEXT_KEYS)
    if (st[k] !== '' && st[k] !== APP_DEFAULTS[k]) p.set(k, st[k]);
  if (st.mode === 'diff') p.set('mode', 'diff');
  if (st.re) p.set('re', '1');
  if (st.orient === 'flame') p.set('orient', 'flame');
  if (st.sort === 'total') p.set('sort', 'total');
  if (st.zoom && st.zoom.length) p.set('zoom', JSON.stringify(st.zoom));
  return '#' + p.toString();
}
