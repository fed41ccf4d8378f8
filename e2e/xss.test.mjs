// Script injection: comment bodies, display names and story fields carrying the
// classic XSS payloads render inert on every page that shows them, whether the server
// rendered them or the scripts inserted them (posting, live updates). A trap records
// any payload that runs (window.__xss, alert/confirm/prompt dialogs), and no element
// may carry an on* attribute or a javascript: URL from the payloads.

import assert from 'node:assert/strict';
import { describe, test, before, after } from 'node:test';
import {
  DEMO, TIMEOUT, useEnv, newContext, diagnose, apiToken, apiRegister, apiComment, apiStory,
  register, openStory, unique, sel, sleep,
} from './harness.mjs';

// Each payload, if it ran, would set window.__xss or open a dialog.
const COMMENT_PAYLOADS = [
  '<script>window.__xss="c1"</script>',
  '<img src=x onerror="window.__xss=\'c2\'">',
  '<svg onload="window.__xss=\'c3\'"><script>window.__xss="c3b"</script></svg>',
  '<a href="javascript:window.__xss=\'c4\'">click me</a>',
  '[markdown link](javascript:window.__xss=\'c5\')',
  '<iframe src="javascript:top.__xss=\'c6\'"></iframe><iframe srcdoc="<script>top.__xss=\'c6b\'</script>"></iframe>',
  '"><img src=x onerror=window.__xss=\'c7\'>',
  '</textarea><script>window.__xss="c8"</script><textarea>',
  '<details open ontoggle="window.__xss=\'c9\'">toggle</details>',
  '<math><mtext><table><mglyph><style><img src=x onerror="window.__xss=\'c10\'">',
  '<scr<script>ipt>window.__xss="c11"</scr</script>ipt>',
  '![picture](x" onerror="window.__xss=\'c12\')',
  '<IMG SRC="jav&#x09;ascript:window.__xss=\'c13\'"><a href="&#106;avascript:window.__xss=\'c13b\'">entity</a>',
  '<form action="javascript:window.__xss=\'c14\'"><button formaction="javascript:window.__xss=\'c14b\'">go</button></form>',
  '<body onload="window.__xss=\'c15\'"><object data="javascript:window.__xss=\'c15b\'"></object><embed src="javascript:window.__xss=\'c15c\'">',
  '<img src=x onerror=alert("c16")><svg><animate onbegin=alert("c16b") attributeName=x dur=1s>',
  '<noscript><p title="</noscript><img src=x onerror=window.__xss=\'c17\'>">',
  '<a href="data:text/html,<script>alert(\'c18\')</script>">data link</a><style>*{background:url("javascript:window.__xss=\'c18b\'")}</style>',
  '<input autofocus onfocus="window.__xss=\'c19\'"><video><source onerror="window.__xss=\'c19b\'"></video>',
  '{{constructor.constructor("window.__xss=\'c20\'")()}} ${window.__xss="c20b"} <% window.__xss="c20c" %>',
];

// Display names: at most 40 characters.
const NAME_BY_PAGE = '<img src=x onerror=alert("n1")>';
const NAME_BY_API = '"><svg/onload=window.__xss="n2">';

const STORY = {
  headline: 'Payload <script>window.__xss="h1"</script> & "quotes" </title><img src=x onerror=window.__xss="h2">',
  standfirst: '<img src=x onerror="window.__xss=\'s1\'"><svg/onload=window.__xss="s2"> "standfirst" </p><script>window.__xss="s3"</script>',
  body: [
    'A plain paragraph first.',
    '<script>window.__xss="b1"</script>',
    '<img src=x onerror="window.__xss=\'b2\'">',
    '[click](javascript:window.__xss=\'b3\')',
    '<a href="javascript:window.__xss=\'b4\'">raw link</a>',
    '<div onmouseover="window.__xss=\'b5\'">hover</div>',
    '<iframe srcdoc="<script>top.__xss=\'b6\'</script>"></iframe>',
    '![img](x" onerror="window.__xss=\'b7\')',
    '## Heading <img src=x onerror=window.__xss="b8">',
  ].join('\n\n'),
  picture_url: 'https://pictures.example/a.jpg"onerror="window.__xss=\'p1\'"x="',
  picture_caption: '<iframe src="javascript:top.__xss=\'p2\'"></iframe> caption "quoted"',
  picture_credit: '"><script>window.__xss="p3"</script>',
};

/** Records any payload that runs: window.__xss assignments in any frame. */
async function arm(ctx) {
  ctx.xssHits = [];
  await ctx.exposeBinding('__xssReport', ({ frame }, value) => {
    ctx.xssHits.push(`${value} (in ${frame.url()})`);
  });
  await ctx.addInitScript(() => {
    Object.defineProperty(window, '__xss', {
      configurable: false,
      get: () => undefined,
      set: (v) => {
        try {
          window.__xssReport(String(v));
        } catch {
          (top.__xssReport || (() => {}))(String(v));
        }
      },
    });
  });
}

