// Browser tests of ember's web UI and of the self-contained html export, in
// headless Debian Chromium driven by playwright-core (never a downloaded
// browser). The server is `ember serve` over the database gen_db.c writes;
// the expected numbers follow from the stacks listed in gen_db.c.
//
// Run as `node browser.test.mjs` (node's test runner). Exits 77 (skipped)
// when /usr/bin/chromium or playwright-core is missing. Screenshots go to
// $EMBER_WEB_OUT/screenshots, the render benchmark to
// $EMBER_WEB_OUT/render-bench.json.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const OUT = process.env.EMBER_WEB_OUT || path.resolve('build/tests/web');
const EMBER = process.env.EMBER_BIN || 'build/ember';
const GEN_DB = process.env.EMBER_GEN_DB || path.join(OUT, 'web_gen_db');
const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.join(OUT, 'screenshots');

if (!fs.existsSync(CHROMIUM)) {
  console.log(`SKIP: no ${CHROMIUM} (apt-get install chromium)`);
  process.exit(77);
}
let chromium;
try {
  ({ chromium } = createRequire(path.join(OUT, 'package.json'))('playwright-core'));
} catch (e) {
  console.log(`SKIP: playwright-core is not installed in ${OUT} (the web.npm_setup test does it)`);
  process.exit(77);
}

// gen_db.c's periods: A at T0, B an hour later, one minute each.
const T0 = 1767225600;
const A = { from: T0, to: T0 + 60 };
const B = { from: T0 + 3600, to: T0 + 3660 };
const TOTAL_A = 6 * (30 + 5 + 10 + 3 + 4 + 2 + 20); // 444
const EVIL = '<img src=x onerror=alert(1)>';
const iso = (t) => new Date(t * 1000).toISOString().replace('.000Z', 'Z');
const rangeHash = (r) => `from=${encodeURIComponent(iso(r.from))}&to=${encodeURIComponent(iso(r.to))}`;
const pct = (n, d) => { const p = (100 * n) / d; return (p < 10 ? p.toFixed(2) : p.toFixed(1)) + '%'; };

let dir, db, server, browser;

function startServer(dbPath) {
  return new Promise((resolve, reject) => {
    const proc = spawn(EMBER, ['serve', '--db', dbPath, '--listen', '127.0.0.1:0'],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    let buf = '';
    const onData = (d) => {
      buf += d;
      const m = buf.match(/on http:\/\/([\d.]+):(\d+)\//);
      if (m) {
        proc.stderr.off('data', onData);
        proc.stderr.resume();
        resolve({ proc, url: `http://${m[1]}:${m[2]}/` });
      }
    };
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`ember serve exited (${code}): ${buf}`)));
  });
}

function stopServer(s) {
  return new Promise((resolve) => {
    if (s.proc.exitCode !== null) return resolve();
    s.proc.removeAllListeners('exit');
    s.proc.on('exit', () => resolve());
    s.proc.kill('SIGTERM');
  });
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ember-browser-'));
  db = path.join(dir, 'ember.db');
  execFileSync(GEN_DB, [db]);
  server = await startServer(db);
  fs.mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server) await stopServer(server);
  fs.rmSync(dir, { recursive: true, force: true });
});

// A page that records console errors, uncaught exceptions and dialogs (an
// alert() from injected markup would show up as a dialog).
async function newPage(opts = {}) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, ...opts });
  const page = await context.newPage();
  page.problems = [];
  page.dialogs = [];
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push('console: ' + m.text()); });
  page.on('pageerror', (e) => page.problems.push('pageerror: ' + e.message));
  page.on('dialog', async (d) => { page.dialogs.push(d.message()); await d.dismiss(); });
  return page;
}

async function openApp(page, hash) {
  await page.goto(server.url + '#' + hash);
  await waitLoaded(page);
}

async function waitLoaded(page) {
  await page.waitForFunction(() => window.emberView && window.emberView.data &&
    document.getElementById('busy').hidden, null, { timeout: 20000 });
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, name + '.png'), fullPage: true });
}

// Where the widest node named @name is drawn, scrolled into view, in page coordinates.
async function locate(page, name) {
  await page.evaluate(() => window.emberView.flame.canvas.scrollIntoView({ block: 'start' }));
  const r = await page.evaluate((n) => window.emberView.locate(n), name);
  assert.ok(r, `${name} is not drawn`);
  return r;
}

