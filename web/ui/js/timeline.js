// The timeline: samples per step over the selected range as bars, with a
// brush (drag across it) that selects a new range.

import { h, fmtCount, fmtTime } from './util.js';

const TL_H = 64;

export class Timeline {
  constructor(container, handlers) {
    this.handlers = handlers || {};
    this.canvas = h('canvas', { class: 'tl-canvas', 'aria-label': 'Samples over time; drag to select a range' });
    this.label = h('div', { class: 'tl-label' });
    this.wrap = h('div', { class: 'tl-wrap' }, this.canvas);
    container.append(this.wrap, this.label);
    this.points = [];
    this.drag = null;
    this.canvas.addEventListener('mousedown', (e) => this.down(e));
    window.addEventListener('mousemove', (e) => this.move(e));
    window.addEventListener('mouseup', (e) => this.up(e));
    this.canvas.addEventListener('mousemove', (e) => { if (!this.drag) this.hoverAt(e); });
    this.canvas.addEventListener('mouseleave', () => { if (!this.drag) this.describe(); });
    window.addEventListener('resize', () => this.render());
  }

  setData(tl) {
    this.from = tl.query.from_ms;
    this.to = tl.query.to_ms;
    this.step = tl.step_ms;
    this.points = tl.points;
    this.total = tl.total;
    this.describe();
    this.render();
  }

  describe() {
    if (this.from === undefined) return;
    this.label.textContent = `${fmtCount(this.total)} samples \u00b7 ${fmtTime(this.from)} \u2013 ` +
      `${fmtTime(this.to)} \u00b7 drag across the chart to zoom into a time range`;
  }

  xOf(t) {
    return ((t - this.from) / (this.to - this.from)) * this.width;
  }

  tOf(x) {
    return this.from + (Math.min(Math.max(x, 0), this.width) / this.width) * (this.to - this.from);
  }

  render() {
    if (this.from === undefined) return;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(200, this.wrap.clientWidth);
    this.width = w;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(TL_H * dpr);
    this.canvas.style.width = w + 'px';
    this.canvas.style.height = TL_H + 'px';
    const ctx = this.canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, TL_H);
    let max = 0;
    for (const [, n] of this.points) max = Math.max(max, n);
    ctx.fillStyle = '#d8603a';
    const bw = Math.max(1, (this.step / (this.to - this.from)) * w);
    ctx.beginPath();
    for (const [t, n] of this.points) {
      if (!n) continue;
      const bh = Math.max(1, (n / max) * (TL_H - 6));
      ctx.rect(this.xOf(t), TL_H - bh, Math.max(1, bw - (bw > 3 ? 1 : 0)), bh);
    }
    ctx.fill();
    ctx.fillStyle = '#bbb';
    ctx.fillRect(0, TL_H - 1, w, 1);
    if (this.drag) {
      const a = Math.min(this.drag.x0, this.drag.x1), b = Math.max(this.drag.x0, this.drag.x1);
      ctx.fillStyle = 'rgba(32,96,255,0.18)';
      ctx.fillRect(a, 0, b - a, TL_H);
      ctx.strokeStyle = '#2060ff';
      ctx.strokeRect(a + 0.5, 0.5, b - a - 1, TL_H - 1);
    }
  }

  localX(e) {
    return e.clientX - this.canvas.getBoundingClientRect().left;
  }

  down(e) {
    if (e.button !== 0 || this.from === undefined) return;
    e.preventDefault();
    this.drag = { x0: this.localX(e), x1: this.localX(e) };
  }

  move(e) {
    if (!this.drag) return;
    this.drag.x1 = Math.min(Math.max(this.localX(e), 0), this.width);
    const a = this.tOf(Math.min(this.drag.x0, this.drag.x1));
    const b = this.tOf(Math.max(this.drag.x0, this.drag.x1));
    this.label.textContent = `${fmtTime(a)} \u2013 ${fmtTime(b)}`;
    this.render();
  }

  up() {
    if (!this.drag) return;
    const { x0, x1 } = this.drag;
    this.drag = null;
    this.render();
    if (Math.abs(x1 - x0) < 4) return;
    const a = Math.floor(this.tOf(Math.min(x0, x1)));
    const b = Math.ceil(this.tOf(Math.max(x0, x1)));
    if (b - a >= 1000 && this.handlers.onBrush) this.handlers.onBrush(a, b);
  }

  hoverAt(e) {
    if (!this.points.length) return;
    const t = this.tOf(this.localX(e));
    let best = null;
    for (const p of this.points) if (p[0] <= t && t < p[0] + this.step) best = p;
    this.label.textContent = best
      ? `${fmtTime(best[0])}: ${fmtCount(best[1])} samples`
      : `${fmtTime(t)}: no samples`;
  }
}
