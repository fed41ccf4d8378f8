// Screenshots of the demo story page at desktop (1280) and phone (390) widths, in the
// light and dark themes, saved to tests-output/screenshots/. Also checks what a
// picture cannot: the dark theme really changes the colours, and nothing on the phone
// is wider than the screen.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, test, before, after } from 'node:test';
import { TIMEOUT, SCREENSHOTS, ROOT, useEnv, newContext, diagnose, demoStories, openStory } from './harness.mjs';

const SIZES = {
  desktop: { viewport: { width: 1280, height: 900 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
};

describe('screenshots of the story page', () => {
  const env = useEnv({ before, after }, { name: 'screenshots' });
  let stories;
  const colours = {};

  before(async () => {
    stories = await demoStories(env.base);
    mkdirSync(SCREENSHOTS, { recursive: true });
  });

  for (const size of Object.keys(SIZES)) {
    for (const scheme of ['light', 'dark']) {
      test(`story page, ${size}, ${scheme}`, { timeout: TIMEOUT.test }, async () => {
        const ctx = await newContext(env.browser, { ...SIZES[size], deviceScaleFactor: 1 });
        try {
          await diagnose(`screenshot-${size}-${scheme}`, { contexts: [ctx], server: env.server }, async () => {
            const page = await ctx.newPage();
            const assets = [];
            page.on('request', (r) => {
              if (['script', 'stylesheet', 'font'].includes(r.resourceType())) assets.push(r.url());
            });
            await page.emulateMedia({ colorScheme: scheme });
            await openStory(page, env.base, stories.main.slug);
            await page.waitForLoadState('load');
            const foreign = assets.filter((u) => !u.startsWith(`${env.base}/`));
            assert.deepEqual(foreign, [], 'scripts, styles and fonts all come from the Parley server (no CDN)');
            assert.ok(assets.some((u) => u.endsWith('.css') || u.includes('/assets/parley.css')), `the stylesheet is loaded (${assets.join(', ')})`);
            await page.evaluate(() => document.fonts?.ready);
            const file = path.join(SCREENSHOTS, `story-${size}-${scheme}.png`);
            await page.screenshot({ path: file, fullPage: true });
            console.log(`saved ${path.relative(ROOT, file)}`);

            colours[`${size}-${scheme}`] = await page.evaluate(() => {
              const bg = (el) => {
                for (let e = el; e; e = e.parentElement) {
                  const c = getComputedStyle(e).backgroundColor;
                  if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c;
                }
                return 'rgb(255, 255, 255)';
              };
              const body = document.querySelector('article p') || document.body;
              return { background: bg(body), text: getComputedStyle(body).color };
            });
            if (size === 'phone') {
              const overflow = await page.evaluate(() => {
                const width = document.documentElement.clientWidth;
                const wide = [...document.querySelectorAll('body *')]
                  .filter((e) => e.getBoundingClientRect().right > width + 1 && getComputedStyle(e).position !== 'fixed')
                  .slice(0, 5)
                  .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.className && typeof e.className === 'string' ? `.${e.className.trim().split(/\s+/).join('.')}` : ''} (right edge ${Math.round(e.getBoundingClientRect().right)})`);
                return { scrollWidth: document.documentElement.scrollWidth, width, wide };
              });
              assert.ok(
                overflow.scrollWidth <= overflow.width + 1,
                `the page is wider than the phone's ${overflow.width}px screen (${overflow.scrollWidth}px): ${overflow.wide.join(', ')}`,
              );
            }
          });
        } finally {
          await ctx.close();
        }
      });
    }
  }

  test('the dark theme changes the colours (prefers-color-scheme)', { timeout: TIMEOUT.test }, () => {
    for (const size of Object.keys(SIZES)) {
      const light = colours[`${size}-light`];
      const dark = colours[`${size}-dark`];
      assert.ok(light && dark, `both ${size} screenshots were taken`);
      assert.notEqual(dark.background, light.background, `${size}: the background differs between light (${light.background}) and dark (${dark.background})`);
      assert.notEqual(dark.text, light.text, `${size}: the text colour differs between light (${light.text}) and dark (${dark.text})`);
    }
  });
});
