// Browser draw time of ember's flamegraph for bench/run: opens the UI's
// render benchmark page (web/ui/bench.html: a generated 100,000-node
// profile) REPS times, each in a fresh page of headless Debian Chromium
// driven by playwright-core (installed in the build tree by
// tests/web/npm_setup.py; never a downloaded browser), and prints the
// results as one JSON array on standard output.
//
// Usage: node render_bench.mjs NODE_MODULES_PARENT SERVER_URL [REPS] [NODES]
import { createRequire } from 'node:module';
import path from 'node:path';

const [dir, url, repsArg, nodesArg] = process.argv.slice(2);
if (!dir || !url) {
  console.error('usage: node render_bench.mjs NODE_MODULES_PARENT SERVER_URL [REPS] [NODES]');
  process.exit(2);
}
const reps = Number(repsArg) || 5;
const nodes = Number(nodesArg) || 100000;
const { chromium } = createRequire(path.join(dir, 'package.json'))('playwright-core');

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update'],
});
const results = [];
try {
  for (let i = 0; i < reps; i++) {
    const context = await browser.newContext({ viewport: { width: 1700, height: 1000 } });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${url}bench.html?nodes=${nodes}`);
    await page.waitForFunction(() => window.benchResult, null, { timeout: 120000 });
    const r = await page.evaluate(() => window.benchResult);
    if (problems.length) throw new Error('page errors: ' + problems.join('; '));
    results.push(r);
    await context.close();
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(results) + '\n');
