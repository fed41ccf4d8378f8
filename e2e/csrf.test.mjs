// Cross-site request forgery: a signed-in reader visits another origin's page that
// posts Parley's plain forms (comment, reaction) at Parley. Nothing may happen, both
// from another site (http://localhost:…: the SameSite=Lax cookie stays home) and from
// the same site on another port (http://127.0.0.1:…: the cookie goes along, so the
// Sec-Fetch-Site / Origin check must refuse it).

import assert from 'node:assert/strict';
import { describe, test, before, after } from 'node:test';
import {
  DEMO, TIMEOUT, useEnv, newContext, diagnose, demoStories, allComments, apiToken, apiComment, api,
  signIn, unique,
} from './harness.mjs';

function attackPage(action, fields) {
  const inputs = Object.entries(fields).map(([k, v]) => `<input type="hidden" name="${k}" value="${v}">`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Win a prize</title></head>
<body><form id="f" method="post" action="${action}">${inputs}<button>Claim</button></form>
<script>document.getElementById('f').submit();</script></body></html>`;
}

describe('cross-site request forgery', () => {
  const env = useEnv({ before, after }, { name: 'csrf', statics: 1 });
  let stories;
  let ctx;
  let page;

  before(async () => {
    stories = await demoStories(env.base);
    ctx = await newContext(env.browser);
    page = await ctx.newPage();
    await signIn(page, env.base, DEMO.reader.email);
  });
  after(async () => ctx?.close());

  const guard = (label, fn) => diagnose(`csrf-${label}`, { contexts: () => [ctx], server: env.server }, fn);

  for (const [where, host] of [['another site', 'localhost'], ['the same site on another port', '127.0.0.1']]) {
    test(`a forged comment and reaction from ${where} are refused`, { timeout: TIMEOUT.test }, () =>
      guard(host, async () => {
        const [evil] = env.statics;
        const bill = await apiToken(env.base, DEMO.bill.email);
        const target = await apiComment(env.base, bill, stories.weather.id, `Bill's target ${unique()}`);
        const text = `Forged from ${host} ${unique()}`;
        evil.set(`/comment-${host}.html`, attackPage(`${env.base}/stories/${stories.weather.slug}/comments`, { body: text, parent_id: '' }));
        evil.set(`/react-${host}.html`, attackPage(`${env.base}/comments/${target.id}/react`, {}));

        const statuses = [];
        for (const p of [`/comment-${host}.html`, `/react-${host}.html`]) {
          const posted = page.waitForResponse((r) => r.url().startsWith(env.base) && r.request().method() === 'POST', { timeout: TIMEOUT.navigation });
          await page.goto(`http://${host}:${evil.port}${p}`);
          statuses.push((await posted).status());
          await page.waitForURL((u) => u.origin === env.base, { timeout: TIMEOUT.navigation });
          await page.waitForLoadState('load');
        }
        console.log(`forged posts from ${host}: statuses ${statuses.join(', ')}`);
        const comments = await allComments(env.base, stories.weather.id);
        assert.ok(!comments.some((c) => c.body === text), 'no forged comment');
        const after = (await api(env.base, 'GET', `/api/v1/comments/${target.id}`)).body.comment;
        assert.equal(after.reaction_count, 0, 'no forged reaction');

        // The reader is still signed in, and the same forms work from Parley's own page.
        await page.goto(`${env.base}/stories/${stories.weather.slug}`);
        await page.locator('#comment-form').waitFor();
      }));
  }
});
