// The flamegraph view: search box, zoom breadcrumb, canvas, tooltip, diff
// legend and the top-functions table, with keyboard shortcuts. Used by the
// web app (app.js) and by the self-contained html export (standalone.js).
//
// Its state (zoom path, search, orientation, table sort) is a plain object
// the page keeps in the URL; onState is called whenever it changes.

import { h, fmtCount, fmtPct, makeMatcher, reEscape } from './util.js';
import { FlameData, Flame, KIND_LABELS, KIND_ROOT } from './flame.js';
import { TopTable } from './top.js';

export const VIEW_DEFAULTS = { zoom: [], q: '', re: false, orient: 'icicle', sort: 'self' };

export class FlameView {
  constructor(root, handlers) {
    this.handlers = handlers || {};
    this.state = { ...VIEW_DEFAULTS };
    this.data = null;
    this.match = null;
    this.build(root);
    this.bindKeys();
    this.pending = false;
    window.addEventListener('resize', () => this.schedule());
  }

  build(root) {
    this.search = h('input', {
      type: 'search', class: 'search', placeholder: 'Search functions  ( / )',
      'aria-label': 'Search functions', spellcheck: 'false', autocomplete: 'off',
    });
    this.regex = h('input', { type: 'checkbox', class: 'regex', 'aria-label': 'Regular expression' });
    this.matchedEl = h('span', { class: 'matched', role: 'status' });
    this.resetBtn = h('button', { type: 'button', class: 'reset', title: 'Reset zoom (Esc)' }, 'Reset zoom');
    this.orientBtn = h('button', { type: 'button', class: 'orient', title: 'Flame (root at the bottom) or icicle (root on top)' });
    this.crumbs = h('nav', { class: 'crumbs', 'aria-label': 'Zoom path' });
    this.legend = h('div', { class: 'legend' });
    this.notice = h('p', { class: 'notice' });
    this.empty = h('div', { class: 'empty', hidden: true });
    this.canvasWrap = h('div', { class: 'fg-wrap' });
    this.tooltip = h('div', { class: 'tooltip', hidden: true, role: 'tooltip' });
    this.topEl = h('div', { class: 'top-wrap' });
    const toolbar = h('div', { class: 'fv-toolbar' },
      this.search, h('label', { class: 're-label' }, this.regex, ' regex'), this.matchedEl,
      h('span', { class: 'spacer' }), this.orientBtn, this.resetBtn);
    root.append(toolbar, this.crumbs, this.legend, this.empty, this.canvasWrap, this.notice,
      h('h2', { class: 'top-title' }, 'Top functions'), this.topEl, this.tooltip);

    this.flame = new Flame(this.canvasWrap, {
      onClick: (i) => this.zoomTo(i),
      onHover: (i, e) => this.showTooltip(i, e),
    });
    this.top = new TopTable(this.topEl, {
      onSort: (s) => { this.state.sort = s; this.changed(); },
      onFocus: (name) => this.focusFunction(name),
    });
    this.search.addEventListener('input', () => this.setSearch(this.search.value, this.regex.checked));
    this.regex.addEventListener('change', () => this.setSearch(this.search.value, this.regex.checked));
    this.resetBtn.addEventListener('click', () => this.zoomTo(0));
    this.orientBtn.addEventListener('click', () => {
      this.state.orient = this.state.orient === 'flame' ? 'icicle' : 'flame';
      this.changed();
      this.draw();
    });
  }