// The colour drawn at the middle of @name's bar: [r, g, b].
async function colorOf(page, name) {
  return page.evaluate((n) => {
    const v = window.emberView;
    const r = v.locate(n);
    const c = v.flame.canvas;
    const dpr = c.width / c.getBoundingClientRect().width;
    const b = c.getBoundingClientRect();
    const px = c.getContext('2d').getImageData(Math.round((r.x - b.left + 2) * dpr),
      Math.round((r.y - b.top + r.h / 2) * dpr), 1, 1).data;
    return [px[0], px[1], px[2]];
  }, name);
}

const crumbs = (page) => page.$$eval('.crumbs .crumb', (els) => els.map((e) => e.textContent));
const matchedText = (page) => page.textContent('.matched');
const firstRow = (page) => page.textContent('table.top tbody tr:first-child .fn');

test('the page loads with no console errors and shows the workload', async () => {
  const page = await newPage();
  await openApp(page, rangeHash(A));
  const names = await page.evaluate(() => window.emberView.data.strings);
  for (const n of ['compute', 'grow', 'read_k', 'scan', 'rec', EVIL]) assert.ok(names.includes(n), n);
  assert.equal(await page.evaluate(() => window.emberView.data.rootTotal), TOTAL_A);
  const compute = await locate(page, 'compute');
  assert.ok(compute.w > 100, `compute drawn ${compute.w}px wide`);
  assert.equal(await firstRow(page), 'compute');
  assert.match(await page.textContent('#dbrange'), /samples/);
  assert.match(await page.textContent('.tl-label'), /444 samples/);
  await shot(page, 'app');
  assert.deepEqual(page.problems, []);
  assert.deepEqual(page.dialogs, []);
  await page.context().close();
});

