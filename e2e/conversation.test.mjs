// The story page with JavaScript: the character counter, posting without reloading,
// inline replies nested with "Reply to NAME", reactions in place, edit, delete
// (tombstone), and another reader's comment arriving live behind "N new comments".

import assert from 'node:assert/strict';
import { describe, test, before, after } from 'node:test';
import {
  DEMO, TIMEOUT, useEnv, newContext, diagnose, demoStories, allComments, apiToken, apiComment,
  signIn, openStory, unique, field, sel, api, deleteComment,
} from './harness.mjs';

/** Marks the window, so a later check can tell the page was not reloaded. */
const mark = (page) => page.evaluate(() => { window.__notReloaded = true; });
const notReloaded = (page) => page.evaluate(() => window.__notReloaded === true);

describe('the conversation with JavaScript', () => {
  const env = useEnv({ before, after }, { name: 'conversation' });
  let stories;
  let ctx;
  let page;
  let other;

  before(async () => {
    stories = await demoStories(env.base);
    ctx = await newContext(env.browser);
    page = await ctx.newPage();
    await signIn(page, env.base, DEMO.reader.email);
  });
  after(async () => {
    await ctx?.close();
    await other?.close();
  });

  const guard = (label, fn) => diagnose(`js-${label}`, { contexts: () => [ctx, other], server: env.server }, fn);
  const slug = () => stories.weather.slug;
  let postedId;

  test('comment: the counter counts, and the comment appears without a reload', { timeout: TIMEOUT.test }, () =>
    guard('comment', async () => {
      await openStory(page, env.base, slug());
      await mark(page);
      const box = page.locator(sel.body);
      const counter = page.locator(`${sel.form} .char-count`);
      await box.click();
      await box.pressSequentially('Hello');
      await page.waitForFunction((s) => /\d/.test(document.querySelector(s)?.textContent || ''), `${sel.form} .char-count`);
      const before5 = await counter.innerText();
      const text = ` river ${unique()}`;
      await box.pressSequentially(text);
      await page.waitForFunction(
        ([s, old]) => (document.querySelector(s)?.textContent || '') !== old,
        [`${sel.form} .char-count`, before5],
      );
      const full = `Hello${text}`;
      await page.locator(`${sel.form} button[type="submit"]`).click();
      const article = page.locator('ol.comments article.comment', { has: page.locator('.comment-body', { hasText: full }) });
      await article.waitFor();
      assert.ok(await notReloaded(page), 'posting did not reload the page');
      postedId = Number(await article.getAttribute('data-comment-id'));
      assert.equal((await article.locator('.comment-author').innerText()).trim(), DEMO.reader.name);
      await page.waitForFunction((s) => document.querySelector(s).value === '', sel.body, { timeout: 5_000 })
        .catch(() => assert.fail('the box is emptied after posting'));
      const saved = (await allComments(env.base, stories.weather.id)).find((c) => c.id === postedId);
      assert.equal(saved?.body, full, 'the API has the comment');
      // The server renders it too.
      await page.reload();
      await page.locator(`ol.comments ${sel.comment(postedId)}`).waitFor();
      assert.deepEqual(ctx.pageErrors, [], 'no script errors');
    }));

  test('reply: the form opens inline; the reply appears nested with "Reply to NAME"', { timeout: TIMEOUT.test }, () =>
    guard('reply', async () => {
      const bill = await apiToken(env.base, DEMO.bill.email);
      const parent = await apiComment(env.base, bill, stories.weather.id, `Bill asks ${unique()}`);
      await openStory(page, env.base, slug());
      await mark(page);
      const thread = page.locator(`ol.comments ${sel.thread(parent.id)}`);
      await thread.locator(`${sel.comment(parent.id)} .reply-link`).click();
      const box = thread.locator('form textarea').first();
      await box.waitFor();
      assert.equal(new URL(page.url()).pathname, `/stories/${slug()}`, 'the reply form opened in the page');
      const text = `Inline reply ${unique()}`;
      await box.fill(text);
      await box.locator('xpath=ancestor::form[1]').locator('button[type="submit"]').click();
      const reply = thread.locator('ol.replies article.comment', { has: page.locator('.comment-body', { hasText: text }) });
      await reply.waitFor();
      assert.ok(await notReloaded(page), 'replying did not reload the page');
      assert.equal((await reply.locator('.reply-to').innerText()).trim(), `Reply to ${DEMO.bill.name}`);
      const replyId = Number(await reply.getAttribute('data-comment-id'));
      assert.equal(await reply.getAttribute('data-parent-id'), String(parent.id));
      // And after a reload, from the server.
      await page.reload();
      const nested = page.locator(`ol.comments ${sel.thread(parent.id)} ol.replies ${sel.comment(replyId)}`);
      await nested.waitFor();
      assert.equal((await nested.locator('.reply-to').innerText()).trim(), `Reply to ${DEMO.bill.name}`);
      assert.deepEqual(ctx.pageErrors, [], 'no script errors');
    }));

  test('react: the count and the pressed state update in place', { timeout: TIMEOUT.test }, () =>
    guard('react', async () => {
      const helen = await apiToken(env.base, DEMO.helen.email);
      const target = await apiComment(env.base, helen, stories.weather.id, `Helen notes ${unique()}`);
      await openStory(page, env.base, slug());
      await mark(page);
      const article = page.locator(`ol.comments ${sel.comment(target.id)}`);
      const button = article.locator('.react-button');
      assert.equal(await button.getAttribute('aria-pressed'), 'false');
      await button.click();
      await article.locator('.react-button[aria-pressed="true"]').waitFor();
      await page.waitForFunction((s) => document.querySelector(s)?.textContent.trim() === '1', `ol.comments #c${target.id} .reaction-count`);
      assert.ok(await notReloaded(page), 'reacting did not reload the page');
      const one = await api(env.base, 'GET', `/api/v1/comments/${target.id}`);
      assert.equal(one.body.comment.reaction_count, 1, 'the API counts the reaction');
      await button.click();
      await article.locator('.react-button[aria-pressed="false"]').waitFor();
      await page.waitForFunction((s) => /^0?$/.test(document.querySelector(s)?.textContent.trim() ?? ''), `ol.comments #c${target.id} .reaction-count`);
      assert.ok(await notReloaded(page), 'unreacting did not reload the page');
      const zero = await api(env.base, 'GET', `/api/v1/comments/${target.id}`);
      assert.equal(zero.body.comment.reaction_count, 0);
      assert.deepEqual(ctx.pageErrors, [], 'no script errors');
    }));

  test('edit: the author changes the comment within the window; it is marked edited', { timeout: TIMEOUT.test }, () =>
    guard('edit', async () => {
      assert.ok(postedId, 'needs the comment posted above');
      await openStory(page, env.base, slug());
      await page.locator(`ol.comments ${sel.comment(postedId)} .edit-link`).click();
      await page.waitForURL((u) => u.pathname === `/comments/${postedId}/edit`);
      const box = await field(page, ['body'], /comment|edit/i);
      const text = `Edited with JS on ${unique()}`;
      await box.fill(text);
      await box.locator('xpath=ancestor::form[1]').locator('button[type="submit"]').click();
      const article = page.locator(`ol.comments ${sel.comment(postedId)}`);
      await article.locator('.comment-body', { hasText: text }).waitFor();
      await article.locator('.edited').waitFor();
      const saved = (await api(env.base, 'GET', `/api/v1/comments/${postedId}`)).body.comment;
      assert.equal(saved.body, text);
      assert.equal(saved.edited, true);
    }));

  test('delete: a comment with a reply becomes a tombstone; one without leaves', { timeout: TIMEOUT.test }, () =>
    guard('delete', async () => {
      const reader = await apiToken(env.base, DEMO.reader.email);
      const withReply = await apiComment(env.base, reader, stories.weather.id, `Deleting this ${unique()}`);
      const lena = await apiToken(env.base, DEMO.lena.email);
      const answer = await apiComment(env.base, lena, stories.weather.id, `Lena answers ${unique()}`, withReply.id);
      const alone = await apiComment(env.base, reader, stories.weather.id, `And this ${unique()}`);

      for (const id of [withReply.id, alone.id]) {
        await openStory(page, env.base, slug());
        await deleteComment(page, id);
      }
      await openStory(page, env.base, slug());
      const tomb = page.locator(`ol.comments article.comment.comment-deleted${sel.comment(withReply.id)}`);
      await tomb.waitFor();
      assert.match(await tomb.innerText(), /This comment was deleted\./);
      assert.equal(await tomb.locator('.comment-author').count(), 0, 'no author on a tombstone');
      assert.equal(await tomb.locator('.comment-actions').count(), 0, 'no actions on a tombstone');
      assert.ok(!(await tomb.innerText()).includes('Deleting this'), 'the text is gone');
      await page.locator(`ol.comments ${sel.thread(withReply.id)} ${sel.comment(answer.id)}`).waitFor();
      const aloneShown = page.locator(`ol.comments ${sel.comment(alone.id)}`);
      assert.ok(
        (await aloneShown.count()) === 0 || (await aloneShown.getAttribute('class')).includes('comment-deleted'),
        'a deleted comment without replies is gone (or a tombstone)',
      );
    }));

  test("another reader's comment arrives live behind the 'N new comments' button", { timeout: TIMEOUT.test }, () =>
    guard('live', async () => {
      other = await newContext(env.browser);
      const kwame = await other.newPage();
      await signIn(kwame, env.base, DEMO.kwame.email);
      // The reader's page has its event stream open before the other reader posts.
      const stream = page.waitForResponse((r) => r.url().includes(`/api/v1/stories/${stories.weather.id}/events`), { timeout: TIMEOUT.action });
      await openStory(page, env.base, slug());
      await mark(page);
      await stream.catch(() => assert.fail('the story page did not open its event stream (data-events-url)'));
      await openStory(kwame, env.base, slug());

      const texts = [`Live one ${unique()}`, `Live two ${unique()}`];
      for (const text of texts) {
        await kwame.locator(sel.body).fill(text);
        await kwame.locator(`${sel.form} button[type="submit"]`).click();
        await kwame.locator('ol.comments .comment-body', { hasText: text }).waitFor();
      }
      const button = page.locator('button.new-comments');
      await button.waitFor({ timeout: 20_000 });
      await page.waitForFunction(() => /\b2 new comments\b/.test(document.querySelector('button.new-comments')?.textContent || ''), null, { timeout: 20_000 });
      assert.equal(await page.locator('ol.comments .comment-body', { hasText: texts[0] }).count(), 0, 'new comments wait behind the button');
      await button.click();
      for (const text of texts) {
        const article = page.locator('ol.comments article.comment', { has: page.locator('.comment-body', { hasText: text }) });
        await article.waitFor();
        assert.equal((await article.locator('.comment-author').innerText()).trim(), DEMO.kwame.name);
      }
      assert.ok(await notReloaded(page), 'showing new comments did not reload the page');
      await page.waitForFunction(() => {
        const b = document.querySelector('button.new-comments');
        return !b || b.hidden || b.offsetParent === null || !/[1-9] new comment/.test(b.textContent);
      });

      // A reply arrives the same way and lands under its parent.
      const kwameToken = await apiToken(env.base, DEMO.kwame.email);
      const parentId = await page.locator('ol.comments article.comment', { has: page.locator('.comment-body', { hasText: texts[0] }) }).getAttribute('data-comment-id');
      const replyText = `Live reply ${unique()}`;
      await apiComment(env.base, kwameToken, stories.weather.id, replyText, Number(parentId));
      await page.waitForFunction(() => /\b1 new comments?\b/.test(document.querySelector('button.new-comments')?.textContent || ''), null, { timeout: 20_000 });
      await button.click();
      await page.locator(`ol.comments ${sel.thread(parentId)} ol.replies .comment-body`, { hasText: replyText }).waitFor();
      assert.deepEqual(ctx.pageErrors, [], 'no script errors');
    }));

  test('a reply to a comment still waiting behind the button arrives with it', { timeout: TIMEOUT.test }, () =>
    guard('live-reply-to-waiting', async () => {
      const stream = page.waitForResponse((r) => r.url().includes(`/api/v1/stories/${stories.weather.id}/events`), { timeout: TIMEOUT.action });
      await openStory(page, env.base, slug());
      await stream.catch(() => assert.fail('the story page did not open its event stream'));
      const rosa = await apiToken(env.base, DEMO.rosa.email);
      const bill = await apiToken(env.base, DEMO.bill.email);
      const question = await apiComment(env.base, rosa, stories.weather.id, `Rosa asks live ${unique()}`);
      const answer = await apiComment(env.base, bill, stories.weather.id, `Bill answers live ${unique()}`, question.id);
      const button = page.locator('button.new-comments');
      await button.waitFor({ timeout: 20_000 });
      await page.waitForFunction(() => /\b2 new comments\b/.test(document.querySelector('button.new-comments')?.textContent || ''), null, { timeout: 10_000 })
        .catch(async () => assert.fail(`the button says "${await button.innerText()}" for a comment and a reply to it (expected "2 new comments")`));
      await button.click();
      await page.locator(`ol.comments ${sel.thread(question.id)}`).waitFor();
      await page.locator(`ol.comments ${sel.thread(question.id)} ol.replies ${sel.comment(answer.id)}`).waitFor();
    }));

  test('keyboard only: tab to the comment box, type, tab to the button (focus visible), press Enter', { timeout: TIMEOUT.test }, () =>
    guard('keyboard', async () => {
      await openStory(page, env.base, slug());
      await page.evaluate(() => document.activeElement?.blur());
      const focusIs = (s) => page.evaluate((q) => document.activeElement?.matches(q) ?? false, s);
      const tabTo = async (q, what) => {
        for (let i = 0; i < 120; i += 1) {
          await page.keyboard.press('Tab');
          if (await focusIs(q)) return;
        }
        assert.fail(`Tab never reached ${what}`);
      };
      await tabTo(sel.body, 'the comment box');
      const text = `Typed without a mouse ${unique()}`;
      await page.keyboard.type(text);
      await tabTo(`${sel.form} button[type="submit"]`, 'the Post comment button');
      const ring = await page.evaluate(() => {
        const cs = getComputedStyle(document.activeElement);
        return { outline: `${cs.outlineStyle} ${cs.outlineWidth}`, shadow: cs.boxShadow };
      });
      assert.ok(
        (ring.outline.split(' ')[0] !== 'none' && ring.outline.split(' ')[1] !== '0px') || ring.shadow !== 'none',
        `the focused button shows a focus ring (outline ${ring.outline}, box-shadow ${ring.shadow})`,
      );
      await page.keyboard.press('Enter');
      await page.locator('ol.comments .comment-body', { hasText: text }).waitFor();
    }));

  test("others' reactions, edits and deletions show in place, live", { timeout: TIMEOUT.test }, () =>
    guard('live-in-place', async () => {
      const helen = await apiToken(env.base, DEMO.helen.email);
      const lena = await apiToken(env.base, DEMO.lena.email);
      const edited = await apiComment(env.base, helen, stories.weather.id, `Helen first wrote ${unique()}`);
      const deleted = await apiComment(env.base, helen, stories.weather.id, `Helen regrets ${unique()}`);
      await apiComment(env.base, lena, stories.weather.id, `Lena keeps it alive ${unique()}`, deleted.id);
      const stream = page.waitForResponse((r) => r.url().includes(`/api/v1/stories/${stories.weather.id}/events`), { timeout: TIMEOUT.action });
      await openStory(page, env.base, slug());
      await stream.catch(() => assert.fail('the story page did not open its event stream'));
      await mark(page);

      const liked = await api(env.base, 'POST', `/api/v1/comments/${edited.id}/reactions`, { token: lena });
      assert.ok(liked.status < 300, `Lena's reaction: ${liked.status}`);
      await page.waitForFunction((s) => document.querySelector(s)?.textContent.trim() === '1', `ol.comments #c${edited.id} .reaction-count`, { timeout: 20_000 });

      const text = `Helen corrected it ${unique()}`;
      const patch = await api(env.base, 'PATCH', `/api/v1/comments/${edited.id}`, { token: helen, body: { body: text } });
      assert.equal(patch.status, 200);
      await page.locator(`ol.comments ${sel.comment(edited.id)} .comment-body`, { hasText: text }).waitFor({ timeout: 20_000 });
      await page.locator(`ol.comments ${sel.comment(edited.id)} .edited`).waitFor();

      const del = await api(env.base, 'DELETE', `/api/v1/comments/${deleted.id}`, { token: helen });
      assert.ok(del.status < 300, `delete: ${del.status}`);
      await page.locator(`ol.comments article.comment-deleted${sel.comment(deleted.id)}`).waitFor({ timeout: 20_000 });
      assert.ok(await notReloaded(page), 'all of it without a reload');
      assert.deepEqual(ctx.pageErrors, [], 'no script errors');
    }));
});
