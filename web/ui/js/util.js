// Small helpers shared by the UI: DOM building (text only, never HTML),
// number and time formatting, stable colours.
//
// Every name in a profile is untrusted text chosen by the profiled program:
// it only ever reaches the page through textContent, attributes set one by
// one, or canvas fillText. Nothing here parses HTML.
//
// The html format joins these modules into one script (formats/html.c), so
// top-level names must be unique across util, flame, top, view and standalone.

// h('div', {class: 'x', onclick: fn}, 'text', child...): an element with text children.
export function h(tag, props, ...children) {
  const e = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function fmtCount(n) {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtPct(part, whole) {
  if (!whole) return '0%';
  const p = (100 * part) / whole;
  if (p === 0) return '0%';
  if (p < 0.01) return '<0.01%';
  if (p < 10) return p.toFixed(2) + '%';
  return p.toFixed(1) + '%';
}

export function fmtTime(ms) {
  const d = new Date(ms);
  if (isNaN(d.getTime())) return '?';
  return d.toLocaleString(undefined, {
    year: 'numeric', month: 'short', day: 'numeric',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
}

export function fmtDuration(ms) {
  const s = Math.round(ms / 1000);
  if (s < 120) return s + ' s';
  if (s < 7200) return Math.round(s / 60) + ' min';
  if (s < 172800) return (s / 3600).toFixed(s % 3600 ? 1 : 0) + ' h';
  return (s / 86400).toFixed(s % 86400 ? 1 : 0) + ' d';
}

// 32-bit FNV-1a of a string: stable colours for the same module or name.
export function hashStr(s) {
  let x = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    x ^= s.charCodeAt(i);
    x = Math.imul(x, 0x01000193);
  }
  return x >>> 0;
}

// Escapes a string for use inside a RegExp.
export function reEscape(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// A matcher for the search box: substring (case-insensitive) or a regular
// expression. Returns {test} or throws Error with a message in words.
export function makeMatcher(text, isRegex) {
  if (!text) return null;
  if (isRegex) {
    let re;
    try {
      re = new RegExp(text);
    } catch (e) {
      throw new Error('not a valid regular expression: ' + e.message);
    }
    return { test: (s) => re.test(s) };
  }
  const needle = text.toLowerCase();
  return { test: (s) => s.toLowerCase().includes(needle) };
}
