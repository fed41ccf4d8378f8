// "More comments" and "more replies" with plain links (JavaScript disabled), on a server
// with small pages (5 top-level comments, 2 replies per thread) so the demo
// conversation spans several pages.

import assert from 'node:assert/strict';
import { describe, test, before, after } from 'node:test';
import { TIMEOUT, useEnv, newContext, diagnose, demoStories, api, openStory } from './harness.mjs';

describe('paging through the conversation', () => {
  const env = useEnv({ before, after }, { name: 'paging', parley: { args: ['--page-size', '5', '--replies-per-comment', '2'] } });
  let stories;
  let ctx;
  let page;

  before(async () => {
    stories = await demoStories(env.base);
    ctx = await newContext(env.browser, { javaScriptEnabled: false });
    page = await ctx.newPage();
  });
  after(async () => ctx?.close());

  const guard = (label, fn) => diagnose(`paging-${label}`, { contexts: () => [ctx], server: env.server }, fn);
  const topIds = () => page.locator('ol.comments > li.thread > article.comment').evaluateAll((els) => els.map((e) => Number(e.dataset.commentId)));

  test('"More comments" continues the numbering on the next page', { timeout: TIMEOUT.test }, () =>
    guard('more-comments', async () => {
      const first = (await api(env.base, 'GET', `/api/v1/stories/${stories.main.id}/comments`)).body;
      const second = (await api(env.base, 'GET', `/api/v1/stories/${stories.main.id}/comments?cursor=${encodeURIComponent(first.next_cursor)}`)).body;
      await openStory(page, env.base, stories.main.slug);
      assert.deepEqual(await topIds(), first.comments.map((t) => t.id), 'page 1 as the API has it');
      assert.equal(await page.locator('ol.comments').first().getAttribute('start'), '1');
      await page.locator('a.more-comments').click();
      await page.waitForURL(/cursor=/);
      assert.equal(new URL(page.url()).searchParams.get('from'), '6');
      assert.equal(await page.locator('ol.comments').first().getAttribute('start'), '6', 'numbering continues at 6');
      assert.deepEqual(await topIds(), second.comments.map((t) => t.id), 'page 2 as the API has it');
    }));

  test('"More replies" leads to the whole thread', { timeout: TIMEOUT.test }, () =>
    guard('more-replies', async () => {
      const first = (await api(env.base, 'GET', `/api/v1/stories/${stories.main.id}/comments?limit=100`)).body;
      const cut = first.comments.find((t) => t.more_replies);
      assert.ok(cut, 'the demo has a thread with more replies than shown');
      const all = (await api(env.base, 'GET', `/api/v1/comments/${cut.id}/replies?limit=100`)).body;
      const replyIds = (all.replies || all.comments || []).map((r) => (r.comment || r).id);
      assert.ok(replyIds.length > 2);

      // Find the page that shows the thread.
      let query = '';
      for (let i = 0; i < 10; i += 1) {
        await openStory(page, env.base, stories.main.slug, query);
        if (await page.locator(`ol.comments > li#t${cut.id}`).count()) break;
        const more = page.locator('a.more-comments');
        assert.ok(await more.count(), `thread ${cut.id} not found on any page`);
        query = new URL(await more.getAttribute('href'), env.base).search;
      }
      const thread = page.locator(`ol.comments > li#t${cut.id}`);
      const count = (ts) => ts.reduce((n, t) => n + 1 + count(t.replies || []), 0);
      const shownIds = await thread.locator('ol.replies article.comment').evaluateAll((els) => els.map((e) => Number(e.dataset.commentId)));
      assert.equal(shownIds.length, count(cut.replies), 'the first replies, as the API has them');
      await thread.locator('a.more-replies').click();
      await page.waitForURL((u) => u.pathname === `/comments/${cut.id}/thread`);
      // The thread page goes on where the story page stopped (and may show the rest too).
      const rest = replyIds.filter((id) => !shownIds.includes(id));
      assert.ok(rest.length > 0);
      for (const id of rest) await page.locator(`article.comment#c${id}`).waitFor();
    }));
});
