// Publishing in the browser: a staff member follows "Write a story" from the front page,
// fills in every field, previews the body (with JavaScript: in place, without a reload;
// without JavaScript: the Preview button sends the form and nothing is saved), publishes,
// and the story page shows the headline, standfirst, lead picture and body.

import assert from 'node:assert/strict';
import { describe, test, before, after } from 'node:test';
import { DEMO, TIMEOUT, useEnv, newContext, diagnose, signIn, unique } from './harness.mjs';

describe('publishing', () => {
  const env = useEnv({ before, after }, { name: 'publish' });
  let ctx;
  let page;
  let nojs;

  before(async () => {
    ctx = await newContext(env.browser);
    page = await ctx.newPage();
    nojs = await newContext(env.browser, { javaScriptEnabled: false });
  });
  after(async () => {
    await ctx?.close();
    await nojs?.close();
  });

  const guard = (label, fn) => diagnose(`publish-${label}`, { contexts: () => [ctx, nojs], server: env.server }, fn);

  async function fillStory(p, story) {
    await p.locator('form.write-form [name="headline"]').fill(story.headline);
    await p.locator('form.write-form [name="standfirst"]').fill(story.standfirst);
    await p.locator('form.write-form [name="published_at"]').fill('2026-11-28T09:00');
    await p.locator('form.write-form [name="picture_url"]').fill(story.picture);
    await p.locator('form.write-form [name="picture_caption"]').fill(story.caption);
    await p.locator('form.write-form [name="picture_credit"]').fill('COURIER PHOTO DESK');
    await p.locator('form.write-form [name="body"]').fill(story.body);
  }

  test('staff write, preview and publish a story that the page then shows', { timeout: TIMEOUT.test }, () =>
    guard('write', async () => {
      const tag = unique('s');
      const story = {
        headline: `Ferry timetable changes ${tag}`,
        standfirst: 'Winter sailings start earlier on weekdays.',
        picture: `${env.base}/assets/demo/riverside-road.svg`,
        caption: 'The ferry at the pier',
        body: '## New times\n\nThe first ferry leaves at *06:40*.\n\n<script>window.injected = true</script>',
      };
      await signIn(page, env.base, DEMO.staff.email);
      await page.goto(`${env.base}/`);
      await page.getByRole('link', { name: 'Write a story' }).click();
      await page.waitForURL((u) => u.pathname === '/write');
      await fillStory(page, story);

      // The preview comes in place, from the server's renderer.
      await page.getByRole('button', { name: 'Preview' }).click();
      const preview = page.locator('#write-preview');
      await preview.locator('h2', { hasText: 'New times' }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/write', 'the preview did not leave the form');
      assert.equal(await preview.locator('em').innerText(), '06:40');
      assert.equal(await preview.locator('script').count(), 0, 'no script element in the preview');
      assert.ok((await preview.innerText()).includes('<script>'), 'raw HTML shows as text');
      assert.notEqual(await page.evaluate(() => window.injected), true);
      // It follows the text as it is typed.
      await page.locator('form.write-form [name="body"]').fill(`${story.body}\n\nA **late** addition.`);
      await preview.locator('strong', { hasText: 'late' }).waitFor();

      await page.getByRole('button', { name: 'Publish' }).click();
      await page.waitForURL((u) => u.pathname.startsWith('/stories/'));
      const article = page.locator('article.story');
      assert.equal(await article.locator('h1').innerText(), story.headline);
      assert.equal(await article.locator('.standfirst').innerText(), story.standfirst);
      assert.equal(await article.locator('figure img').getAttribute('src'), story.picture);
      const caption = await article.locator('figcaption').innerText();
      assert.ok(caption.includes(story.caption) && caption.includes('COURIER PHOTO DESK'), caption);
      assert.equal(await article.locator('.story-body h2').innerText(), 'New times');
      assert.equal(await article.locator('.story-body em').innerText(), '06:40');
      assert.equal(await article.locator('.story-body strong').innerText(), 'late');
      assert.equal(await article.locator('.story-body script').count(), 0);
      assert.ok((await article.locator('time').innerText()).includes('28 November 2026'));
      // Staff can go straight back to the form.
      await article.getByRole('link', { name: 'Edit' }).click();
      await page.waitForURL((u) => u.pathname.endsWith('/edit'));
      assert.equal(await page.locator('form.write-form [name="headline"]').inputValue(), story.headline);
      assert.deepEqual(ctx.pageErrors, []);
    }));

  test('without JavaScript the preview is a round trip that saves nothing', { timeout: TIMEOUT.test }, () =>
    guard('nojs', async () => {
      const p = await nojs.newPage();
      await signIn(p, env.base, DEMO.staff.email, DEMO.password, '/write');
      await p.waitForURL((u) => u.pathname === '/write');
      const tag = unique('n');
      await fillStory(p, {
        headline: `Harbour wall repaired ${tag}`,
        standfirst: 'Work finished a week early.',
        picture: `${env.base}/assets/demo/library.svg`,
        caption: 'The harbour wall',
        body: '## Finished\n\nOn *time*.',
      });
      await p.getByRole('button', { name: 'Preview' }).click();
      await p.locator('#write-preview h2', { hasText: 'Finished' }).waitFor();
      assert.equal(await p.locator('form.write-form [name="headline"]').inputValue(), `Harbour wall repaired ${tag}`);
      const res = await fetch(`${env.base}/api/v1/stories?site=${DEMO.site}&slug=harbour-wall-repaired-${tag}`);
      assert.equal(res.status, 404, 'a preview saves nothing');
      await p.getByRole('button', { name: 'Publish' }).click();
      await p.waitForURL((u) => u.pathname === `/stories/harbour-wall-repaired-${tag}`);
      assert.equal(await p.locator('article.story .story-body em').innerText(), 'time');
    }));
});
