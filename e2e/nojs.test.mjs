// The reader pages with JavaScript disabled: the server-rendered story page shows the
// whole demo conversation, and every action works with plain links and forms
// (POST-redirect-GET): sign in, comment, reply, react, edit, delete.

import assert from 'node:assert/strict';
import { describe, test, before, after } from 'node:test';
import {
  DEMO, TIMEOUT, useEnv, newContext, diagnose, demoStories, allComments, apiToken, apiComment,
  signIn, openStory, unique, api, field, sel, deleteComment,
} from './harness.mjs';

describe('pages without JavaScript', () => {
  const env = useEnv({ before, after }, { name: 'nojs' });
  let stories;
  let ctx;
  let page;

  before(async () => {
    stories = await demoStories(env.base);
    ctx = await newContext(env.browser, { javaScriptEnabled: false });
    page = await ctx.newPage();
  });
  after(async () => ctx?.close());

  const guard = (label, fn) => diagnose(`nojs-${label}`, { contexts: () => [ctx], server: env.server }, fn);

  test('the front page lists the stories with their comment counts', { timeout: TIMEOUT.test }, () =>
    guard('front', async () => {
      await page.goto(`${env.base}/`);
      for (const story of [stories.main, stories.library, stories.weather]) {
        const link = page.locator(`a[href$="/stories/${story.slug}"]`).first();
        await link.waitFor();
        assert.match(await link.innerText(), /\S/, `the link to ${story.slug} has text`);
      }
      const text = await page.locator('body').innerText();
      assert.ok(text.includes(String(stories.main.comment_count)), `the front page shows the main story's ${stories.main.comment_count} comments`);
    }));

  test('the story page shows the article: headline, standfirst, date, picture, body', { timeout: TIMEOUT.test }, () =>
    guard('article', async () => {
      const res = await page.goto(`${env.base}/stories/${stories.main.slug}`);
      assert.equal(res.status(), 200);
      assert.equal(await page.locator('html').getAttribute('lang') !== null, true, '<html lang> is set');
      const article = page.locator('article').first();
      assert.equal((await page.locator('h1').first().innerText()).trim(), stories.main.headline);
      assert.ok((await article.innerText()).includes(stories.main.standfirst.slice(0, 60)), 'the standfirst is shown');
      const time = page.locator('time', { hasText: '3 September 2026' }).first();
      await time.waitFor();
      assert.match(await time.getAttribute('datetime'), /^2026-09-03/);
      const figure = page.locator('figure', { has: page.locator('img') }).first();
      await figure.waitFor();
      const caption = await figure.locator('figcaption').innerText();
      assert.ok(caption.includes('Riverside Road at Mill Bridge'), `caption: ${caption}`);
      assert.ok(caption.includes('COURIER PHOTO DESK'), `credit in caption: ${caption}`);
      assert.ok((await figure.locator('img').getAttribute('alt')) !== null, 'the picture has an alt attribute');
      await page.locator('h2', { hasText: 'What the trial will change' }).waitFor();
      await page.locator('h2', { hasText: 'What happens next' }).waitFor();
    }));

  test('the story page shows the conversation as the contract describes', { timeout: TIMEOUT.test }, () =>
    guard('conversation', async () => {
      await openStory(page, env.base, stories.main.slug);
      const conv = page.locator(sel.conversation);
      assert.equal(await conv.getAttribute('data-story-id'), String(stories.main.id));
      assert.equal(await conv.getAttribute('data-story-slug'), stories.main.slug);
      assert.equal(await conv.getAttribute('data-events-url'), `/api/v1/stories/${stories.main.id}/events`);
      assert.equal((await conv.locator('.comment-count').first().innerText()).trim(), String(stories.main.comment_count));

      // Signed out: a prompt with sign-in and register links instead of the box.
      assert.equal(await page.locator(sel.form).count(), 0, 'no comment box when signed out');
      const prompt = conv.locator('.signin-prompt');
      await prompt.waitFor();
      assert.ok((await prompt.locator('a[href^="/signin"]').count()) >= 1, 'the prompt links to /signin');
      assert.ok((await prompt.locator('a[href^="/register"]').count()) >= 1, 'the prompt links to /register');

      // Selected comments first, with their replies.
      const featured = (await api(env.base, 'GET', `/api/v1/stories/${stories.main.id}/featured`)).body;
      const featuredIds = (featured.comments || featured.featured || []).map((t) => (t.comment || t).id);
      const shownFeatured = await conv.locator('.selected-comments .featured-list > li > article.comment')
        .evaluateAll((els) => els.map((e) => Number(e.dataset.commentId)));
      assert.deepEqual(shownFeatured.sort(), featuredIds.sort(), 'the selected comments are the featured ones');

      // Then the numbered top-level comments, in the API's order for the same sort.
      const ol = conv.locator('ol.comments').first();
      assert.equal(await ol.getAttribute('start'), '1');
      const apiPage = (await api(env.base, 'GET', `/api/v1/stories/${stories.main.id}/comments`)).body;
      const topIds = await ol.locator(':scope > li.thread > article.comment').evaluateAll((els) => els.map((e) => Number(e.dataset.commentId)));
      assert.deepEqual(topIds, apiPage.comments.map((t) => t.id), 'top-level comments in the API order');

      // Nested replies marked "Reply to NAME".
      const all = await allComments(env.base, stories.main.id);
      const kwamePath = all.find((c) => c.body.startsWith('Fair point about 8:15'));
      const reply = ol.locator(`li#t${kwamePath.id}`);
      assert.ok((await page.locator(`li#t${kwamePath.parent_id} ol.replies li#t${kwamePath.id}`).count()) >= 1, 'the reply is nested under its parent');
      assert.equal((await reply.locator(`#c${kwamePath.id} .reply-to`).innerText()).trim(), 'Reply to Ferryman Bill');

      // Reactions with counts.
      const criteria = all.find((c) => c.body.includes('what would count as failure'));
      assert.equal((await ol.locator(`#c${criteria.id} .reaction-count`).innerText()).trim(), String(criteria.reaction_count));

      // A tombstone that keeps its reply; the edited mark; the staff badge; quotations.
      const tomb = ol.locator('article.comment.comment-deleted').first();
      await tomb.waitFor();
      assert.match(await tomb.innerText(), /This comment was deleted\./);
      assert.equal(await tomb.locator('.comment-author').count(), 0, 'a tombstone has no author');
      assert.equal(await tomb.locator('.comment-actions').count(), 0, 'a tombstone has no actions');
      const air = all.find((c) => c.edited);
      await ol.locator(`#c${air.id} .edited`).waitFor();
      const mayaBus = all.find((c) => c.body.startsWith('Good question, Rosa'));
      await ol.locator(`#c${mayaBus.id} .staff-badge`).waitFor();
      assert.ok((await ol.locator('.comment-body blockquote').count()) >= 1, 'quoted text renders as a blockquote');

      // Sort switcher.
      await conv.locator('nav.sort-switcher a[aria-current="page"]').waitFor();
    }));

  test('the sort switcher reorders the comments', { timeout: TIMEOUT.test }, () =>
    guard('sort', async () => {
      await openStory(page, env.base, stories.main.slug);
      const nav = page.locator('nav.sort-switcher');
      const link = nav.locator('a[href*="sort=most_reactions"]').first();
      await link.click();
      await page.waitForURL(/sort=most_reactions/);
      const apiPage = (await api(env.base, 'GET', `/api/v1/stories/${stories.main.id}/comments?sort=most_reactions`)).body;
      const topIds = await page.locator('ol.comments > li.thread > article.comment').evaluateAll((els) => els.map((e) => Number(e.dataset.commentId)));
      assert.deepEqual(topIds, apiPage.comments.map((t) => t.id));
      assert.match(await nav.locator('a[aria-current="page"]').getAttribute('href'), /most_reactions/);
    }));

  test('a closed story shows its notice instead of the comment box', { timeout: TIMEOUT.test }, () =>
    guard('closed', async () => {
      await openStory(page, env.base, stories.library.slug);
      const notice = page.locator('#conversation .notice-closed');
      await notice.waitFor();
      assert.match(await notice.innerText(), /closed/i);
      assert.equal(await page.locator(sel.form).count(), 0);
      assert.ok((await page.locator('ol.comments article.comment').count()) > 0, 'its comments still show');
      assert.equal(await page.locator('ol.comments .reply-link').count(), 0, 'no reply links on a closed story');
    }));

  // From here on, signed in as the demo reader.

  test('sign in with the plain form', { timeout: TIMEOUT.test }, () =>
    guard('signin', async () => {
      await signIn(page, env.base, DEMO.reader.email, DEMO.password, `/stories/${stories.weather.slug}`);
      assert.equal(new URL(page.url()).pathname, `/stories/${stories.weather.slug}`, '?next= brings the reader back');
      await page.locator(sel.form).waitFor();
      assert.equal(await page.locator(sel.conversation).getAttribute('data-signed-in'), 'true');
    }));

  let commentId;

  test('post a comment with the plain form (POST-redirect-GET)', { timeout: TIMEOUT.test }, () =>
    guard('comment', async () => {
      const text = `No-JS comment ${unique()}`;
      await openStory(page, env.base, stories.weather.slug);
      await page.locator(sel.body).fill(text);
      await page.locator(`${sel.form} button[type="submit"]`).click();
      await page.waitForURL((u) => u.pathname === `/stories/${stories.weather.slug}` && /^#c\d+$/.test(u.hash));
      commentId = Number(new URL(page.url()).hash.slice(2));
      const article = page.locator(sel.comment(commentId));
      assert.match(await article.locator('.comment-body').innerText(), new RegExp(text));
      assert.equal((await article.locator('.comment-author').innerText()).trim(), DEMO.reader.name);
      const comments = await allComments(env.base, stories.weather.id);
      assert.ok(comments.some((c) => c.id === commentId && c.body === text), 'the API has the comment');
    }));

  test('reply with the reply page; the reply is nested with "Reply to NAME"', { timeout: TIMEOUT.test }, () =>
    guard('reply', async () => {
      const bill = await apiToken(env.base, DEMO.bill.email);
      const parent = await apiComment(env.base, bill, stories.weather.id, `Bill says ${unique()}`);
      await openStory(page, env.base, stories.weather.slug);
      await page.locator(`${sel.comment(parent.id)} .reply-link`).click();
      await page.waitForURL((u) => u.pathname === `/comments/${parent.id}/reply`);
      const text = `No-JS reply ${unique()}`;
      const box = await field(page, ['body'], /comment|reply/i);
      await box.fill(text);
      await box.locator('xpath=ancestor::form[1]').locator('button[type="submit"]').click();
      await page.waitForURL((u) => u.pathname === `/stories/${stories.weather.slug}` && /^#c\d+$/.test(u.hash));
      const replyId = Number(new URL(page.url()).hash.slice(2));
      const nested = page.locator(`${sel.thread(parent.id)} ol.replies ${sel.comment(replyId)}`);
      await nested.waitFor();
      assert.match(await nested.locator('.comment-body').innerText(), new RegExp(text));
      assert.equal((await nested.locator('.reply-to').innerText()).trim(), `Reply to ${DEMO.bill.name}`);
    }));

  test('react and unreact with the plain form', { timeout: TIMEOUT.test }, () =>
    guard('react', async () => {
      const kwame = await apiToken(env.base, DEMO.kwame.email);
      const target = await apiComment(env.base, kwame, stories.weather.id, `Kwame says ${unique()}`);
      await openStory(page, env.base, stories.weather.slug);
      const button = () => page.locator(`${sel.comment(target.id)} .react-button`);
      assert.equal(await button().getAttribute('aria-pressed'), 'false');
      await button().click();
      await page.waitForURL((u) => u.pathname === `/stories/${stories.weather.slug}`);
      await page.locator(`${sel.comment(target.id)} .react-button[aria-pressed="true"]`).waitFor();
      assert.equal((await page.locator(`${sel.comment(target.id)} .reaction-count`).innerText()).trim(), '1');
      assert.equal(
        await page.locator(`${sel.comment(target.id)} form.react-form`).getAttribute('action'),
        `/comments/${target.id}/unreact`,
      );
      await button().click();
      await page.locator(`${sel.comment(target.id)} .react-button[aria-pressed="false"]`).waitFor();
      assert.match((await page.locator(`${sel.comment(target.id)} .reaction-count`).innerText()).trim(), /^0?$/);
    }));

  test('edit a comment with the edit page; it is marked edited', { timeout: TIMEOUT.test }, () =>
    guard('edit', async () => {
      assert.ok(commentId, 'needs the comment posted above');
      await openStory(page, env.base, stories.weather.slug);
      await page.locator(`${sel.comment(commentId)} .edit-link`).click();
      await page.waitForURL((u) => u.pathname === `/comments/${commentId}/edit`);
      const text = `Edited without JS ${unique()}`;
      const box = await field(page, ['body'], /comment|edit/i);
      await box.fill(text);
      await box.locator('xpath=ancestor::form[1]').locator('button[type="submit"]').click();
      await page.waitForURL((u) => u.pathname === `/stories/${stories.weather.slug}`);
      const article = page.locator(sel.comment(commentId));
      assert.match(await article.locator('.comment-body').innerText(), new RegExp(text));
      await article.locator('.edited').waitFor();
    }));

  test('delete a comment that has a reply: it leaves a tombstone', { timeout: TIMEOUT.test }, () =>
    guard('delete', async () => {
      const reader = await apiToken(env.base, DEMO.reader.email);
      const mine = await apiComment(env.base, reader, stories.weather.id, `To be deleted ${unique()}`);
      const rosa = await apiToken(env.base, DEMO.rosa.email);
      const answer = await apiComment(env.base, rosa, stories.weather.id, `Rosa answers ${unique()}`, mine.id);
      await openStory(page, env.base, stories.weather.slug);
      const form = page.locator(`ol.comments ${sel.comment(mine.id)} form.delete-form`);
      assert.equal(await form.getAttribute('action'), `/comments/${mine.id}/delete`);
      assert.equal(await deleteComment(page, mine.id), 'tomb');
      const tomb = page.locator(`article.comment.comment-deleted${sel.comment(mine.id)}`);
      await tomb.waitFor();
      assert.match(await tomb.innerText(), /This comment was deleted\./);
      assert.equal(await tomb.locator('.comment-author').count(), 0);
      await page.locator(`${sel.thread(mine.id)} ${sel.comment(answer.id)}`).waitFor();
    }));

  test('report a comment with the report form', { timeout: TIMEOUT.test }, () =>
    guard('report', async () => {
      const bill = await apiToken(env.base, DEMO.bill.email);
      const target = await apiComment(env.base, bill, stories.weather.id, `Something reportable ${unique()}`);
      await openStory(page, env.base, stories.weather.slug);
      await page.locator(`ol.comments ${sel.comment(target.id)} .report-link`).click();
      await page.waitForURL((u) => u.pathname === `/comments/${target.id}/report`);
      await page.getByLabel(/why/i).selectOption('off_topic');
      await page.locator('form.report-form textarea').fill('Not about the weather at all.');
      await page.locator('form.report-form button[type="submit"]').click();
      await page.waitForURL((u) => u.pathname === `/stories/${stories.weather.slug}`);
      const notice = page.locator('#conversation [role="status"], #conversation .notice').first();
      await notice.waitFor();
      assert.match(await notice.innerText(), /report/i);
    }));
});
