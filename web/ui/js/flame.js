// The flamegraph: decoding the server's payload into flat typed arrays, and
// drawing it on a canvas.
//
// Payload (docs/api.md): a string table and, per level, a flat array of
// nodes [x, total, self, name, module, kind (, base_total, base_self)], in x
// order. Parents are found again by x containment.
//
// Drawing is what must stay fast on 100,000+ nodes: bars narrower than half
// a pixel are skipped (with a binary search for the first visible bar of each
// row), bars are batched into one path per colour, runs of thin bars are
// merged into one rectangle, and only bars wide enough get a label. Hover
// draws on a second canvas on top, so moving the mouse never redraws the
// graph.

import { hashStr } from './util.js';

export const KIND_USER = 0;
export const KIND_KERNEL = 1;
export const KIND_JIT = 2;
export const KIND_INLINE = 3;
export const KIND_SPECIAL = 4;
export const KIND_ROOT = 5;
export const KIND_COMM = 6;
export const KIND_LABELS = ['user', 'kernel', 'JIT', 'inlined', 'special', 'root', 'process'];

const ROW_H = 18;
const THIN_PX = 3;
const LABEL_MIN_PX = 36;
const MAX_CANVAS_PX = 32000;
const FONT = '12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
const MATCH_COLOR = '#e040c8';
const DIFF_STEPS = 10;

export class FlameData {
  constructor(payload) {
    if (!payload || payload.format !== 'ember-flamegraph' || !Array.isArray(payload.levels))
      throw new Error('not an ember flamegraph payload');
    const f = payload.fields;
    const at = (name) => f.indexOf(name);
    const fx = at('x'), ft = at('total'), fs = at('self'), fn = at('name');
    const fm = at('module'), fk = at('kind'), fbt = at('base_total'), fbs = at('base_self');
    const stride = f.length;
    this.strings = payload.strings;
    this.diff = !!payload.diff;
    this.payload = payload;
    let n = 0;
    for (const lv of payload.levels) n += lv.length / stride;
    this.n = n;
    this.depth = payload.levels.length;
    this.x = new Float64Array(n);
    this.total = new Float64Array(n);
    this.self = new Float64Array(n);
    this.name = new Uint32Array(n);
    this.module = new Uint32Array(n);
    this.kind = new Uint8Array(n);
    this.level = new Uint16Array(n);
    this.parent = new Int32Array(n);
    this.childStart = new Int32Array(n).fill(-1);
    this.childEnd = new Int32Array(n).fill(-1);
    this.baseTotal = this.diff ? new Float64Array(n) : null;
    this.baseSelf = this.diff ? new Float64Array(n) : null;
    this.levelStart = new Int32Array(this.depth + 1);
    let i = 0;
    for (let d = 0; d < this.depth; d++) {
      const lv = payload.levels[d];
      this.levelStart[d] = i;
      for (let k = 0; k < lv.length; k += stride, i++) {
        this.x[i] = lv[k + fx];
        this.total[i] = lv[k + ft];
        this.self[i] = lv[k + fs];
        this.name[i] = lv[k + fn];
        this.module[i] = fm >= 0 ? lv[k + fm] : 0;
        this.kind[i] = fk >= 0 ? lv[k + fk] : 0;
        this.level[i] = d;
        if (this.diff) {
          this.baseTotal[i] = lv[k + fbt];
          this.baseSelf[i] = lv[k + fbs];
        }
      }
    }
    this.levelStart[this.depth] = i;
    this.linkParents();
    this.rootTotal = n ? this.total[0] : 0;
    // In a diff, totals are B + A; these are each range's own sums.
    this.totalB = this.diff ? payload.total : this.rootTotal;
    this.totalA = this.diff ? payload.base_total : 0;
  }

  // Parents by x containment: both levels are in x order, so one sweep per level.
  linkParents() {
    this.parent[0] = -1;
    for (let d = 1; d < this.depth; d++) {
      let p = this.levelStart[d - 1];
      const pEnd = this.levelStart[d];
      for (let i = this.levelStart[d]; i < this.levelStart[d + 1]; i++) {
        while (p < pEnd - 1 && this.x[i] >= this.x[p] + this.total[p]) p++;
        this.parent[i] = p;
        if (this.childStart[p] < 0) this.childStart[p] = i;
        this.childEnd[p] = i + 1;
      }
    }
  }

