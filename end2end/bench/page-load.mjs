// Cold-cache time to a hydrated page in chromium: a new browser context (empty cache) per visit, from
// navigation to `body[data-hydrated]`, on loopback and on an emulated 20 Mbit/s link with 20 ms latency.
// Usage (scripts/bench-page-load starts the server): node bench/page-load.mjs URL [visits]
import { chromium } from '@playwright/test';

const base = process.argv[2];
const visits = Number(process.argv[3] ?? 15);
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
const [, made] = await call('POST', `/api/v1/projects/${user}/bench/runs`,
  { content: 'kind: component\nrun:\n  kind: job\n  container: {image: busybox:1.36, command: [echo, hi]}\n' });
const run = JSON.parse(made).uuid;
for (let i = 0; i < 100; i++) {
  const [, body] = await call('GET', `/api/v1/projects/${user}/bench/runs/${run}`);
  if (/"status":"(succeeded|failed)"/.test(body)) break;
  await setup.waitForTimeout(200);
}
const cookies = await setup.context().cookies();

async function visit(path, link) {
  const ctx = await browser.newContext();
  await ctx.addCookies(cookies);
  const page = await ctx.newPage();
  if (link) {
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, ...link });
  }
  let bytes = 0;
  let files = 0;
  const sizes = [];
  page.on('requestfinished', r => sizes.push(r.sizes().then(s => { bytes += s.responseBodySize; files += 1; }, () => {})));
  const t0 = performance.now();
  await page.goto(base + path);
  await page.waitForSelector('body[data-hydrated]', { timeout: 60000 });
  const ms = performance.now() - t0;
  await Promise.allSettled(sizes);
  await ctx.close();
  return { ms, bytes, files };
}

const links = {
  loopback: null,
  '20 Mbit/s, 20 ms': { latency: 20, downloadThroughput: 20e6 / 8, uploadThroughput: 5e6 / 8 },
};
const pages = { 'run page': `/${user}/bench/runs/${run}`, 'runs tab': `/${user}/bench/runs`, projects: '/projects', editor: `/${user}/bench/editor` };
const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
for (const [name, link] of Object.entries(links)) {
  for (const [label, path] of Object.entries(pages)) {
    await visit(path, link); // warm the server's side
    const got = [];
    for (let i = 0; i < visits; i++) got.push(await visit(path, link));
    const ms = got.map(g => g.ms);
    console.log(`${label.padEnd(9)} ${name.padEnd(17)} hydrated p50 ${q(ms, 0.5).toFixed(0)} ms, p90 ${q(ms, 0.9).toFixed(0)} ms; ` +
      `${(got[0].bytes / 1000).toFixed(0)} KB in ${got[0].files} files over the wire (${visits} cold visits)`);
    // `make bench`'s row (scripts/bench/table).
    console.log(`BENCH|page load, ${label} (${name}, cold cache, until hydrated), p50|${q(ms, 0.5).toFixed(0)} ms|–|–|scripts/bench-page-load`);
  }
}
await browser.close();
