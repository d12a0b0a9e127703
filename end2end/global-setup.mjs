// The site's first account becomes its administrator: make it before any journey, so the journeys that need
// an admin (site settings, invitations) have one whatever order the files run in. Sign-up is closed once the
// admin exists; the admin opens it, since the journeys sign up users of their own (accounts.spec closes it
// for a moment, and tests invitations). The same for the Kubernetes server when there is one.
async function adminOf(base) {
  const admin = `admin-${Date.now().toString(36)}`;
  const r = await fetch(`${base}/api/v1/auth/signup`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: admin, password: 'correct horse battery' }),
  });
  if (r.status !== 201 && r.status !== 200) throw new Error(`the admin sign-up at ${base} answered ${r.status}: ${await r.text()}`);
  const me = await r.json().catch(() => ({}));
  if (me.is_admin === false) throw new Error(`the first account at ${base} is not the site admin: is the server fresh?`);
  const cookie = r.headers.getSetCookie().map(c => c.split(';')[0]).join('; ');
  const opened = await fetch(`${base}/api/v1/admin/settings`, {
    method: 'PUT', headers: { 'content-type': 'application/json', cookie, origin: base },
    body: JSON.stringify({ signup_open: true }),
  });
  if (opened.status !== 200) throw new Error(`opening sign-up at ${base} answered ${opened.status}: ${await opened.text()}`);
  return admin;
}

export default async function globalSetup() {
  process.env.MYELIN_E2E_ADMIN = await adminOf(process.env.MYELIN_E2E_URL ?? 'http://127.0.0.1:8000');
  if (process.env.MYELIN_E2E_K8S_URL) await adminOf(process.env.MYELIN_E2E_K8S_URL);
}
