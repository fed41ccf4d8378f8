// A reader's own data in the browser: from their name in the header to the account page,
// the download of everything they wrote, and deleting the account with their password.

import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { describe, test, before, after } from 'node:test';
import {
  TIMEOUT, useEnv, newContext, diagnose, demoStories, register, openStory, unique, apiToken,
  apiComment, api,
} from './harness.mjs';

describe('account', () => {
  const env = useEnv({ before, after }, { name: 'account' });
  let stories;
  let ctx;
  let page;
  const account = { email: `${unique('leaver')}@example.test`, name: 'Lena Leaving', password: 'a long enough password 42' };
  const words = 'Lena says the bridge should have been built years ago.';

  before(async () => {
    stories = await demoStories(env.base);
    ctx = await newContext(env.browser, { acceptDownloads: true });
    page = await ctx.newPage();
  });
  after(async () => ctx?.close());

  const guard = (label, fn) => diagnose(`account-${label}`, { contexts: () => [ctx], server: env.server }, fn);
  const storyPath = () => `/stories/${stories.main.slug}`;

  test('the header leads to the account page, which downloads the reader\'s data', { timeout: TIMEOUT.test }, () =>
    guard('download', async () => {
      await register(page, env.base, account, storyPath());
      const token = await apiToken(env.base, account.email, account.password);
      await apiComment(env.base, token, stories.main.id, words);
      await openStory(page, env.base, stories.main.slug);
      await page.locator('header a[href="/account"]').click();
      await page.waitForURL((u) => u.pathname === '/account');
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('a[href="/api/v1/me/export"]').click(),
      ]);
      assert.match(download.suggestedFilename(), /^parley-account-\d+\.json$/);
      const data = JSON.parse(await fs.readFile(await download.path(), 'utf8'));
      assert.equal(data.profile.email, account.email);
      assert.deepEqual(data.comments.map((c) => c.body_src), [words]);
    }));

  test('notification settings are chosen with a plain form and kept', { timeout: TIMEOUT.test }, () =>
    guard('notifications', async () => {
      await page.goto(`${env.base}/account`);
      const text = await page.locator('main').innerText();
      assert.match(text, /not confirmed yet/i, 'a new address is not confirmed');
      assert.ok(await page.locator('.resend-form button[type="submit"]').isVisible(), 'offers the link again');
      await page.locator('#notify-reply').selectOption('digest');
      await page.locator('#notify-featured').selectOption('off');
      await page.locator('.notifications-form button[type="submit"]').click();
      await page.waitForURL((u) => u.pathname === '/account' && u.search.includes('notice=notifications'));
      assert.match(await page.locator('.form-notice').innerText(), /notification settings are saved/i);
      assert.equal(await page.locator('#notify-reply').inputValue(), 'digest');
      assert.equal(await page.locator('#notify-featured').inputValue(), 'off');
      assert.equal(await page.locator('#notify-moderation').inputValue(), 'immediate');
      const token = await apiToken(env.base, account.email, account.password);
      const prefs = await api(env.base, 'GET', '/api/v1/me/notifications', { token });
      assert.equal(prefs.body.reply, 'digest');
      assert.equal(prefs.body.featured, 'off');
    }));

  test('a wrong password deletes nothing; the right one deletes the account', { timeout: TIMEOUT.test }, () =>
    guard('delete', async () => {
      await page.goto(`${env.base}/account`);
      await page.locator('.delete-account-form input[name="password"]').fill('not my password at all');
      await page.locator('.delete-account-form button[type="submit"]').click();
      const alert = page.locator('.delete-account-form [role="alert"]');
      await alert.waitFor({ timeout: TIMEOUT.navigation });
      assert.match(await alert.innerText(), /not your password/i);

      await page.locator('.delete-account-form input[name="password"]').fill(account.password);
      await page.locator('.delete-account-form button[type="submit"]').click();
      await page.waitForURL((u) => u.pathname === '/account/deleted');
      assert.match(await page.locator('main').innerText(), /account is deleted/i);

      await openStory(page, env.base, stories.main.slug);
      const text = await page.locator('body').innerText();
      assert.ok(!text.includes(account.name), 'the story page no longer names the reader');
      assert.ok(!text.includes(words), 'nor shows their words');
      const again = await api(env.base, 'POST', '/api/v1/sessions', {
        body: { email: account.email, password: account.password, session: 'token' },
      });
      assert.equal(again.status, 401, 'nobody signs in to a deleted account');
    }));
});
