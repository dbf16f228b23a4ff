// Helpers for tests that drive e2e/pages/bp-conformance.html, a host page written from
// Bright Pattern's API definition and served from its own origin.
import assert from 'node:assert/strict';
import { waitFor, startHostPages, PASSWORD } from './helpers.js';

/** Starts the host server, registers integration `bp-conf` for its origin; resolves a page opener. */
export async function bpHost(t, env) {
  const host = await startHostPages(env.server.base);
  t.after(() => host.close());
  const r = await env.server.admin('POST', '/admin/tenants/demo/integrations', {
    integrationKey: 'bp-conf', name: 'BP conformance', allowedOrigins: [host.origin],
  });
  assert.ok(r.status === 200 || r.status === 201, JSON.stringify(r));
  return async (label, query = '') => {
    const page = await env.newPage(`${host.origin}/bp-conformance.html?key=bp-conf&tenant=demo&server=${encodeURIComponent(env.server.base)}${query}`, label);
    await waitFor('the host page loaded the SDK', () => page.evaluate(() => window.conf && window.conf.ready));
    return page;
  };
}

export function call(page, method, ...args) {
  return page.evaluate(([m, a]) => {
    try { return window.conf.api[m](...a); } catch (e) { return { threw: String(e) }; }
  }, [method, args]);
}
export async function callOk(page, method, ...args) {
  const r = await call(page, method, ...args);
  assert.equal(r.status, 'success', `${method}: ${JSON.stringify(r)}`);
  return r.data;
}
export async function login(page, username) {
  const r = await call(page, 'login', { username, password: PASSWORD });
  assert.deepEqual(r, { status: 'success', data: null });
}
export function eventsOf(page, name) {
  return page.evaluate((n) => window.conf.events.filter((e) => e.event === n).map((e) => e.args), name);
}

