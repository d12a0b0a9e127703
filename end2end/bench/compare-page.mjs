// The compare page in chromium at scale: N runs (MLflow-logged, each a metric of STEPS steps and 30 params),
// opened by their link with a cold cache; the time from navigation to the page hydrated with every chart's
// lines drawn (PHASES=1: each visit's HTML, chunks and hydration times too). Usage (scripts/bench-page-load
// starts the server):
//   MYELIN_BENCH_SCRIPT=compare-page.mjs scripts/bench-page-load BIN [visits]
// Sizes: COMPARE_RUNS (comma-separated counts, default 500,1000), STEPS (2000; each line is drawn from at most
// 500 points whatever the steps, so more steps change the server's time, not the page's).
import { chromium } from '@playwright/test';

const base = process.argv[2];
const visits = Number(process.argv[3] ?? 5);
const counts = (process.env.COMPARE_RUNS ?? '500,1000').split(',').map(Number);
const steps = Number(process.env.STEPS ?? 2000);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
const setup = await (await browser.newContext()).newPage();
await setup.goto(`${base}/login`);
const user = `bench${Date.now().toString(36)}`;
const call = (method, path, body) => setup.evaluate(async ([method, path, body]) => {
  const r = await fetch(path, { method, headers: { 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
  return [r.status, await r.text()];
}, [method, path, body]);
await call('POST', '/api/v1/auth/signup', { username: user, password: 'correct horse battery' });
await call('POST', '/api/v1/projects', { name: 'bench' });
const [, exp] = await call('GET', `/api/2.0/mlflow/experiments/get-by-name?experiment_name=${user}/bench`);
const experiment = JSON.parse(exp).experiment.experiment_id;
const ids = [];
const t0 = performance.now();
for (let r = 0; r < Math.max(...counts); r++) {
  const started = Date.now();
  const [, made] = await call('POST', '/api/2.0/mlflow/runs/create', { experiment_id: experiment, run_name: `run-${r}`, start_time: started });
  const id = JSON.parse(made).run.info.run_id;
  const params = Array.from({ length: 30 }, (_, p) => ({ key: `p${p}`, value: p % 3 ? String((r * (p + 1)) % 50) : 'same' }));
  await call('POST', '/api/2.0/mlflow/runs/log-batch', { run_id: id, params });
  for (let start = 0; start < steps; start += 1000) {
    const metrics = [];
    for (let s = start; s < Math.min(steps, start + 1000); s++) {
      metrics.push({ key: 'm0', value: 1 / (1 + s / (100 + r)) + ((r * 31 + s) % 97) / 1000, timestamp: started + 250 * s, step: s });
    }
    await call('POST', '/api/2.0/mlflow/runs/log-batch', { run_id: id, metrics });
  }
  ids.push(id);
}
console.log(`seeded ${ids.length} runs x ${steps} steps in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
const cookies = await setup.context().cookies();

async function visit(path, lines) {
  const ctx = await browser.newContext();
  await ctx.addCookies(cookies);
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', e => errors.push(e.message));
  const t0 = performance.now();
  await page.goto(base + path);
  await page.waitForSelector('body[data-hydrated]', { timeout: 120000 });
  const th = performance.now() - t0;
  await page.waitForFunction(n => document.querySelectorAll('#compare-charts polyline[stroke-width="2"]').length >= n, lines, { timeout: 120000 });
  const ms = performance.now() - t0;
  // Where the time goes: the HTML (its first and last byte, its size), the page's scripts and chunks, hydration.
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    // The app's files (the split loader fetches its chunks), not the server functions (the points asked once hydrated).
    const chunks = performance.getEntriesByType('resource').filter(c => !new URL(c.name).pathname.startsWith('/api/'));
    return { first: n.responseStart, last: n.responseEnd, parsed: n.domInteractive, bytes: n.transferSize, files: chunks.length, loaded: Math.max(...chunks.map(c => c.responseEnd)) };
  });
  if (process.env.PHASES) {
    console.log(`  HTML ${(nav.bytes / 1e6).toFixed(1)} MB: first byte ${nav.first.toFixed(0)} ms, last ${nav.last.toFixed(0)} ms, parsed ${nav.parsed.toFixed(0)} ms; ` +
      `${nav.files} scripts and chunks loaded by ${nav.loaded.toFixed(0)} ms; hydrated ${th.toFixed(0)} ms; drawn ${ms.toFixed(0)} ms`);
  }
  await ctx.close();
  if (errors.length) throw new Error(errors.join('\n'));
  return ms;
}

const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
for (const n of counts) {
  const path = `/${user}/bench/compare?runs=${ids.slice(0, n).join(',')}&metrics=m0`;
  await visit(path, n);
  const got = [];
  for (let i = 0; i < visits; i++) got.push(await visit(path, n));
  console.log(`compare ${n} runs, 1 chart: hydrated with every line drawn p50 ${q(got, 0.5).toFixed(0)} ms, p90 ${q(got, 0.9).toFixed(0)} ms (${visits} cold visits)`);
  console.log(`BENCH|compare page, ${n} runs x ${steps} steps, 1 chart (cold cache, every line drawn), p50|${q(got, 0.5).toFixed(0)} ms|–|–|MYELIN_BENCH_SCRIPT=compare-page.mjs scripts/bench-page-load`);
}
await browser.close();