/**
 * What the payloads would leave in the DOM: on* attributes anywhere (the
 * article and conversation must have none at all), javascript: URLs, script elements
 * with payload text, embedded frames in comments or the article body.
 */
async function leftovers(page) {
  return page.evaluate(() => {
    const found = [];
    const describe = (el) => `<${el.tagName.toLowerCase()}${el.id ? ` id=${el.id}` : ''}${el.className && typeof el.className === 'string' ? ` class="${el.className}"` : ''}>`;
    const marker = /__xss|alert|confirm|prompt/i;
    const strict = (el) => el.closest('article, #conversation, main, .comment, header, figure');
    for (const el of document.querySelectorAll('*')) {
      for (const attr of el.attributes) {
        const name = attr.name.toLowerCase();
        if (name.startsWith('on') && (strict(el) || marker.test(attr.value))) {
          found.push(`${describe(el)} has ${attr.name}="${attr.value}"`);
        }
        if (['href', 'src', 'action', 'formaction', 'data', 'xlink:href', 'srcdoc', 'poster', 'background'].includes(name)) {
          const v = attr.value.replace(/[\s\u0000-\u001f]+/g, '').toLowerCase();
          if (v.startsWith('javascript:') || v.startsWith('data:text/html') || (name === 'srcdoc' && marker.test(attr.value))) {
            found.push(`${describe(el)} has ${attr.name}="${attr.value}"`);
          }
        }
      }
      if (el.tagName === 'SCRIPT' && marker.test(el.textContent)) found.push(`a <script> holding "${el.textContent.slice(0, 80)}"`);
      if (['IFRAME', 'OBJECT', 'EMBED', 'FRAME'].includes(el.tagName) && el.closest('.comment-body, article')) {
        found.push(`${describe(el)} inside ${el.closest('.comment-body') ? 'a comment' : 'the article'}`);
      }
      if (el.tagName === 'STYLE' && el.closest('.comment-body, article')) found.push('a <style> element in the content');
    }
    return found;
  });
}

/** Waits for the page and its images to settle, so that failing images have fired. */
async function settle(page) {
  await page.waitForLoadState('load');
  await page.waitForFunction(() => [...document.images].every((i) => i.complete), null, { timeout: TIMEOUT.action }).catch(() => {});
  await sleep(300);
}

