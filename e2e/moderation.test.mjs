// The moderators' queue in a browser: approving a held comment puts it on the story page
// for readers, rejecting takes one off, featuring puts one in the selected block; the
// queue updates live when a reader's comment is held or another moderator decides; the
// keyboard shortcuts work; and axe-core finds no serious violations on the pages.

import assert from 'node:assert/strict';
import { describe, test, before, after } from 'node:test';
import {
  DEMO, TIMEOUT, AXE_PATH, useEnv, newContext, diagnose, apiToken, apiComment, apiStory, api,
  signIn, unique,
} from './harness.mjs';

const MODERATOR = 'moderator@demo.parley';
const ADMIN = 'admin@demo.parley';

/** Marks the window, so a later check can tell the page was not reloaded. */
const mark = (page) => page.evaluate(() => { window.__notReloaded = true; });
const notReloaded = (page) => page.evaluate(() => window.__notReloaded === true);

async function axeViolations(page) {
  await page.addScriptTag({ path: AXE_PATH });
  const results = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return results.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

describe('moderation pages', () => {
  const env = useEnv({ before, after }, { name: 'moderation' });
  let modCtx;
  let readerCtx;
  let mod;
  let readerPage;
  let story;
  let readerToken;
  let modToken;

  before(async () => {
    const staff = await apiToken(env.base, DEMO.staff.email);
    const slug = unique('moderated-');
    story = await apiStory(env.base, staff, {
      url: `https://courier.example/2026/10/${slug}`,
      slug,
      headline: `A heated story ${slug}`,
      standfirst: 'Readers disagree.',
      body: 'Some text.',
    });
    const admin = await apiToken(env.base, ADMIN);
    const res = await api(env.base, 'PUT', `/api/v1/sites/${DEMO.site}/policy`, { token: admin, body: { premoderate: true } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    readerToken = await apiToken(env.base, DEMO.reader.email);
    modToken = await apiToken(env.base, MODERATOR);
    modCtx = await newContext(env.browser);
    mod = await modCtx.newPage();
    await signIn(mod, env.base, MODERATOR);
    readerCtx = await newContext(env.browser);
    readerPage = await readerCtx.newPage();
  });
  after(async () => {
    await modCtx?.close();
    await readerCtx?.close();
  });

  const guard = (label, fn) => diagnose(`moderation-${label}`, { contexts: () => [modCtx, readerCtx], server: env.server }, fn);
  const queue = (name) => `${env.base}/moderate/${name}?story=${story.id}`;
  const item = (id) => mod.locator(`#item-${id}`);
  const onStoryPage = async (text) => {
    await readerPage.goto(`${env.base}/stories/${story.slug}`);
    await readerPage.locator('#conversation').waitFor();
    return readerPage.locator('ol.comments .comment-body', { hasText: text }).count();
  };
  const held = async (text) => {
    const c = await apiComment(env.base, readerToken, story.id, text);
    assert.equal(c.status, 'pending', 'the policy holds every comment');
    return c;
  };
  const approveByApi = async (id) => {
    const r = await api(env.base, 'POST', `/api/v1/moderation/comments/${id}/approve`, { token: modToken, body: {} });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };
  const statusOf = async (id) => (await api(env.base, 'GET', '/api/v1/moderation/queues/pending', { token: modToken })).body.items
    .some((i) => i.comment.id === id);

  test('a moderator approves a held comment and readers then see it', { timeout: TIMEOUT.test }, () =>
    guard('approve', async () => {
      const text = `Held for a moderator ${unique()}`;
      const c = await held(text);
      assert.equal(await onStoryPage(text), 0, 'not on the page while held');
      await mod.goto(queue('pending'));
      await item(c.id).waitFor();
      assert.match(await item(c.id).innerText(), /Held because/);
      assert.match(await item(c.id).innerText(), new RegExp(story.headline.slice(0, 20)));
      await item(c.id).locator('form[data-action="approve"] button').click();
      await item(c.id).waitFor({ state: 'detached' });
      assert.equal(await onStoryPage(text), 1, 'on the story page after approval');
      assert.deepEqual(modCtx.pageErrors, [], 'no script errors');
    }));

  test('a rejected comment disappears from the story page', { timeout: TIMEOUT.test }, () =>
    guard('reject', async () => {
      const text = `Published then rejected ${unique()}`;
      const c = await held(text);
      await approveByApi(c.id);
      assert.equal(await onStoryPage(text), 1);
      await mod.goto(queue('approved'));
      const it = item(c.id);
      await it.waitFor();
      await it.locator('select[name="reason_code"]').selectOption('abuse');
      await it.locator('input[name="note"]').fill('Please keep it civil.');
      await it.locator('form[data-action="reject"] button').click();
      await it.waitFor({ state: 'detached' });
      assert.equal(await onStoryPage(text), 0, 'gone from the story page');
      const audit = await api(env.base, 'GET', `/api/v1/moderation/audit?target_kind=comment&target_id=${c.id}`, { token: modToken });
      assert.equal(audit.body.entries[0].action, 'reject');
      assert.equal(audit.body.entries[0].reason, 'abuse: Please keep it civil.');
    }));

  test('a featured comment appears in the selected comments block', { timeout: TIMEOUT.test }, () =>
    guard('feature', async () => {
      const text = `Worth selecting ${unique()}`;
      const c = await held(text);
      await approveByApi(c.id);
      await mod.goto(queue('approved'));
      await item(c.id).locator('form[data-action="feature"] button', { hasText: 'Feature' }).click();
      await item(c.id).locator('form[data-action="feature"] button', { hasText: 'Unfeature' }).waitFor();
      await readerPage.goto(`${env.base}/stories/${story.slug}`);
      const selected = readerPage.locator('.selected-comments');
      await selected.waitFor();
      assert.match(await selected.innerText(), new RegExp(text));
    }));

  test('the queue updates live as comments are held and decided elsewhere', { timeout: TIMEOUT.test }, () =>
    guard('live', async () => {
      await mod.goto(queue('pending'));
      await mod.waitForFunction(() => document.getElementById('mod-page')?.dataset.live === 'open');
      await mark(mod);
      const text = `Arrives live ${unique()}`;
      const c = await held(text);
      await item(c.id).waitFor();
      assert.match(await item(c.id).innerText(), new RegExp(text));
      assert.ok(await notReloaded(mod), 'it arrived without a reload');
      // Another moderator approves it: it leaves this queue.
      await approveByApi(c.id);
      await item(c.id).waitFor({ state: 'detached' });
      assert.ok(await notReloaded(mod), 'it left without a reload');
      assert.equal(await mod.locator('#mod-empty').isVisible(), true, 'the queue says it is empty');
    }));

  test('keyboard shortcuts: ? lists them, j moves, a approves', { timeout: TIMEOUT.test }, () =>
    guard('keys', async () => {
      const older = await held(`Keyboard older ${unique()}`);
      const newer = await held(`Keyboard newer ${unique()}`);
      await mod.goto(queue('pending'));
      await item(newer.id).waitFor();
      await mod.keyboard.press('?');
      await mod.waitForFunction(() => document.getElementById('mod-shortcuts').classList.contains('is-open'));
      await mod.keyboard.press('Escape');
      await mod.keyboard.press('j');
      await mod.keyboard.press('j');
      await mod.waitForFunction((id) => document.getElementById(`item-${id}`)?.classList.contains('is-current'), older.id);
      await mod.keyboard.press('a');
      await item(older.id).waitFor({ state: 'detached' });
      assert.equal(await statusOf(older.id), false, 'no longer pending');
      assert.equal(await item(newer.id).count(), 1, 'the other one stays');
      await mod.keyboard.press('k');
      await mod.keyboard.press('x');
      assert.equal(await item(newer.id).locator('.mod-select').isChecked(), true, 'x ticks it');
    }));

  test('axe-core finds no serious violations on the queue and the audit log', { timeout: TIMEOUT.test }, () =>
    guard('a11y', async () => {
      await held(`For the accessibility check ${unique()}`);
      for (const path of [`/moderate/pending?story=${story.id}`, '/moderate/audit']) {
        for (const scheme of ['light', 'dark']) {
          await mod.emulateMedia({ colorScheme: scheme });
          await mod.goto(`${env.base}${path}`);
          await mod.waitForLoadState('load');
          const v = await axeViolations(mod);
          assert.deepEqual(v, [], `${path} (${scheme})`);
        }
      }
    }));
});
