// Accessibility: axe-core, run in the page, finds no serious or critical violations on
// the story page (signed out and signed in, light and dark), the sign-in page and the
// register page.

import assert from 'node:assert/strict';
import { describe, test, before, after } from 'node:test';
import { DEMO, TIMEOUT, AXE_PATH, useEnv, newContext, diagnose, demoStories, signIn } from './harness.mjs';

/** Runs axe in the page; returns the serious and critical violations. */
async function axeViolations(page) {
  await page.addScriptTag({ path: AXE_PATH });
  const results = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), html: n.html.slice(0, 200), summary: n.failureSummary })),
    }));
  });
  return results.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

function describeViolations(where, violations) {
  const lines = [`${violations.length} serious/critical accessibility violation(s) on ${where}:`];
  for (const v of violations) {
    lines.push(`- [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})`);
    for (const n of v.nodes.slice(0, 6)) {
      lines.push(`    at ${n.target}\n      ${n.html}\n      ${(n.summary || '').replace(/\n/g, '\n      ')}`);
    }
    if (v.nodes.length > 6) lines.push(`    … and ${v.nodes.length - 6} more`);
  }
  return lines.join('\n');
}

describe('accessibility (axe-core)', () => {
  const env = useEnv({ before, after }, { name: 'a11y' });
  let stories;
  before(async () => {
    stories = await demoStories(env.base);
  });

  const cases = [
    { name: 'story page, signed out, light', path: () => `/stories/${stories.main.slug}`, scheme: 'light' },
    { name: 'story page, signed out, dark', path: () => `/stories/${stories.main.slug}`, scheme: 'dark' },
    { name: 'story page, signed in, light', path: () => `/stories/${stories.main.slug}`, scheme: 'light', signedIn: true },
    { name: 'story page, signed in, dark', path: () => `/stories/${stories.main.slug}`, scheme: 'dark', signedIn: true },
    { name: 'story page, phone width', path: () => `/stories/${stories.main.slug}`, scheme: 'light', phone: true },
    { name: 'sign-in page, light', path: () => '/signin', scheme: 'light' },
    { name: 'sign-in page, dark', path: () => '/signin', scheme: 'dark' },
    { name: 'register page, light', path: () => '/register', scheme: 'light' },
    { name: 'register page, dark', path: () => '/register', scheme: 'dark' },
    { name: 'forgot-password page, light', path: () => '/forgot', scheme: 'light' },
    { name: 'reset-password page, dark', path: () => '/reset?token=x', scheme: 'dark' },
    { name: 'account page, light', path: () => '/account', scheme: 'light', signedIn: true },
    { name: 'account page, dark', path: () => '/account', scheme: 'dark', signedIn: true },
  ];

  for (const c of cases) {
    test(`no serious or critical violations: ${c.name}`, { timeout: TIMEOUT.test }, async () => {
      const ctx = await newContext(env.browser, {
        colorScheme: c.scheme,
        ...(c.phone ? { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true } : {}),
      });
      try {
        await diagnose(`a11y-${c.name}`, { contexts: [ctx], server: env.server }, async () => {
          const page = await ctx.newPage();
          if (c.signedIn) await signIn(page, env.base, DEMO.reader.email);
          const res = await page.goto(`${env.base}${c.path()}`);
          assert.equal(res.status(), 200);
          await page.waitForLoadState('load');
          const violations = await axeViolations(page);
          assert.equal(violations.length, 0, describeViolations(`${c.path()} (${c.name})`, violations));
        });
      } finally {
        await ctx.close();
      }
    });
  }
});
