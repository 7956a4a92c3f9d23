// The top-functions table: self and total samples per function, counted by
// the server before the graph was cut to its node budget. Sortable by self or
// total; clicking a row asks the view to focus that function.

import { h, fmtCount, fmtPct } from './util.js';
import { KIND_LABELS } from './flame.js';

const TOP_ROWS = 200;

export class TopTable {
  constructor(container, handlers) {
    this.handlers = handlers || {};
    this.container = container;
    this.sort = 'self';
    this.data = null;
  }

  setData(data) {
    this.data = data;
    this.render();
  }

  setSort(sort) {
    this.sort = sort === 'total' ? 'total' : 'self';
    this.render();
  }

  // Rows as objects, sorted. In a diff, self/total are range B's and base_* range A's.
  rows() {
    const d = this.data;
    const p = d.payload;
    const f = p.top_fields;
    const stride = f.length;
    const at = (n) => f.indexOf(n);
    const fn = at('name'), fm = at('module'), fk = at('kind'), fs = at('self'), ft = at('total');
    const fbs = at('base_self'), fbt = at('base_total');
    const rows = [];
    for (let k = 0; k < p.top.length; k += stride) {
      const r = {
        name: d.str(p.top[k + fn]),
        module: d.str(p.top[k + fm]),
        kind: p.top[k + fk],
        self: p.top[k + fs],
        total: p.top[k + ft],
      };
      if (d.diff) {
        r.baseSelf = p.top[k + fbs];
        r.baseTotal = p.top[k + fbt];
        r.self -= r.baseSelf;
        r.total -= r.baseTotal;
      }
      rows.push(r);
    }
    const key = this.sort;
    rows.sort((a, b) => b[key] - a[key] || b[key === 'self' ? 'total' : 'self'] -
      a[key === 'self' ? 'total' : 'self'] || (a.name < b.name ? -1 : a.name > b.name));
    return rows;
  }

  header(label, key) {
    const active = this.sort === key;
    return h('th', { class: 'num', 'aria-sort': active ? 'descending' : 'none' },
      h('button', {
        class: 'sort' + (active ? ' active' : ''), type: 'button', 'data-sort': key,
        title: 'Sort by ' + label.toLowerCase(),
        onclick: () => {
          this.setSort(key);
          if (this.handlers.onSort) this.handlers.onSort(key);
        },
      }, label + (active ? ' \u25be' : '')));
  }

  render() {
    const c = this.container;
    c.replaceChildren();
    const d = this.data;
    if (!d) return;
    const diff = d.diff;
    const whole = diff ? d.totalB : d.rootTotal;
    const rows = this.rows();
    const head = h('tr', null,
      h('th', { class: 'name' }, 'Function'),
      this.header('Self', 'self'),
      h('th', { class: 'num' }, diff ? 'Self %' : '%'),
      this.header('Total', 'total'),
      h('th', { class: 'num' }, diff ? 'Total %' : '%'),
      diff ? h('th', { class: 'num', title: 'Change of the total share, B minus A' }, '\u0394 total') : null);
    const body = h('tbody');
    for (const r of rows.slice(0, TOP_ROWS)) {
      const tr = h('tr', { class: 'trow', tabindex: '0', title: 'Focus ' + r.name },
        h('td', { class: 'name' },
          h('span', { class: 'fn' }, r.name),
          r.module ? h('span', { class: 'mod' }, r.module) : null,
          r.kind !== 0 ? h('span', { class: 'kind k' + r.kind }, KIND_LABELS[r.kind] || '') : null),
        h('td', { class: 'num' }, fmtCount(r.self)),
        h('td', { class: 'num' }, fmtPct(r.self, whole)),
        h('td', { class: 'num' }, fmtCount(r.total)),
        h('td', { class: 'num' }, fmtPct(r.total, whole)),
        diff ? h('td', { class: 'num delta' }, deltaText(r, d)) : null);
      const focus = () => this.handlers.onFocus && this.handlers.onFocus(r.name, r.module);
      tr.addEventListener('click', focus);
      tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') focus(); });
      body.append(tr);
    }
    const table = h('table', { class: 'top' }, h('thead', null, head), body);
    const note = rows.length > TOP_ROWS
      ? h('p', { class: 'note' }, `Showing ${TOP_ROWS} of ${fmtCount(rows.length)} functions listed.`)
      : null;
    c.append(table);
    if (note) c.append(note);
  }
}

// "+1.23 pp": change of the function's share of all samples, B against A.
function deltaText(r, d) {
  const b = d.totalB ? r.total / d.totalB : 0;
  const a = d.totalA ? r.baseTotal / d.totalA : 0;
  const pp = (b - a) * 100;
  return (pp >= 0 ? '+' : '') + pp.toFixed(2) + ' pp';
}
