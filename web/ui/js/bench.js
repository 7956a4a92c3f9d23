// Render benchmark: generates a 100,000-node flamegraph payload (seeded, so
// every run draws the same profile) and times decoding, the first draw, a
// redraw, a zoomed draw, hit testing for hover, and a search. Results go to
// window.benchResult and the page. Open bench.html?nodes=N for another size.

import { FlameData, Flame } from './flame.js';

function mulberry32(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// A payload of exactly @wanted nodes: wide near the root, long chains below.
export function generatePayload(wanted, seed) {
  const rand = mulberry32(seed);
  const strings = ['', 'all'];
  for (let m = 0; m < 24; m++) strings.push(`lib${m}.so`);
  const firstName = strings.length;
  for (let f = 0; f < 6000; f++) strings.push(`ns${f % 37}::Type${f % 211}::function_${f}`);
  const fields = ['x', 'total', 'self', 'name', 'module', 'kind'];
  const levels = [[0, 10000000, 0, 1, 0, 5]];
  let count = 1;
  for (let d = 0; count < wanted && d < 400; d++) {
    const cur = levels[d];
    const next = [];
    for (let k = 0; k < cur.length && count < wanted; k += 6) {
      const x = cur[k], total = cur[k + 1];
      const self = Math.floor(total * rand() * 0.15);
      let rest = total - self;
      // Mostly single callees below the top levels: long call chains, as real stacks have.
      const r = rand();
      let kids = d < 2 ? 10 : d < 5 ? 1 + Math.floor(rand() * 3)
        : r < 0.07 ? 0 : r < 0.87 ? 1 : r < 0.97 ? 2 : 3;
      kids = Math.min(kids, rest, wanted - count);
      if (kids <= 0) { cur[k + 2] = total; continue; }
      cur[k + 2] = self;
      const w = [];
      let sum = 0;
      for (let c = 0; c < kids; c++) { w.push(rand() ** 2 + 0.01); sum += w[c]; }
      let cx = x;
      for (let c = 0; c < kids; c++) {
        const t = c === kids - 1 ? rest : Math.max(1, Math.min(rest - (kids - c - 1), Math.floor((w[c] / sum) * (total - self))));
        rest -= t;
        const name = firstName + Math.floor(rand() * 6000);
        const kind = d < 1 ? 6 : rand() < 0.1 ? 1 : rand() < 0.05 ? 3 : 0;
        next.push(cx, t, t, name, 2 + Math.floor(rand() * 24), kind);
        cx += t;
        count++;
      }
    }
    if (!next.length) break;
    levels.push(next);
  }
  return {
    format: 'ember-flamegraph', version: 1, diff: false, unit: 'samples', total: 10000000,
    nodes: count, nodes_before: count, truncated: false, functions: 6000,
    kinds: ['user', 'kernel', 'jit', 'inline', 'special', 'root', 'comm'], fields,
    top_fields: ['name', 'module', 'kind', 'self', 'total'], strings, levels, top: [],
  };
}

function time(fn, reps) {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) fn();
  return (performance.now() - t0) / reps;
}

function benchMain() {
  const params = new URLSearchParams(location.search);
  const wanted = Math.max(10, Math.min(1000000, Number(params.get('nodes')) || 100000));
  const payload = generatePayload(wanted, 42);
  const graph = document.getElementById('graph');
  graph.style.width = '1600px';
  const flame = new Flame(graph, {});
  let data;
  const decodeMs = time(() => { data = new FlameData(payload); }, 1);
  flame.setData(data);
  const ctx = flame.canvas.getContext('2d', { alpha: false });
  // Reading a pixel back waits for the drawing to finish, so it is counted.
  const firstMs = time(() => { flame.render(); ctx.getImageData(0, 0, 1, 1); }, 1);
  const first = { ...flame.stats };
  const redrawMs = time(() => { flame.render(); ctx.getImageData(0, 0, 1, 1); }, 10);
  let mid = data.levelStart[Math.min(4, data.depth - 1)];
  for (let i = mid; i < data.levelStart[Math.min(5, data.depth)]; i++) if (data.total[i] > data.total[mid]) mid = i;
  flame.setZoom(mid);
  const zoomMs = time(() => { flame.render(); ctx.getImageData(0, 0, 1, 1); }, 10);
  const zoomed = { ...flame.stats };
  flame.setZoom(0);
  flame.render();
  const rand = mulberry32(7);
  const hoverUs = 1000 * time(() => flame.nodeAt(rand() * flame.width, rand() * flame.height), 2000);
  const overlayMs = time(() => flame.setSelected(Math.floor(rand() * data.n)), 50);
  const searchMs = time(() => data.match({ test: (s) => s.includes('function_12') }), 5);
  const result = {
    nodes: data.n, depth: data.depth, width_px: flame.width,
    decode_ms: +decodeMs.toFixed(2), first_draw_ms: +firstMs.toFixed(2),
    redraw_ms: +redrawMs.toFixed(2), zoomed_draw_ms: +zoomMs.toFixed(2),
    hover_hit_test_us: +hoverUs.toFixed(2), hover_overlay_ms: +overlayMs.toFixed(3),
    search_ms: +searchMs.toFixed(2), bars_drawn: first.drawn, labels: first.labels,
    bars_drawn_zoomed: zoomed.drawn, user_agent: navigator.userAgent,
  };
  window.benchResult = result;
  document.getElementById('result').textContent = JSON.stringify(result, null, 2);
}

benchMain();
