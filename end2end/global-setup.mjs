// The site's first account becomes its administrator: make it before any journey, so the journeys that need
// an admin (site settings) have one whatever order the files run in.
export default async function globalSetup() {
  const base = process.env.MYELIN_E2E_URL ?? 'http://127.0.0.1:8000';
  const admin = `admin-${Date.now().toString(36)}`;
  const r = await fetch(`${base}/api/v1/auth/signup`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: admin, password: 'correct horse battery' }),
  });
  if (r.status !== 201 && r.status !== 200) throw new Error(`the admin sign-up answered ${r.status}: ${await r.text()}`);
  const me = await r.json().catch(() => ({}));
  if (me.is_admin === false) throw new Error('the first account is not the site admin: is the server fresh?');
  process.env.MYELIN_E2E_ADMIN = admin;
}
