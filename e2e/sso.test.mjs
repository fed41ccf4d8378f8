// Single sign-on in the embed: a newsroom page passes a token signed by its server in
// `data-sso-token`; the reader is signed in inside the iframe (no cookie, no popup) and
// can comment under the name and with the badges the token carries. Parley answers on
// another site than the page, as in the embed test, so only the token can sign the
// reader in.

import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { describe, test, before, after } from 'node:test';
import { TIMEOUT, AXE_PATH, useEnv, newContext, diagnose, api, apiToken, unique } from './harness.mjs';

const SITE = 'ssotest';
const ADMIN = { email: 'sso.admin@example.test', name: 'Sso Admin', password: 'sso admin password 1' };
const SECRET = 'an-sso-secret-for-the-browser-test-0123456789';

const b64url = (text) => Buffer.from(text).toString('base64url');

function ssoToken(claims) {
  const head = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  return `${head}.${createHmac('sha256', SECRET).update(head).digest('base64url')}`;
}

function articlePage(parley, token) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SSO article</title></head>
<body><main><h1>SSO article</h1>
<div id="parley-comments"></div>
<script src="${parley}/embed.js" data-site="${SITE}" data-sso-token="${token}" async></script>
</main></body></html>`;
}

describe('single sign-on in the embed', () => {
  const env = useEnv({ before, after }, {
    name: 'sso',
    statics: 1,
    parley: ({ statics }) => ({
      sites: [{ name: SITE, origins: [`http://localhost:${statics[0].port}`] }],
      users: [{ ...ADMIN, site: SITE, role: 'admin' }],
    }),
  });
  let ctx;
  after(async () => ctx?.close());

  test('a token in data-sso-token signs the reader in inside the iframe', { timeout: TIMEOUT.test }, () =>
    diagnose('sso-embed', { contexts: () => [ctx], server: env.server }, async () => {
      const admin = await apiToken(env.base, ADMIN.email, ADMIN.password, SITE);
      const set = await api(env.base, 'PUT', `/api/v1/sites/${SITE}/sso`, { token: admin, body: { secret: SECRET } });
      assert.equal(set.status, 200, JSON.stringify(set.body));

      const now = Math.floor(Date.now() / 1000);
      const name = `Subscriber ${unique()}`.slice(0, 40);
      const token = ssoToken({
        sub: 'np-1', email: 'np-1@newsroom.example', name, iat: now, exp: now + 300, jti: randomUUID(), aud: SITE,
        badges: ['Subscriber', '<b>Gold</b>'],
      });
      const [statics] = env.statics;
      statics.set('/news/sso.html', articlePage(env.base, token));

      ctx = await newContext(env.browser);
      const page = await ctx.newPage();
      await page.goto(`http://localhost:${statics.port}/news/sso.html`);
      const iframe = page.locator('#parley-comments iframe').first();
      await iframe.waitFor({ timeout: TIMEOUT.navigation });
      const frame = await (await iframe.elementHandle()).contentFrame();
      await frame.locator('#comment-body').waitFor({ timeout: TIMEOUT.navigation });
      assert.ok(!frame.url().includes('sso='), 'the token leaves the frame address once used');
      const text = `Signed in by the newsroom ${unique()}`;
      await frame.locator('#comment-body').fill(text);
      await frame.locator('#comment-form button[type="submit"]').click();
      const posted = frame.locator('ol.comments article.comment', { has: frame.locator('.comment-body', { hasText: text }) });
      await posted.waitFor();
      assert.equal((await posted.locator('.comment-author').innerText()).trim(), name);
      // The token's badges follow the name, as text, in a list named for screen readers.
      const badges = posted.locator('ul.author-badges[aria-label="Badges"] li.author-badge');
      assert.deepEqual((await badges.allInnerTexts()).map((t) => t.trim()), ['Subscriber', '<b>Gold</b>']);
      assert.equal(await posted.locator('.author-badges b').count(), 0, 'markup in a badge is not markup');
      await frame.addScriptTag({ path: AXE_PATH });
      const violations = await frame.evaluate(async () => {
        // eslint-disable-next-line no-undef
        const r = await axe.run('ol.comments', { resultTypes: ['violations'] });
        return r.violations
          .filter((v) => v.impact === 'serious' || v.impact === 'critical')
          .map((v) => `${v.id}: ${v.nodes.map((n) => n.html.slice(0, 120)).join(' | ')}`);
      });
      assert.deepEqual(violations, [], 'no serious accessibility violations around the badges');
      assert.deepEqual(ctx.pageErrors, [], 'no script errors');
    }));
});
