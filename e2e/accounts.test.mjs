// Accounts in the browser: register, sign out, sign in again, and the errors a reader
// sees for a wrong password or an email that is already registered.

import assert from 'node:assert/strict';
import { describe, test, before, after } from 'node:test';
import {
  DEMO, TIMEOUT, useEnv, newContext, diagnose, demoStories, signIn, register, openStory, unique,
  fillSignIn, field, sel, api,
} from './harness.mjs';

describe('accounts', () => {
  const env = useEnv({ before, after }, { name: 'accounts' });
  let stories;
  let ctx;
  let page;
  const account = { email: `${unique('new')}@example.test`, name: 'Nia Reader', password: 'a long enough password 42' };

  before(async () => {
    stories = await demoStories(env.base);
    ctx = await newContext(env.browser);
    page = await ctx.newPage();
  });
  after(async () => ctx?.close());

  const guard = (label, fn) => diagnose(`accounts-${label}`, { contexts: () => [ctx], server: env.server }, fn);
  const storyPath = () => `/stories/${stories.main.slug}`;

  test('the story page links a signed-out reader to register, keeping the way back', { timeout: TIMEOUT.test }, () =>
    guard('links', async () => {
      await openStory(page, env.base, stories.main.slug);
      const link = page.locator('#conversation .signin-prompt a[href^="/register"]').first();
      await link.click();
      await page.waitForURL((u) => u.pathname === '/register');
      assert.equal(new URL(page.url()).searchParams.get('next')?.split('#')[0], storyPath(), 'register?next= names the story');
    }));

  test('register: the new reader is signed in and back on the story', { timeout: TIMEOUT.test }, () =>
    guard('register', async () => {
      await register(page, env.base, account, storyPath());
      assert.equal(new URL(page.url()).pathname, storyPath());
      await page.locator(sel.form).waitFor();
      assert.equal(await page.locator(sel.conversation).getAttribute('data-signed-in'), 'true');
      assert.ok((await page.locator('body').innerText()).includes(account.name), 'the page names the signed-in reader');
      const me = await api(env.base, 'POST', '/api/v1/sessions', { body: { email: account.email, password: account.password, session: 'token' } });
      assert.equal(me.status, 200, 'the account exists with that password');
      assert.equal(me.body.user.display_name, account.name);
    }));

  test('sign out', { timeout: TIMEOUT.test }, () =>
    guard('signout', async () => {
      await openStory(page, env.base, stories.main.slug);
      const button = page.locator('form[action^="/signout"] button, form[action^="/signout"] [type="submit"]').first();
      await button.click();
      // The sign-out form goes once the browser is on the next page.
      await page.locator('form[action^="/signout"]').waitFor({ state: 'detached', timeout: TIMEOUT.navigation });
      await openStory(page, env.base, stories.main.slug);
      await page.locator('#conversation .signin-prompt').waitFor();
      assert.equal(await page.locator(sel.form).count(), 0);
      assert.notEqual(await page.locator(sel.conversation).getAttribute('data-signed-in'), 'true');
    }));

  test('a wrong password keeps the reader on the sign-in page with a message', { timeout: TIMEOUT.test }, () =>
    guard('wrong-password', async () => {
      await page.goto(`${env.base}/signin?next=${encodeURIComponent(storyPath())}`);
      await fillSignIn(page, account.email, 'not the password at all');
      const alert = page.locator('form [role="alert"], .form-error').first();
      await alert.waitFor({ timeout: TIMEOUT.navigation });
      assert.equal(new URL(page.url()).pathname, '/signin');
      assert.match(await alert.innerText(), /wrong|incorrect|invalid|did not match|doesn.t match/i, 'the message says what went wrong');
      const email = await field(page, ['email'], /e-?mail/i);
      assert.equal(await email.inputValue(), account.email, 'the email is kept');
    }));

  test('sign in: back on the page the reader came from, with the comment box', { timeout: TIMEOUT.test }, () =>
    guard('signin', async () => {
      await openStory(page, env.base, stories.main.slug);
      await page.locator('#conversation .signin-prompt a[href^="/signin"]').first().click();
      await page.waitForURL((u) => u.pathname === '/signin');
      await fillSignIn(page, account.email, account.password);
      await page.waitForURL((u) => u.pathname === storyPath());
      await page.locator(sel.form).waitFor();
    }));

  test('registering an email twice shows an error on the register page', { timeout: TIMEOUT.test }, () =>
    guard('register-twice', async () => {
      const other = await newContext(env.browser);
      try {
        const p = await other.newPage();
        await p.goto(`${env.base}/register`);
        await (await field(p, ['email'], /e-?mail/i)).fill(DEMO.reader.email);
        await (await field(p, ['display_name', 'name'], /name/i)).fill('Someone Else');
        const pws = p.locator('form input[type="password"]:visible');
        for (let i = 0; i < (await pws.count()); i += 1) await pws.nth(i).fill('another long password 7');
        await pws.first().locator('xpath=ancestor::form[1]').locator('button[type="submit"], button:not([type])').first().click();
        const alert = p.locator('form [role="alert"], .form-error').first();
        await alert.waitFor({ timeout: TIMEOUT.navigation });
        assert.equal(new URL(p.url()).pathname, '/register');
        assert.match(await alert.innerText(), /already|taken|in use|exists/i);
      } finally {
        await other.close();
      }
    }));

  test('registering works without JavaScript too', { timeout: TIMEOUT.test }, () =>
    guard('register-nojs', async () => {
      const nojs = await newContext(env.browser, { javaScriptEnabled: false });
      try {
        const p = await nojs.newPage();
        await register(p, env.base, { email: `${unique('nojs')}@example.test`, name: 'No Script Reader' }, storyPath());
        assert.equal(new URL(p.url()).pathname, storyPath());
        await p.locator(sel.form).waitFor();
      } finally {
        await nojs.close();
      }
    }));

  test('signing in works without JavaScript too', { timeout: TIMEOUT.test }, () =>
    guard('signin-nojs', async () => {
      const nojs = await newContext(env.browser, { javaScriptEnabled: false });
      try {
        const p = await nojs.newPage();
        await signIn(p, env.base, DEMO.helen.email, DEMO.password, storyPath());
        assert.equal(new URL(p.url()).pathname, storyPath());
        await p.locator(sel.form).waitFor();
      } finally {
        await nojs.close();
      }
    }));
});