  str(id) {
    return id < this.strings.length ? this.strings[id] : '';
  }

  nameOf(i) {
    return this.str(this.name[i]);
  }

  // Node indexes from the root (excluded) down to @i.
  pathTo(i) {
    const path = [];
    for (let p = i; p > 0; p = this.parent[p]) path.push(p);
    return path.reverse();
  }

  // The widest child of @i named @name, or -1.
  childNamed(i, name) {
    let best = -1;
    for (let c = this.childStart[i]; c >= 0 && c < this.childEnd[i]; c++)
      if (this.nameOf(c) === name && (best < 0 || this.total[c] > this.total[best])) best = c;
    return best;
  }

  widestChild(i) {
    let best = -1;
    for (let c = this.childStart[i]; c >= 0 && c < this.childEnd[i]; c++)
      if (best < 0 || this.total[c] > this.total[best]) best = c;
    return best;
  }

  // Marks nodes whose name matches; counts the samples under matched nodes
  // once, not again for matches nested inside them.
  match(matcher) {
    const n = this.n;
    const matched = new Uint8Array(n);
    const covered = new Uint8Array(n);
    const cache = new Int8Array(this.strings.length); // 0 unknown, 1 yes, -1 no
    let samples = 0, nodes = 0;
    for (let i = 0; i < n; i++) {
      const k = this.kind[i];
      if (k === KIND_ROOT) continue;
      const s = this.name[i];
      if (!cache[s]) cache[s] = matcher.test(this.strings[s]) ? 1 : -1;
      const up = i > 0 && covered[this.parent[i]];
      if (cache[s] > 0) {
        matched[i] = 1;
        nodes++;
        if (!up) samples += this.total[i];
      }
      covered[i] = matched[i] || up ? 1 : 0;
    }
    return { matched, samples, nodes };
  }
}

// Colour of a node by kind, with a stable hue per module and a small shade per name.
function nodeColor(kind, module, name) {
  const hm = hashStr(module), hn = hashStr(name);
  const shade = (hn % 5) * 3;
  switch (kind) {
    case KIND_KERNEL: return `hsl(${195 + (hm % 25)},55%,${62 + shade / 2}%)`;
    case KIND_JIT: return `hsl(${95 + (hm % 35)},50%,${55 + shade / 2}%)`;
    case KIND_INLINE: return `hsl(${8 + (hm % 42)},45%,${70 + shade / 3}%)`;
    case KIND_SPECIAL: return `hsl(0,0%,${72 + shade / 3}%)`;
    case KIND_ROOT: return 'hsl(0,0%,78%)';
    case KIND_COMM: return `hsl(${262 + (hm % 24)},40%,${72 + shade / 3}%)`;
    default: return `hsl(${8 + (hm % 42)},78%,${56 + shade / 2}%)`;
  }
}

