// One cold visit of a page with a chromium trace: where the main thread's time goes (top-level events by name),
// and the timeline of the navigation. Usage: node bench/trace-page.mjs URL COOKIE_JSON OUT.json
import { chromium } from '@playwright/test';
import fs from 'node:fs';

const [url, cookieFile, out] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
const ctx = await browser.newContext();
await ctx.addCookies(JSON.parse(fs.readFileSync(cookieFile, 'utf8')));
const page = await ctx.newPage();
await browser.startTracing(page, { path: out, categories: ['devtools.timeline', 'v8.execute', 'disabled-by-default-devtools.timeline', 'blink.user_timing', 'loading'] });
const t0 = performance.now();
await page.goto(url);
await page.waitForSelector('body[data-hydrated]', { timeout: 120000 });
const th = performance.now() - t0;
await page.waitForTimeout(1500);
await browser.stopTracing();
console.log(`hydrated ${th.toFixed(0)} ms`);
const trace = JSON.parse(fs.readFileSync(out, 'utf8'));
const events = trace.traceEvents ?? trace;
const main = events.find(e => e.name === 'thread_name' && e.args?.name === 'CrRendererMain');
const nav = events.find(e => e.name === 'navigationStart' || e.name === 'NavigationBodyLoader::StartLoadingBody');
const tmain = events.filter(e => main && e.tid === main.tid && e.pid === main.pid && e.ph === 'X' && e.dur);
// Top-level: events not inside another on the main thread.
tmain.sort((a, b) => a.ts - b.ts);
const top = [];
let end = 0;
for (const e of tmain) { if (e.ts >= end) { top.push(e); end = e.ts + e.dur; } }
const start = Math.min(...tmain.map(e => e.ts));
const by = {};
for (const e of top) by[e.name] = (by[e.name] ?? 0) + e.dur / 1000;
console.log('main thread, top-level (ms):', Object.entries(by).sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', '));
// Nested: every event by name (self time not computed), for the big ones.
const all = {};
for (const e of tmain) all[e.name] = (all[e.name] ?? 0) + e.dur / 1000;
console.log('all events (ms, nested counted):', Object.entries(all).sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', '));
console.log('timeline of top-level events over 20 ms:');
for (const e of top.filter(e => e.dur > 20000)) console.log(`  ${((e.ts - start) / 1000).toFixed(0)} +${(e.dur / 1000).toFixed(0)} ${e.name} ${JSON.stringify(e.args?.data?.url ?? e.args?.data?.functionName ?? '').slice(0, 80)}`);
await browser.close();
