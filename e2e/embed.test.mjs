// The embed and the counts script, on pages served from other origins by a static
// server: a newsroom page on an allowed origin gets the conversation in an iframe that
// sizes itself, creates the story on first load, and lets a reader sign in through the
// popup and comment; a page on an origin that is not allowed is refused and creates
// nothing; count.js writes comment counts next to links on a listing page.
//
// The allowed page is served from http://localhost:PORT while Parley answers on
// http://127.0.0.1:PORT2: different sites, so Parley's SameSite=Lax session cookie is
// never sent inside the iframe, as in a browser that blocks third-party cookies. Only
// the popup + postMessage token can sign the reader in there.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, test, before, after } from 'node:test';
import {
  TIMEOUT, SCREENSHOTS, ROOT, useEnv, newContext, diagnose, findStory, allComments, apiToken, apiComment,
  apiStory, fillSignIn, unique, sleep,
} from './harness.mjs';

const SITE = 'embedtest';
const READER = { email: 'embed.reader@example.test', name: 'Embed Reader', password: 'embed reader password 1' };
const STAFF = { email: 'embed.staff@example.test', name: 'Embed Desk', password: 'embed staff password 1' };

/** A newsroom article page with the embed snippet from Parley's own instructions. */
function articlePage(parley, title) {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<main>
  <h1>${title}</h1>
  <p>An article on a newsroom's own site. The conversation is below.</p>
  <div id="parley-comments"></div>
  <script src="${parley}/embed.js" data-site="${SITE}" async></script>
</main>
</body>
</html>`;
}

/** The iframe element the embed made, and its frame once the conversation is in it. */
async function embedFrame(page) {
  const iframe = page.locator('#parley-comments iframe').first();
  await iframe.waitFor({ timeout: TIMEOUT.navigation });
  const handle = await iframe.elementHandle();
  const frame = await handle.contentFrame();
  return { iframe, frame };
}

/** The iframe's height and its content's height. */
async function heights(iframe, frame) {
  const box = await iframe.boundingBox();
  const content = await frame.evaluate(() => Math.max(document.documentElement.scrollHeight, document.body.scrollHeight));
  return { frame: Math.round(box.height), content };
}

/** Waits until the iframe's height follows its content (within a few pixels). */
async function waitSized(iframe, frame, what) {
  const deadline = Date.now() + TIMEOUT.action;
  let h;
  while (Date.now() < deadline) {
    h = await heights(iframe, frame);
    if (Math.abs(h.frame - h.content) <= 24) return h;
    await sleep(100);
  }
  assert.fail(`${what}: the iframe is ${h.frame}px high but its content is ${h.content}px`);
}

describe('the embed and the counts script on other origins', () => {
  const env = useEnv({ before, after }, {
    name: 'embed',
    statics: 2,
    parley: ({ statics }) => ({
      sites: [{ name: SITE, origins: [`http://localhost:${statics[0].port}`] }],
      users: [
        { ...READER, site: SITE },
        { ...STAFF, site: SITE, role: 'staff' },
      ],
    }),
  });
  let allowed;
  let refused;
  let ctx;

  before(() => {
    [allowed, refused] = env.statics;
  });
  after(async () => ctx?.close());

  const guard = (label, fn) => diagnose(`embed-${label}`, { contexts: () => [ctx], server: env.server }, fn);
  const allowedUrl = (p) => `http://localhost:${allowed.port}${p}`;
  const refusedUrl = (p) => `http://localhost:${refused.port}${p}`;

  test('allowed origin: the conversation shows in an iframe that sizes itself; the story is created', { timeout: TIMEOUT.test }, () =>
    guard('allowed', async () => {
      ctx = await newContext(env.browser);
      const title = 'Embed test: the ferry timetable changes';
      allowed.set('/news/ferry.html', articlePage(env.base, title));
      const pageUrl = allowedUrl('/news/ferry.html');
      assert.equal(await findStory(env.base, SITE, pageUrl), null, 'no story before the first load');

      let page = await ctx.newPage();
      await page.goto(pageUrl);
      let { iframe, frame } = await embedFrame(page);
      assert.ok(frame.url().startsWith(`${env.base}/embed?`), `the iframe shows Parley's /embed (${frame.url()})`);
      await frame.locator('#conversation').waitFor();

      const story = await findStory(env.base, SITE, pageUrl);
      assert.ok(story, 'the first load created the story from the page URL');
      assert.equal(story.headline, title, "the story's headline is the page's title");

      // Some conversation, so the content is taller than the iframe's starting height.
      const token = await apiToken(env.base, STAFF.email, STAFF.password, SITE);
      for (let i = 1; i <= 3; i += 1) {
        await apiComment(env.base, token, story.id, `Comment ${i} from the desk: the 7:40 ferry moves to 7:55 from Monday. ${'More detail. '.repeat(8)}`);
      }
      // A reader arriving later (a fresh browser profile: the embed is cacheable for a
      // little while, so the same browser may be shown its earlier copy).
      await ctx.close();
      ctx = await newContext(env.browser);
      page = await ctx.newPage();
      await page.goto(pageUrl);
      ({ iframe, frame } = await embedFrame(page));
      await frame.locator('#conversation ol.comments article.comment').nth(2).waitFor();
      const sized = await waitSized(iframe, frame, 'with three comments');
      assert.ok(sized.frame > 300, `the iframe is ${sized.frame}px high`);
      assert.equal(await frame.locator('.embed-signin').count() > 0, true, 'a signed-out reader sees the embed sign-in button');

      mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SCREENSHOTS, 'embed-allowed.png'), fullPage: true });
      console.log(`saved ${path.relative(ROOT, path.join(SCREENSHOTS, 'embed-allowed.png'))}`);
    }));

  test('allowed origin: sign in through the popup, then comment inside the iframe', { timeout: TIMEOUT.test }, () =>
    guard('signin', async () => {
      const page = ctx.pages()[0];
      const pageUrl = allowedUrl('/news/ferry.html');
      const story = await findStory(env.base, SITE, pageUrl);
      const { iframe, frame } = await embedFrame(page);
      await frame.locator('#conversation').waitFor();
      const before = await waitSized(iframe, frame, 'before signing in');

      const popupPromise = page.waitForEvent('popup');
      await frame.locator('.embed-signin').first().click();
      const popup = await popupPromise;
      await popup.waitForLoadState('load');
      assert.ok(popup.url().startsWith(`${env.base}/embed/signin`), `the popup is Parley's /embed/signin (${popup.url()})`);
      await fillSignIn(popup, READER.email, READER.password);

      // The token reaches the iframe: it now offers the comment box.
      await frame.locator('#comment-body').waitFor({ timeout: TIMEOUT.navigation });
      const text = `Posted from inside the embed ${unique()}`;
      await frame.locator('#comment-body').fill(text);
      await frame.locator('#comment-form button[type="submit"]').click();
      const posted = frame.locator('ol.comments article.comment', { has: frame.locator('.comment-body', { hasText: text }) });
      await posted.waitFor();
      assert.equal((await posted.locator('.comment-author').innerText()).trim(), READER.name);

      const saved = (await allComments(env.base, story.id)).find((c) => c.body === text);
      assert.ok(saved, 'the API has the comment');
      assert.equal(saved.author.name, READER.name, 'posted as the reader who signed in through the popup');

      const after = await waitSized(iframe, frame, 'after commenting');
      assert.ok(after.frame > before.frame, `the iframe grew with its content (${before.frame}px → ${after.frame}px)`);
      assert.deepEqual(ctx.pageErrors, [], 'no script errors');
    }));

  test('disallowed origin: the embed is refused and no story is created', { timeout: TIMEOUT.test }, () =>
    guard('refused', async () => {
      const title = 'Copied article on another site';
      refused.set('/news/copied.html', articlePage(env.base, title));
      const pageUrl = refusedUrl('/news/copied.html');

      const page = await ctx.newPage();
      const embedResponses = [];
      page.on('response', (r) => {
        if (r.url().startsWith(`${env.base}/embed?`)) embedResponses.push(r);
      });
      const responded = page.waitForResponse((r) => r.url().startsWith(`${env.base}/embed?`), { timeout: TIMEOUT.navigation }).catch(() => null);
      await page.goto(pageUrl);
      const iframe = page.locator('#parley-comments iframe');
      await responded;
      // Whatever reached the iframe has had time to load.
      await page.waitForLoadState('load');
      for (const f of page.frames()) await f.waitForLoadState('load').catch(() => {});

      for (const f of page.frames()) {
        const shown = await f.locator('#conversation, #comment-form, .embed-signin').count().catch(() => 0);
        assert.equal(shown, 0, `no conversation in the frame ${f.url()}`);
      }
      const statuses = embedResponses.map((r) => r.status());
      const csp = embedResponses.map((r) => r.headers()['content-security-policy'] || '').join(' ');
      const frameBlocked = /frame-ancestors/.test(csp) && !csp.includes(refused.origin) && !csp.includes(`localhost:${refused.port}`);
      assert.ok(
        (await iframe.count()) === 0 || statuses.some((s) => s === 403) || frameBlocked,
        `the embed request is refused (statuses ${JSON.stringify(statuses)}, CSP ${csp || 'none'})`,
      );
      assert.equal(await findStory(env.base, SITE, pageUrl), null, 'no story for the disallowed page');
      console.log(`disallowed origin: iframes ${await iframe.count()}, /embed statuses ${JSON.stringify(statuses)}, CSP "${csp}"`);

      // The server refuses on its own, not only the browser: a request as the iframe
      // on that page would make it.
      const direct = await fetch(`${env.base}/embed?site=${SITE}&url=${encodeURIComponent(pageUrl)}&title=${encodeURIComponent(title)}`, {
        headers: { referer: pageUrl, 'sec-fetch-dest': 'iframe', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' },
      });
      await direct.text();
      assert.equal(await findStory(env.base, SITE, pageUrl), null, `no story after a direct request either (status ${direct.status})`);
      assert.ok(direct.status >= 400 || /frame-ancestors/.test(direct.headers.get('content-security-policy') || ''), `direct request: ${direct.status}`);
      await page.close();
    }));

  test('count.js writes comment counts next to the links of a listing page on another origin', { timeout: TIMEOUT.test }, () =>
    guard('counts', async () => {
      const token = await apiToken(env.base, STAFF.email, STAFF.password, SITE);
      const reader = await apiToken(env.base, READER.email, READER.password, SITE);
      const mk = (n) => apiStory(env.base, token, {
        site: SITE,
        url: allowedUrl(`/news/count-${n}-${unique()}.html`),
        headline: `Counted story ${n}`,
        standfirst: 'For the counts script.',
        body: 'Body.',
      });
      const two = await mk('two');
      const none = await mk('none');
      const one = await mk('one');
      await apiComment(env.base, reader, two.id, 'First of two');
      await apiComment(env.base, reader, two.id, 'Second of two');
      await apiComment(env.base, reader, one.id, 'The only one');
      const unknown = allowedUrl('/news/never-discussed.html');
      const rows = [[two, 2], [none, 0], [one, 1]].map(([s, n]) => ({ url: s.url, headline: s.headline, n }));
      rows.push({ url: unknown, headline: 'Not a Parley story', n: 0 });
      allowed.set('/news/index.html', `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>News</title></head>
<body><ul>
${rows.map((r, i) => `<li id="row${i}"><a href="${r.url}">${r.headline}</a> <span data-parley-count-url="${r.url}"></span></li>`).join('\n')}
</ul>
<script src="${env.base}/count.js" data-site="${SITE}" async></script>
</body></html>`);

      const page = await ctx.newPage();
      await page.goto(allowedUrl('/news/index.html'));
      const expected = ['2 comments', '0 comments', '1 comment', '0 comments'];
      for (let i = 0; i < rows.length; i += 1) {
        const span = page.locator(`#row${i} [data-parley-count-url]`);
        await page.waitForFunction((s) => /\d/.test(document.querySelector(s)?.textContent || ''), `#row${i} [data-parley-count-url]`);
        assert.equal((await span.innerText()).trim(), expected[i], `the count next to ${rows[i].url}`);
      }
      await page.close();
    }));
});