// Diff colour for step s in [-DIFF_STEPS, DIFF_STEPS]: blue (less) .. grey .. red (more).
function diffColor(s) {
  const t = Math.abs(s) / DIFF_STEPS;
  const grey = [224, 224, 224];
  const to = s > 0 ? [214, 39, 40] : [31, 90, 214];
  const c = grey.map((g, k) => Math.round(g + (to[k] - g) * t));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

export class Flame {
  constructor(container, handlers) {
    this.handlers = handlers || {};
    this.wrap = container;
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'fg-canvas';
    this.overlay = document.createElement('canvas');
    this.overlay.className = 'fg-overlay';
    container.append(this.canvas, this.overlay);
    this.data = null;
    this.zoom = 0;
    this.inverted = true; // icicle: root on top
    this.matched = null;
    this.hover = -1;
    this.selected = -1;
    this.width = 0;
    this.stats = { drawn: 0, labels: 0, ms: 0 };
    this.overlay.addEventListener('mousemove', (e) => this.onMove(e));
    this.overlay.addEventListener('mouseleave', () => this.setHover(-1, null));
    this.overlay.addEventListener('click', (e) => {
      const i = this.nodeAtEvent(e);
      if (i >= 0 && this.handlers.onClick) this.handlers.onClick(i);
    });
  }

  setData(data) {
    this.data = data;
    this.zoom = 0;
    this.matched = null;
    this.hover = -1;
    this.buildColors();
  }

  // One palette index per node, so drawing batches by colour.
  buildColors() {
    const d = this.data;
    const palette = [];
    const index = new Map();
    const idx = new Uint16Array(d.n);
    const add = (c) => {
      let k = index.get(c);
      if (k === undefined) {
        k = palette.length;
        palette.push(c);
        index.set(c, k);
      }
      return k;
    };
    if (d.diff) {
      for (let s = -DIFF_STEPS; s <= DIFF_STEPS; s++) add(diffColor(s));
      const tb = d.totalB, ta = d.totalA;
      for (let i = 0; i < d.n; i++) {
        const a = ta ? d.baseTotal[i] / ta : 0;
        const b = tb ? (d.total[i] - d.baseTotal[i]) / tb : 0;
        const m = Math.max(a, b);
        const rel = m ? (b - a) / m : 0;
        idx[i] = Math.round(rel * DIFF_STEPS) + DIFF_STEPS;
      }
    } else {
      for (let i = 0; i < d.n; i++)
        idx[i] = add(nodeColor(d.kind[i], d.str(d.module[i]), d.nameOf(i)));
    }
    this.matchIdx = add(MATCH_COLOR);
    this.palette = palette;
    this.colorIdx = idx;
  }

  setZoom(i) {
    this.zoom = this.data && i >= 0 && i < this.data.n ? i : 0;
  }

  setMatches(matched) {
    this.matched = matched;
  }

  setInverted(v) {
    this.inverted = v;
  }

  // Visible rows: every level (ancestors of the zoomed node stay on screen, full width).
  rows() {
    return this.data ? this.data.depth : 0;
  }

  rowY(level) {
    return this.inverted ? level * ROW_H : (this.rows() - 1 - level) * ROW_H;
  }

  // x range of the view, in samples.
  range() {
    const d = this.data;
    return [d.x[this.zoom], d.x[this.zoom] + d.total[this.zoom]];
  }

  // First node of @level whose right edge is past @x0 (binary search).
  firstVisible(level, x0) {
    const d = this.data;
    let lo = d.levelStart[level], hi = d.levelStart[level + 1];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (d.x[mid] + d.total[mid] <= x0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  resize() {
    const w = Math.max(200, Math.floor(this.wrap.clientWidth));
    const rows = this.rows();
    let dpr = window.devicePixelRatio || 1;
    let hCss = Math.max(ROW_H, rows * ROW_H);
    if (hCss * dpr > MAX_CANVAS_PX) dpr = 1;
    if (hCss > MAX_CANVAS_PX) hCss = MAX_CANVAS_PX;
    for (const c of [this.canvas, this.overlay]) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(hCss * dpr);
      c.style.width = w + 'px';
      c.style.height = hCss + 'px';
    }
    this.width = w;
    this.height = hCss;
    this.dpr = dpr;
  }

  render() {
    const t0 = performance.now();
    const d = this.data;
    if (!d) return;
    this.resize();
    const ctx = this.canvas.getContext('2d', { alpha: false });
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, this.width, this.height);
    const [x0, x1] = this.range();
    const W = this.width;
    const scale = W / (x1 - x0 || 1);
    const minSamples = 0.5 / scale;
    const buckets = this.palette.map(() => []);
    const labels = [];
    const matched = this.matched;
    let drawn = 0;
    for (let lv = 0; lv < d.depth; lv++) {
      const y = this.rowY(lv);
      if (y >= this.height) continue;
      const end = d.levelStart[lv + 1];
      let runStart = -1, runEnd = -1, runColor = 0;
      for (let i = this.firstVisible(lv, x0); i < end; i++) {
        const xi = d.x[i];
        if (xi >= x1) break;
        const ti = d.total[i];
        if (ti < minSamples) continue;
        let px = (xi - x0) * scale;
        let pw = ti * scale;
        if (px < 0) { pw += px; px = 0; }
        if (px + pw > W) pw = W - px;
        const c = matched && matched[i] ? this.matchIdx : this.colorIdx[i];
        drawn++;
        if (pw < THIN_PX) {
          // Thin bars side by side become one rectangle in the first one's colour.
          if (runStart >= 0 && px <= runEnd + 0.5) {
            runEnd = Math.max(runEnd, px + pw);
            continue;
          }
          if (runStart >= 0) buckets[runColor].push(runStart, y, runEnd - runStart);
          runStart = px;
          runEnd = px + pw;
          runColor = c;
          continue;
        }
        buckets[c].push(px, y, pw - 1);
        if (pw >= LABEL_MIN_PX) labels.push(i, px, pw);
      }
      if (runStart >= 0) buckets[runColor].push(runStart, y, runEnd - runStart);
    }
    for (let c = 0; c < buckets.length; c++) {
      const b = buckets[c];
      if (!b.length) continue;
      ctx.fillStyle = this.palette[c];
      ctx.beginPath();
      for (let k = 0; k < b.length; k += 3) ctx.rect(b[k], b[k + 1], b[k + 2], ROW_H - 1);
      ctx.fill();
    }
    this.drawLabels(ctx, labels);
    this.stats = { drawn, labels: labels.length / 3, ms: performance.now() - t0 };
    this.drawOverlay();
  }

  drawLabels(ctx, labels) {
    const d = this.data;
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    ctx.fillStyle = '#111';
    if (!this.charW) this.charW = ctx.measureText('MMMMMMMMMM').width / 10 || 7;
    for (let k = 0; k < labels.length; k += 3) {
      const i = labels[k], px = labels[k + 1], pw = labels[k + 2];
      const fit = Math.floor((pw - 8) / this.charW);
      if (fit < 3) continue;
      let s = d.nameOf(i);
      if (s.length > fit) s = s.slice(0, fit - 1) + '\u2026';
      ctx.fillText(s, px + 4, this.rowY(d.level[i]) + ROW_H / 2);
    }
  }

  // The node under canvas point (@px, @py) in CSS pixels, or -1.
  nodeAt(px, py) {
    const d = this.data;
    if (!d || px < 0 || px >= this.width) return -1;
    const row = Math.floor(py / ROW_H);
    const lv = this.inverted ? row : this.rows() - 1 - row;
    if (lv < 0 || lv >= d.depth) return -1;
    const [x0, x1] = this.range();
    const xs = x0 + (px * (x1 - x0)) / this.width;
    const i = this.firstVisible(lv, xs);
    if (i >= d.levelStart[lv + 1] || d.x[i] > xs) return -1;
    if ((d.total[i] * this.width) / (x1 - x0) < 0.5) return -1;
    if (d.x[i] + d.total[i] <= x0 || d.x[i] >= x1) return -1;
    return i;
  }

  nodeAtEvent(e) {
    const r = this.overlay.getBoundingClientRect();
    return this.nodeAt(e.clientX - r.left, e.clientY - r.top);
  }

  // Where node @i is drawn (CSS pixels, relative to the canvas), or null when off screen.
  rectOf(i) {
    const d = this.data;
    if (!d || i < 0 || i >= d.n) return null;
    const [x0, x1] = this.range();
    const scale = this.width / (x1 - x0 || 1);
    let px = (d.x[i] - x0) * scale;
    let pw = d.total[i] * scale;
    if (px < 0) { pw += px; px = 0; }
    if (px + pw > this.width) pw = this.width - px;
    if (pw < 0.5) return null;
    return { x: px, y: this.rowY(d.level[i]), w: pw, h: ROW_H };
  }

  onMove(e) {
    const i = this.nodeAtEvent(e);
    this.setHover(i, e);
  }

  setHover(i, e) {
    if (i !== this.hover) {
      this.hover = i;
      this.drawOverlay();
    }
    if (this.handlers.onHover) this.handlers.onHover(i, e);
  }

  setSelected(i) {
    this.selected = i;
    this.drawOverlay();
  }

  drawOverlay() {
    const ctx = this.overlay.getContext('2d');
    ctx.setTransform(this.dpr || 1, 0, 0, this.dpr || 1, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    for (const [i, color] of [[this.selected, '#2060ff'], [this.hover, '#000']]) {
      const r = this.rectOf(i);
      if (!r) continue;
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.5;
      ctx.strokeRect(r.x + 0.75, r.y + 0.75, Math.max(1, r.w - 2), r.h - 2.5);
    }
  }
}
