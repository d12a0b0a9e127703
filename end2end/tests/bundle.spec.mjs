import { test, expect, open, session, submitRun, waitForRun } from '../support.mjs';

// What pages download, with a cold cache: every page gets the hydration bundle only (wasm + JS within the budget
// scripts/build.sh also checks), with content-hashed names served `immutable` and gzipped; the editor adds
// CodeMirror and the compiler module, loaded on that page only; pages themselves are never cached.
const budget = 600_000;

// `name.<hash>.ext`, or the app's split bundle: `<hash>/<file>` (its files name each other relatively).
const hashed = /\/pkg\/([a-z_]+\.[0-9a-f]{16}(_bg)?\.(js|wasm|css)|[0-9a-f]{16}\/[A-Za-z0-9_.]+\.(js|wasm))$/;

/// Every answer `page` gets while `visit` runs: `{ url, type, cache, bytes }` (bytes as sent, compressed).
async function downloads(page, visit) {
  const seen = [];
  const done = [];
  const on = r => done.push((async () => {
    const resp = await r.response();
    const sizes = await r.sizes();
    seen.push({ url: r.url(), type: r.resourceType(), cache: resp?.headers()['cache-control'] ?? '', bytes: sizes.responseBodySize });
  })());
  page.on('requestfinished', on);
  await visit();
  await Promise.all(done);
  page.off('requestfinished', on);
  return seen;
}

/// A new browser session (its cache cold) signed in as `user`, watched by the guard like every session.
async function coldTab(browser, user) {
  const tab = await session(browser, `${user.name}-cold`);
  await tab.context().addCookies(await user.page.context().cookies());
  return tab;
}

test('pages other than the editor download no compiler; assets are hashed and immutable; pages are not cached', async ({ browser, alice, project }) => {
  const p = project.path;
  const id = await submitRun(alice.page, p, `kind: component\nrun:\n  kind: job\n  container: {image: busybox:1.36, command: [echo, hi]}\n`);
  await waitForRun(alice.page, p, id, ['succeeded']);
  for (const path of [`/${p}/runs/${id}`, `/${p}/runs`, `/${p}`, '/projects']) {
    const tab = await coldTab(browser, alice);
    const got = await downloads(tab, () => open(tab, path));
    const doc = got.find(g => g.type === 'document');
    expect(doc && doc.cache.includes('no-store'), `${path}: the page is not cached (got ${doc?.cache})`);
    const assets = got.filter(g => g.url.includes('/pkg/'));
    expect(assets.length >= 3, `${path}: css, js and wasm fetched: ${JSON.stringify(assets)}`);
    for (const a of assets) {
      expect(hashed.test(a.url), `${path}: ${a.url} carries a content hash`);
      expect(a.cache.includes('immutable') && a.cache.includes('max-age=31536000'), `${a.url} is immutable: ${a.cache}`);
    }
    const editorParts = assets.filter(a => /\/pkg\/editor/.test(a.url));
    expect(editorParts.length === 0, `${path} loads no editor part: ${editorParts.map(a => a.url)}`);
    const code = assets.filter(a => /\.(js|wasm)$/.test(a.url)).reduce((n, a) => n + a.bytes, 0);
    expect(code > 0 && code <= budget, `${path}: ${code} bytes of wasm + JS over the wire, budget ${budget}`);
  }

  // Opened by its URL, the editor loads its two parts on demand, hashed and immutable too, and compiles.
  const tab = await coldTab(browser, alice);
  const got = await downloads(tab, async () => {
    await open(tab, `/${p}/editor`);
    await tab.waitForSelector('#editor .cm-editor', { timeout: 20000 });
    await tab.waitForSelector('#editor-status:has-text("compiles")');
  });
  const parts = got.filter(g => /\/pkg\/editor/.test(g.url));
  for (const name of ['editor', 'editor_core']) {
    const js = parts.find(a => new RegExp(`/pkg/${name}\\.[0-9a-f]{16}\\.js$`).test(a.url));
    expect(js && js.cache.includes('immutable'), `the editor page loads ${name}'s script, immutable: ${JSON.stringify(parts)}`);
  }
  expect(parts.some(a => /editor_core\.[0-9a-f]{16}_bg\.wasm$/.test(a.url)), `the compiler's wasm loads: ${JSON.stringify(parts)}`);

  // Reached by a link inside the app, the editor starts without its compiler, loads it and compiles.
  const other = await coldTab(browser, alice);
  await open(other, `/${p}/runs`);
  await other.click('nav.tabs a:has-text("Editor")');
  await other.waitForSelector('#editor .cm-editor', { timeout: 20000 });
  await other.waitForSelector('#editor-status:has-text("compiles")');
  await other.waitForSelector('#editor-manifest:has-text("python:3.12-slim")');
});