test('search highlights matches and counts nested matches once', async () => {
  const page = await newPage();
  await openApp(page, rangeHash(A));
  await page.fill('.search', 'work');
  assert.match(await matchedText(page), new RegExp('^matched ' + pct(240, TOTAL_A).replace('.', '\\.')));
  assert.deepEqual(await colorOf(page, 'work'), [224, 64, 200]);
  assert.notDeepEqual(await colorOf(page, 'compute'), [224, 64, 200]);
  await shot(page, 'search');
  // rec;rec;rec: 24 samples, not 72.
  await page.fill('.search', 'rec');
  assert.match(await matchedText(page), /^matched 5\.41% of samples \(24 of 444\)/);
  await page.check('.regex');
  await page.fill('.search', '^(grow|scan)$');
  assert.match(await matchedText(page), /^matched 33\.8% of samples \(150 of 444\)/);
  await page.fill('.search', '(unclosed');
  assert.match(await matchedText(page), /not a valid regular expression/);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('click zooms, the breadcrumb shows the path, Esc resets', async () => {
  const page = await newPage();
  await openApp(page, rangeHash(A));
  const before = await locate(page, 'compute');
  const work = await locate(page, 'work');
  await page.mouse.move(work.x + work.w / 2, work.y + work.h / 2);
  await page.waitForSelector('.tooltip:not([hidden])');
  assert.match(await page.textContent('.tooltip'), /total240 samples \(54\.1%\)/);
  await page.mouse.click(work.x + work.w / 2, work.y + work.h / 2);
  assert.deepEqual(await crumbs(page), ['all', 'app', 'main', 'work']);
  const after = await locate(page, 'compute');
  assert.ok(after.w > before.w * 1.5, `compute ${before.w} -> ${after.w}px`);
  assert.match(page.url(), /zoom=/);
  await shot(page, 'zoom');
  await page.click('.crumbs .crumb:has-text("main")');
  assert.deepEqual(await crumbs(page), ['all', 'app', 'main']);
  await page.keyboard.press('ArrowDown'); // to the widest child of main: work
  assert.deepEqual(await crumbs(page), ['all', 'app', 'main', 'work']);
  await page.keyboard.press('ArrowUp');
  assert.deepEqual(await crumbs(page), ['all', 'app', 'main']);
  await page.keyboard.press('Escape');
  assert.deepEqual(await crumbs(page), ['all']);
  await page.keyboard.press('/');
  assert.ok(await page.evaluate(() => document.activeElement.classList.contains('search')));
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the top table sorts by self and total and focuses a function', async () => {
  const page = await newPage();
  await openApp(page, rangeHash(A));
  assert.equal(await firstRow(page), 'compute');
  await page.click('button.sort[data-sort="total"]');
  assert.equal(await firstRow(page), 'main');
  assert.equal(await page.getAttribute('th:has(button[data-sort="total"])', 'aria-sort'), 'descending');
  await page.click('button.sort[data-sort="self"]');
  assert.equal(await firstRow(page), 'compute');
  await page.click('table.top tbody tr:has(.fn:text-is("scan"))');
  assert.equal(await page.inputValue('.search'), '^scan$');
  assert.deepEqual(await crumbs(page), ['all', 'db', 'start', 'query', 'scan']);
  assert.match(await matchedText(page), /^matched 27\.0% of samples \(120 of 444\)/);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the URL restores the same view after a reload', async () => {
  const page = await newPage();
  await openApp(page, rangeHash(A));
  const work = await locate(page, 'work');
  await page.mouse.click(work.x + work.w / 2, work.y + work.h / 2);
  await page.fill('.search', 'grow');
  await page.click('button.sort[data-sort="total"]');
  await page.click('.orient');
  const state = {
    crumbs: await crumbs(page), q: await page.inputValue('.search'),
    matched: await matchedText(page), first: await firstRow(page),
    orient: await page.textContent('.orient'),
  };
  await page.reload();
  await waitLoaded(page);
  assert.deepEqual({
    crumbs: await crumbs(page), q: await page.inputValue('.search'),
    matched: await matchedText(page), first: await firstRow(page),
    orient: await page.textContent('.orient'),
  }, state);
  assert.deepEqual(state.crumbs, ['all', 'app', 'main', 'work']);
  assert.equal(await page.evaluate(() => window.emberView.flame.inverted), false);
  await shot(page, 'restored');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('diff mode colours a function that grew red and one that shrank blue', async () => {
  const page = await newPage();
  await openApp(page, `${rangeHash(B)}&mode=diff&base_from=${iso(A.from)}&base_to=${iso(A.to)}`);
  assert.equal(await page.evaluate(() => window.emberView.data.diff), true);
  const [r, g, b] = await colorOf(page, 'grow');
  assert.ok(r > 150 && g < 130 && b < 130, `grow is rgb(${r},${g},${b})`);
  const [r2, g2, b2] = await colorOf(page, 'scan');
  assert.ok(b2 > 150 && r2 < 130, `scan is rgb(${r2},${g2},${b2})`);
  assert.match(await page.textContent('.legend'), /more in B than in A/);
  assert.ok(await page.isVisible('#diffform'));
  assert.ok(await page.evaluate(() => document.querySelector('[data-mode="diff"]').classList.contains('active')));
  await shot(page, 'diff');
  // Switching to diff with no baseline picks the period before B.
  await openApp(page, `${rangeHash(B)}`);
  await page.click('[data-mode="diff"]');
  await waitLoaded(page);
  assert.equal(await page.evaluate(() => window.emberView.data.diff), true);
  assert.match(page.url(), /base_from=2026-01-01T00%3A59%3A00/);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a function named <img src=x onerror=alert(1)> is text and runs nothing', async () => {
  const page = await newPage();
  await openApp(page, rangeHash(A));
  assert.equal(await page.evaluate(() => document.querySelectorAll('img').length), 0);
  const cells = await page.$$eval('table.top .fn', (els) => els.map((e) => e.textContent));
  assert.ok(cells.includes(EVIL), 'the name is in the table as text');
  const evil = await locate(page, EVIL);
  await page.mouse.move(evil.x + Math.min(evil.w / 2, 10), evil.y + evil.h / 2);
  await page.waitForSelector('.tooltip:not([hidden])');
  assert.equal(await page.textContent('.tooltip .tt-name'), EVIL);
  await page.mouse.click(evil.x + Math.min(evil.w / 2, 10), evil.y + evil.h / 2);
  assert.equal((await crumbs(page)).at(-1), EVIL);
  await page.fill('.search', '<img');
  assert.match(await matchedText(page), /\(18 of 444\)/);
  await page.reload();
  await waitLoaded(page);
  assert.equal(await page.evaluate(() => document.querySelectorAll('img').length), 0);
  assert.deepEqual(page.dialogs, []);
  assert.deepEqual(page.problems, []);
  await shot(page, 'xss');
  await page.context().close();
});

test('filters, timeline brush, empty range and errors are shown in words', async () => {
  const page = await newPage();
  await openApp(page, rangeHash(A));
  await page.selectOption('#pid', '200');
  await waitLoaded(page);
  await page.waitForFunction(() => window.emberView.data.rootTotal === 120);
  assert.match(page.url(), /pid=200/);
  await page.click('#clear');
  await page.waitForFunction(() => window.emberView.data.rootTotal === 444);
  // Brush across half of the timeline: a narrower absolute range.
  const tl = await page.$('.tl-canvas');
  const box = await tl.boundingBox();
  await page.mouse.move(box.x + 2, box.y + 20);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2, box.y + 20, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => window.emberView.data.rootTotal < 444 && document.getElementById('busy').hidden);
  assert.match(decodeURIComponent(page.url()), /from=2026-01-01T00:00:0\d/);
  // An hour with no samples.
  await openApp(page, rangeHash({ from: T0 - 7200, to: T0 - 3600 }));
  assert.ok(await page.isVisible('.empty'));
  assert.match(await page.textContent('.empty'), /No samples between .* The database holds samples from/);
  await shot(page, 'empty');
  // A bad time in the URL: the server's message, in words.
  await page.goto(server.url + '#from=yesterday');
  await page.waitForSelector('#message:not([hidden])');
  assert.match(await page.textContent('#message'), /is not a time/);
  await page.context().close();
});

test('an unreachable server is said in words, never a blank page', async () => {
  const own = await startServer(db);
  const page = await newPage();
  await page.goto(own.url + '#' + rangeHash(A));
  await waitLoaded(page);
  await stopServer(own);
  await page.click('[data-range="1h"]');
  await page.waitForSelector('#message:not([hidden])');
  assert.match(await page.textContent('#message'), /Cannot reach the ember server/);
  assert.ok(await page.isVisible('#message button'), 'a retry button');
  assert.ok(await page.evaluate(() => document.getElementById('view').classList.contains('stale')),
    'the last view is shown faded, as out of date');
  await shot(page, 'unreachable');
  await page.context().close();
});

test('render benchmark: a generated 100,000-node flamegraph', async () => {
  const page = await newPage({ viewport: { width: 1700, height: 1000 } });
  await page.goto(server.url + 'bench.html');
  await page.waitForFunction(() => window.benchResult, null, { timeout: 120000 });
  const r = await page.evaluate(() => window.benchResult);
  fs.writeFileSync(path.join(OUT, 'render-bench.json'), JSON.stringify(r, null, 2) + '\n');
  console.log('render benchmark: ' + JSON.stringify(r));
  assert.equal(r.nodes, 100000);
  for (const k of ['decode_ms', 'first_draw_ms', 'redraw_ms', 'zoomed_draw_ms', 'hover_hit_test_us'])
    assert.ok(Number.isFinite(r[k]) && r[k] >= 0, k);
  assert.ok(r.bars_drawn > 0 && r.bars_drawn < r.nodes, 'thin bars are skipped');
  await shot(page, 'bench');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the html export works from disk with no server and no network', async () => {
  const file = path.join(OUT, 'export.html');
  const resp = await fetch(`${server.url}api/v1/export?from=${A.from}&to=${A.to}&format=html`);
  assert.equal(resp.status, 200);
  fs.writeFileSync(file, Buffer.from(await resp.arrayBuffer()));
  const page = await newPage();
  const requests = [];
  await page.context().route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith('file:')) return route.continue();
    requests.push(u);
    return route.abort();
  });
  await page.goto('file://' + file);
  await page.waitForFunction(() => window.emberView && window.emberView.data);
  assert.equal(await page.evaluate(() => window.emberView.data.rootTotal), TOTAL_A);
  assert.match(await page.textContent('#subtitle'), /444 samples/);
  const work = await locate(page, 'work');
  await page.mouse.click(work.x + work.w / 2, work.y + work.h / 2);
  assert.deepEqual(await crumbs(page), ['all', 'app', 'main', 'work']);
  await page.fill('.search', 'work');
  assert.match(await matchedText(page), /^matched 54\.1% of samples \(240 of 444\)/);
  assert.equal(await firstRow(page), 'compute');
  await page.click('button.sort[data-sort="total"]');
  assert.equal(await firstRow(page), 'main');
  const cells = await page.$$eval('table.top .fn', (els) => els.map((e) => e.textContent));
  assert.ok(cells.includes(EVIL));
  assert.equal(await page.evaluate(() => document.querySelectorAll('img').length), 0);
  await page.reload();
  await page.waitForFunction(() => window.emberView && window.emberView.data);
  assert.deepEqual(await crumbs(page), ['all', 'app', 'main', 'work']);
  await shot(page, 'export-html');
  assert.deepEqual(requests, []);
  assert.deepEqual(page.dialogs, []);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