  bindKeys() {
    document.addEventListener('keydown', (e) => {
      if (!this.data || e.ctrlKey || e.metaKey || e.altKey) return;
      const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement ||
        e.target instanceof HTMLTextAreaElement;
      if (e.key === 'Escape') {
        if (e.target === this.search) {
          this.search.value = '';
          this.setSearch('', this.regex.checked);
          this.search.blur();
        } else if (!typing) {
          this.zoomTo(0);
        }
        return;
      }
      if (typing) return;
      if (e.key === '/') {
        e.preventDefault();
        this.search.focus();
        this.search.select();
        return;
      }
      const d = this.data, z = this.flame.zoom;
      const up = this.state.orient === 'flame' ? 'ArrowDown' : 'ArrowUp';
      const down = this.state.orient === 'flame' ? 'ArrowUp' : 'ArrowDown';
      let next = -1;
      if (e.key === up) next = z > 0 ? d.parent[z] : -1;
      else if (e.key === down) next = d.widestChild(z);
      else if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
        const step = e.key === 'ArrowLeft' ? -1 : 1;
        const lv = d.level[z], j = z + step;
        if (z > 0 && j >= d.levelStart[lv] && j < d.levelStart[lv + 1] && d.parent[j] === d.parent[z])
          next = j;
      } else {
        return;
      }
      e.preventDefault();
      if (next >= 0) this.zoomTo(next);
    });
  }

  // Shows @payload (the server's flamegraph or diff JSON) with @state applied.
  setPayload(payload, state) {
    this.state = { ...VIEW_DEFAULTS, ...(state || {}) };
    this.data = new FlameData(payload);
    this.flame.setData(this.data);
    this.search.value = this.state.q;
    this.regex.checked = !!this.state.re;
    this.top.sort = this.state.sort === 'total' ? 'total' : 'self';
    this.top.setData(this.data);
    this.flame.setZoom(this.nodeOfPath(this.state.zoom));
    this.applySearch();
    this.renderLegend();
    this.renderNotice();
    const empty = this.data.rootTotal === 0;
    this.empty.hidden = !empty;
    this.canvasWrap.hidden = empty;
    this.empty.textContent = empty ? (this.handlers.emptyText || 'No samples in this range.') : '';
    this.draw();
  }

  // The node at the end of a path of names from the root, as far as it exists.
  nodeOfPath(names) {
    let i = 0;
    for (const name of names || []) {
      const c = this.data.childNamed(i, name);
      if (c < 0) break;
      i = c;
    }
    return i;
  }

  zoomTo(i) {
    if (!this.data) return;
    this.flame.setZoom(i);
    this.state.zoom = this.data.pathTo(this.flame.zoom).map((k) => this.data.nameOf(k));
    this.changed();
    this.draw();
  }

  setSearch(text, isRegex) {
    this.state.q = text;
    this.state.re = !!isRegex;
    this.applySearch();
    this.changed();
    this.draw();
  }

  applySearch() {
    this.matchedEl.classList.remove('error');
    this.match = null;
    let matcher = null;
    try {
      matcher = makeMatcher(this.state.q, this.state.re);
    } catch (e) {
      this.matchedEl.textContent = e.message;
      this.matchedEl.classList.add('error');
      this.flame.setMatches(null);
      return;
    }
    if (!matcher || !this.data) {
      this.matchedEl.textContent = '';
      this.flame.setMatches(null);
      return;
    }
    this.match = this.data.match(matcher);
    this.flame.setMatches(this.match.matched);
    const d = this.data;
    const pct = fmtPct(this.match.samples, d.rootTotal);
    const cut = d.payload.truncated ? ' of the nodes shown' : '';
    this.matchedEl.textContent = this.match.nodes
      ? `matched ${pct} of samples (${fmtCount(this.match.samples)} of ${fmtCount(d.rootTotal)})${cut}`
      : 'no match';
    this.matchedEl.dataset.samples = String(this.match.samples);
  }

  // Focuses a function from the top table: an exact search, zoomed on its widest node.
  focusFunction(name) {
    const q = '^' + reEscape(name) + '$';
    this.search.value = q;
    this.regex.checked = true;
    this.state.q = q;
    this.state.re = true;
    this.applySearch();
    let best = -1;
    const d = this.data;
    if (this.match)
      for (let i = 0; i < d.n; i++)
        if (this.match.matched[i] && (best < 0 || d.total[i] > d.total[best])) best = i;
    this.zoomTo(best >= 0 ? best : 0);
    this.canvasWrap.scrollIntoView({ block: 'nearest' });
  }

  changed() {
    if (this.handlers.onState) this.handlers.onState({ ...this.state });
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      if (this.data) this.draw();
    });
  }

  draw() {
    if (!this.data) return;
    this.flame.setInverted(this.state.orient !== 'flame');
    this.orientBtn.textContent = this.state.orient === 'flame' ? 'Icicle' : 'Flame';
    if (!this.canvasWrap.hidden) this.flame.render();
    this.renderCrumbs();
  }

  renderCrumbs() {
    const d = this.data;
    const path = [0, ...d.pathTo(this.flame.zoom)];
    const items = [];
    path.forEach((i, k) => {
      if (k) items.push(h('span', { class: 'sep', 'aria-hidden': 'true' }, '\u203a'));
      const last = k === path.length - 1;
      items.push(h('button', {
        type: 'button', class: 'crumb' + (last ? ' current' : ''),
        'aria-current': last ? 'true' : null, onclick: () => this.zoomTo(i),
      }, d.nameOf(i)));
    });
    this.crumbs.replaceChildren(...items);
    this.resetBtn.disabled = this.flame.zoom === 0;
  }

  renderLegend() {
    const d = this.data;
    if (!d.diff) {
      this.legend.replaceChildren(
        h('span', { class: 'sw k0' }), 'user', h('span', { class: 'sw k1' }), 'kernel',
        h('span', { class: 'sw k2' }), 'JIT', h('span', { class: 'sw k3' }), 'inlined',
        h('span', { class: 'sw k6' }), 'process', h('span', { class: 'sw match' }), 'search match');
      this.legend.className = 'legend';
      return;
    }
    this.legend.className = 'legend diff';
    this.legend.replaceChildren(
      h('span', { class: 'sw less' }), 'less in B than in A', h('span', { class: 'sw same' }), 'same share',
      h('span', { class: 'sw more' }), 'more in B than in A',
      h('span', { class: 'legend-note' },
        `Shares of each range's own samples (A: ${fmtCount(d.totalA)}, B: ${fmtCount(d.totalB)}); ` +
        'widths are both ranges together.'));
  }

  renderNotice() {
    const p = this.data.payload;
    this.notice.textContent = p.truncated
      ? `Showing ${fmtCount(p.nodes)} of ${fmtCount(p.nodes_before)} nodes: the lightest are merged ` +
        'into "[other]" boxes. The top table counts every function.'
      : '';
  }

  showTooltip(i, e) {
    const tt = this.tooltip;
    if (i < 0 || !e) {
      tt.hidden = true;
      return;
    }
    const d = this.data;
    const whole = d.rootTotal;
    const zoomTotal = d.total[this.flame.zoom];
    const rows = [h('div', { class: 'tt-name' }, d.nameOf(i))];
    const mod = d.str(d.module[i]);
    rows.push(h('div', { class: 'tt-meta' }, KIND_LABELS[d.kind[i]] + (mod ? ' \u00b7 ' + mod : '')));
    if (d.diff) {
      const b = d.total[i] - d.baseTotal[i], a = d.baseTotal[i];
      const bs = d.self[i] - d.baseSelf[i], as = d.baseSelf[i];
      rows.push(kv('B total', `${fmtCount(b)} (${fmtPct(b, d.totalB)})`));
      rows.push(kv('A total', `${fmtCount(a)} (${fmtPct(a, d.totalA)})`));
      rows.push(kv('B self', `${fmtCount(bs)} (${fmtPct(bs, d.totalB)})`));
      rows.push(kv('A self', `${fmtCount(as)} (${fmtPct(as, d.totalA)})`));
      const pp = ((d.totalB ? b / d.totalB : 0) - (d.totalA ? a / d.totalA : 0)) * 100;
      rows.push(kv('change', (pp >= 0 ? '+' : '') + pp.toFixed(2) + ' pp of samples'));
    } else {
      rows.push(kv('total', `${fmtCount(d.total[i])} samples (${fmtPct(d.total[i], whole)})`));
      rows.push(kv('self', `${fmtCount(d.self[i])} samples (${fmtPct(d.self[i], whole)})`));
      if (this.flame.zoom > 0 && d.kind[i] !== KIND_ROOT)
        rows.push(kv('of zoom', fmtPct(d.total[i], zoomTotal)));
    }
    tt.replaceChildren(...rows);
    tt.hidden = false;
    const pad = 14;
    const w = tt.offsetWidth, hgt = tt.offsetHeight;
    let x = e.clientX + pad, y = e.clientY + pad;
    if (x + w > window.innerWidth - 4) x = Math.max(4, e.clientX - w - pad);
    if (y + hgt > window.innerHeight - 4) y = Math.max(4, e.clientY - hgt - pad);
    tt.style.left = x + 'px';
    tt.style.top = y + 'px';
  }

  // For tests and tools: where a function's widest node is drawn, in page coordinates.
  locate(name) {
    const d = this.data;
    let best = -1;
    for (let i = 0; i < d.n; i++)
      if (d.nameOf(i) === name && (best < 0 || d.total[i] > d.total[best])) best = i;
    const r = this.flame.rectOf(best);
    if (!r) return null;
    const c = this.flame.canvas.getBoundingClientRect();
    return { x: c.left + r.x, y: c.top + r.y, w: r.w, h: r.h, node: best };
  }
}

function kv(k, v) {
  return h('div', { class: 'tt-row' }, h('span', { class: 'tt-k' }, k), h('span', { class: 'tt-v' }, v));
}