describe('script injection renders inert', () => {
  const env = useEnv({ before, after }, { name: 'xss' });
  let story;
  let byApi; // the second payload-named reader
  const commentIds = [];
  const contexts = [];

  before(async () => {
    const staff = await apiToken(env.base, DEMO.staff.email);
    story = await apiStory(env.base, staff, { url: `https://courier.example/xss/${unique()}"><script>window.__xss="u1"</script>`, ...STORY });
    const reg = await apiRegister(env.base, { email: `${unique('n2')}@example.test`, name: NAME_BY_API });
    byApi = { token: reg.token, user: reg.user };
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
  });

  async function armedContext(options = {}) {
    const ctx = await newContext(env.browser, options);
    await arm(ctx);
    contexts.push(ctx);
    return ctx;
  }
  const guard = (label, fn) => diagnose(`xss-${label}`, { contexts: () => contexts, server: env.server }, fn);

  function assertInert(ctx, found, where) {
    assert.deepEqual(ctx.xssHits, [], `payloads ran on ${where}`);
    assert.deepEqual(ctx.dialogs.map((d) => `${d.type}: ${d.message}`), [], `dialogs opened on ${where}`);
    assert.deepEqual(found, [], `dangerous markup survived on ${where}`);
  }

  test('register with a payload display name, post payload comments with the scripts, watch them arrive live', { timeout: 240_000 }, () =>
    guard('post', async () => {
      const viewerCtx = await armedContext();
      const viewer = await viewerCtx.newPage();
      const stream = viewer.waitForResponse((r) => r.url().includes(`/api/v1/stories/${story.id}/events`)).catch(() => null);
      await openStory(viewer, env.base, story.slug);
      await stream;

      const authorCtx = await armedContext();
      const author = await authorCtx.newPage();
      await register(author, env.base, { email: `${unique('n1')}@example.test`, name: NAME_BY_PAGE }, `/stories/${story.slug}`);
      await openStory(author, env.base, story.slug);

      // The first few through the page's own form (posting without reload inserts the
      // server's fragment), the rest over the API.
      const viaPage = COMMENT_PAYLOADS.slice(0, 4);
      for (const [i, payload] of viaPage.entries()) {
        const text = `xss-page-${i} ${payload}`;
        await author.locator(sel.body).fill(text);
        await author.locator(`${sel.form} button[type="submit"]`).click();
        await author.locator(`ol.comments article.comment .comment-body`, { hasText: `xss-page-${i}` }).waitFor();
      }
      for (const [i, payload] of COMMENT_PAYLOADS.slice(4).entries()) {
        const c = await apiComment(env.base, byApi.token, story.id, `xss-api-${i} ${payload}`);
        commentIds.push(c.id);
      }
      await settle(author);
      assertInert(authorCtx, await leftovers(author), 'the story page of the author (comments inserted by the scripts)');

      // The viewer shows everything that arrived live, behind the button.
      const button = viewer.locator('button.new-comments');
      const showAll = async (total) => {
        const deadline = Date.now() + 30_000;
        let shown = 0;
        while (Date.now() < deadline) {
          if (await button.isVisible()) await button.click().catch(() => {});
          shown = await viewer.locator('ol.comments .comment-body', { hasText: /xss-(page|api|reply)/ }).count();
          if (shown >= total) break;
          await sleep(250);
        }
        assert.equal(shown, total, 'every payload comment arrived live');
      };
      await button.waitFor({ timeout: 30_000 });
      await showAll(COMMENT_PAYLOADS.length);

      // A reply, so "Reply to NAME" shows a payload name.
      const firstId = Number(await author.locator('ol.comments article.comment', { has: author.locator('.comment-body', { hasText: 'xss-page-0' }) }).getAttribute('data-comment-id'));
      commentIds.push(firstId);
      const reply = await apiComment(env.base, byApi.token, story.id, `xss-reply ${COMMENT_PAYLOADS[1]}`, firstId);
      commentIds.push(reply.id);

      await showAll(COMMENT_PAYLOADS.length + 1);
      await settle(viewer);
      assertInert(viewerCtx, await leftovers(viewer), 'the story page of a viewer (comments arrived live)');
    }));

  test('the server-rendered pages are inert: story (signed out and as the author), front page', { timeout: TIMEOUT.test }, () =>
    guard('pages', async () => {
      const ctx = await armedContext();
      const page = await ctx.newPage();
      await openStory(page, env.base, story.slug);
      await settle(page);
      assertInert(ctx, await leftovers(page), 'the story page');

      // The payloads show as text, not markup.
      assert.ok((await page.locator('h1').first().innerText()).includes('<script>window.__xss="h1"</script>'), 'the headline shows its text literally');
      assert.ok((await page.title()).includes('Payload <script>'), 'the title shows the headline literally');
      const names = await page.locator('ol.comments .comment-author').allInnerTexts();
      assert.ok(names.some((n) => n.includes(NAME_BY_API)), `the payload name shows as text (${names.slice(0, 3).join(' | ')})`);
      const replyTo = await page.locator('ol.comments .reply-to').allInnerTexts();
      assert.ok(replyTo.some((t) => t.includes(`Reply to ${NAME_BY_PAGE}`)), `"Reply to NAME" shows the payload name as text (${replyTo.join(' | ')})`);

      await page.goto(`${env.base}/`);
      await settle(page);
      assertInert(ctx, await leftovers(page), 'the front page');

      // As the payload-named author, with edit links and the comment box.
      const authorCtx = await armedContext();
      const author = await authorCtx.newPage();
      const email = `${unique('n3')}@example.test`;
      await register(author, env.base, { email, name: '<svg onload=alert("n3")>' }, `/stories/${story.slug}`);
      await openStory(author, env.base, story.slug);
      await settle(author);
      assertInert(authorCtx, await leftovers(author), 'the story page as a signed-in reader');
    }));

  test('the reply, edit, thread and fragment pages are inert', { timeout: TIMEOUT.test }, () =>
    guard('subpages', async () => {
      assert.ok(commentIds.length > 0, 'needs the comments posted above');
      const ctx = await armedContext();
      const page = await ctx.newPage();
      // Signed in (the session cookie holds the same token) as the author of the
      // API-posted payloads, so that their edit pages show.
      await ctx.addCookies([{ name: 'parley_session', value: byApi.token, url: env.base }]);
      const paths = [];
      for (const id of commentIds.slice(0, 8)) {
        paths.push(`/comments/${id}/reply`, `/comments/${id}/edit`, `/comments/${id}/fragment`, `/comments/${id}/report`);
      }
      paths.push(`/comments/${commentIds[commentIds.length - 2]}/thread`);
      for (const p of paths) {
        const res = await page.goto(`${env.base}${p}`);
        await settle(page);
        assertInert(ctx, await leftovers(page), `${p} (status ${res.status()})`);
      }
      // The edit page keeps the source in its textarea, as text.
      const editId = commentIds.find((id, i) => COMMENT_PAYLOADS.slice(4)[i]?.includes('</textarea>'));
      if (editId) {
        await page.goto(`${env.base}/comments/${editId}/edit`);
        const value = await page.locator('textarea').first().inputValue();
        assert.ok(value.includes('</textarea><script>'), 'the edit box holds the payload as text');
      }
    }));

  test('the embed page is inert', { timeout: TIMEOUT.test }, () =>
    guard('embed', async () => {
      const ctx = await armedContext();
      const page = await ctx.newPage();
      const res = await page.goto(`${env.base}/embed?site=${DEMO.site}&url=${encodeURIComponent(story.url)}&title=x`);
      await settle(page);
      assertInert(ctx, await leftovers(page), `/embed (status ${res.status()})`);
    }));
});
