// Test harness for Parley's end-to-end tests: a Parley server per test file (its own
// SQLite database, demo content, extra sites and accounts made with the CLI before it
// starts), static file servers on other origins for embedding pages, headless Chromium
// through playwright-core, and small helpers for the JSON API and the account pages.
//
// It builds nothing: the binary comes from PARLEY_BIN (default target/debug/parley).

import { spawn, execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const PARLEY_BIN = path.resolve(ROOT, process.env.PARLEY_BIN || 'target/debug/parley');
export const CHROMIUM = process.env.PARLEY_CHROMIUM || '/usr/bin/chromium';
export const OUT = path.join(ROOT, 'tests-output');
export const SCREENSHOTS = path.join(OUT, 'screenshots');
export const AXE_PATH = require.resolve('axe-core/axe.min.js');

/** The demo's accounts (crates/parley/src/demo.rs): every one has this password. */
export const DEMO = {
  site: 'courier',
  password: 'demo-password',
  reader: { email: 'reader@demo.parley', name: 'Priya N.' },
  staff: { email: 'staff@demo.parley', name: 'Maya Okafor' },
  bill: { email: 'bill@demo.parley', name: 'Ferryman Bill' },
  helen: { email: 'helen@demo.parley', name: 'Dr. Helen Marsh' },
  kwame: { email: 'kwame@demo.parley', name: 'kwame_cycles' },
  rosa: { email: 'rosa@demo.parley', name: 'Rosa Delgado' },
  lena: { email: 'lena@demo.parley', name: 'Lena Fischer' },
  urls: {
    main: 'https://courier.example/2026/09/riverside-road-vote',
    library: 'https://courier.example/2026/05/hollis-street-library-reopens',
    weather: 'https://courier.example/2026/09/weekend-weather',
  },
};

/** Generous timeouts: 2 cores, a debug build, a browser. */
export const TIMEOUT = { action: 15_000, navigation: 30_000, test: 120_000 };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let counter = 0;
/** A string unique within this run, for emails and comment texts. */
export function unique(prefix = 'x') {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${process.pid.toString(36)}${counter}`;
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function run(bin, args, env = {}) {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`${path.basename(bin)} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

function tail(file, lines = 40) {
  try {
    // eslint-disable-next-line no-control-regex
    return readFileSync(file, 'utf8').replace(/\x1b\[[0-9;]*m/g, '').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

/**
 * Starts `parley serve` on a fresh SQLite database in a temporary folder.
 *
 * options:
 *   name   – names the log file tests-output/logs/NAME.log
 *   demo   – load the demo content (default true)
 *   sites  – [{ name, origins: [..] }] created with `parley site create` before the server starts
 *   users  – [{ email, name, role, site, password }] created with `parley user create`
 *   args   – more `serve` flags
 *
 * Sites and users can depend on ports chosen before the start: pass functions of
 * `{ port }` (the port the server will listen on) where needed.
 */
export async function startParley(options = {}) {
  const { name = 'parley', demo = true, sites = [], users = [], args = [] } = options;
  if (!existsSync(PARLEY_BIN)) {
    throw new Error(`no Parley binary at ${PARLEY_BIN}: build it (cargo build -p parley) or set PARLEY_BIN`);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'parley-e2e-'));
  const database = `sqlite://${path.join(dir, 'p.db')}`;
  for (const site of sites) {
    const cmd = ['site', 'create', '--name', site.name, '--database', database];
    for (const origin of site.origins || []) cmd.push('--origin', origin);
    await run(PARLEY_BIN, cmd);
  }
  mkdirSync(path.join(OUT, 'logs'), { recursive: true });
  const logFile = path.join(OUT, 'logs', `${name}.log`);

  let child;
  let port;
  for (let attempt = 1; ; attempt += 1) {
    port = await freePort();
    const serve = ['serve', '--listen', `127.0.0.1:${port}`, '--database', database];
    if (demo) serve.push('--demo');
    // Sites made before the demo's would otherwise become the default site.
    if (demo && sites.length) serve.push('--default-site', DEMO.site);
    serve.push(...args);
    const fd = openSync(logFile, attempt === 1 ? 'w' : 'a');
    child = spawn(PARLEY_BIN, serve, {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'info', NO_COLOR: '1' },
    });
    closeSync(fd);
    live.add(child);
    let exited = null;
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      live.delete(child);
    });
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 90_000;
    let up = false;
    while (!exited && Date.now() < deadline) {
      try {
        const res = await fetch(`${base}/healthz`);
        if (res.ok) {
          up = true;
          break;
        }
      } catch {
        /* not listening yet */
      }
      await sleep(100);
    }
    if (up) break;
    if (!exited) child.kill('SIGKILL');
    if (attempt >= 3 || !exited) {
      throw new Error(`parley serve did not come up on ${base}; log ${logFile}:\n${tail(logFile)}`);
    }
  }

  const base = `http://127.0.0.1:${port}`;
  // Accounts after the start, so that `--demo` has made its site and the site's rules apply.
  for (const user of users) {
    const cmd = ['user', 'create', '--email', user.email, '--name', user.name, '--role', user.role || 'reader', '--database', database];
    if (user.site) cmd.push('--site', user.site);
    await run(PARLEY_BIN, cmd, { PARLEY_PASSWORD: user.password || DEMO.password });
  }

  return {
    base,
    port,
    database,
    dir,
    logFile,
    /** Runs the CLI against this server's database. */
    cli: (cmd, env) => run(PARLEY_BIN, [...cmd, '--database', database], env),
    log: () => tail(logFile, 80),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await gone;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A static HTTP server for embedding and listing pages on another origin.
 * `pages` maps a path to HTML (or to a function (req, res) that answers).
 * `set(path, html)` adds pages once ports are known.
 */
export async function startStatic() {
  const pages = new Map();
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url);
    const url = new URL(req.url, 'http://x');
    const page = pages.get(url.pathname);
    if (typeof page === 'function') return page(req, res);
    if (page === undefined && url.pathname === '/favicon.ico') {
      res.writeHead(204);
      return res.end();
    }
    if (page === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('not found');
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(page);
  });
  const port = await new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    url: (p) => `http://127.0.0.1:${port}${p}`,
    requests,
    set: (p, html) => pages.set(p, html),
    stop: () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(() => r());
      }),
  };
}

// ---- the browser ----

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (scripts/test does it)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
      '--disable-extensions',
      '--disable-default-apps',
      '--hide-scrollbars',
      '--mute-audio',
    ],
  });
}

/**
 * A browser context with generous timeouts that records uncaught page errors and
 * dialogs of every page it opens (ctx.pageErrors, ctx.dialogs). Dialogs are accepted
 * (delete confirmations) unless `dismissDialogs`.
 */
export async function newContext(browser, options = {}) {
  const { dismissDialogs = false, ...contextOptions } = options;
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...contextOptions });
  ctx.setDefaultTimeout(TIMEOUT.action);
  ctx.setDefaultNavigationTimeout(TIMEOUT.navigation);
  ctx.pageErrors = [];
  ctx.dialogs = [];
  ctx.consoleErrors = [];
  const watch = (page) => {
    page.on('pageerror', (err) => ctx.pageErrors.push(`${page.url()}: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') ctx.consoleErrors.push(`${page.url()}: ${msg.text()}`);
    });
    page.on('dialog', (d) => {
      ctx.dialogs.push({ type: d.type(), message: d.message(), url: page.url() });
      (dismissDialogs ? d.dismiss() : d.accept()).catch(() => {});
    });
  };
  ctx.on('page', watch);
  return ctx;
}

/**
 * Runs `fn`; when it throws, saves a full-page screenshot of every open page of the
 * given contexts (an array, or a function returning one when they are made later)
 * under tests-output/failures/ and adds the server's log tail and page errors to the
 * error message.
 */
export async function diagnose(label, { contexts = [], server } = {}, fn) {
  try {
    return await fn();
  } catch (err) {
    const dir = path.join(OUT, 'failures');
    mkdirSync(dir, { recursive: true });
    const notes = [];
    let i = 0;
    for (const ctx of typeof contexts === 'function' ? contexts() : contexts) {
      if (!ctx) continue;
      for (const page of ctx.pages()) {
        i += 1;
        const file = path.join(dir, `${label.replace(/[^a-z0-9]+/gi, '-')}-${i}.png`);
        try {
          await page.screenshot({ path: file, fullPage: true, timeout: 10_000 });
          notes.push(`screenshot of ${page.url()}: ${path.relative(ROOT, file)}`);
        } catch {
          notes.push(`(no screenshot of ${page.url()})`);
        }
      }
      if (ctx.pageErrors?.length) notes.push(`page errors:\n  ${ctx.pageErrors.join('\n  ')}`);
      if (ctx.consoleErrors?.length) notes.push(`console errors:\n  ${ctx.consoleErrors.slice(-10).join('\n  ')}`);
    }
    if (server) notes.push(`server log (${path.relative(ROOT, server.logFile)}), last lines:\n${server.log()}`);
    err.message = `${err.message}\n--- diagnostics ---\n${notes.join('\n')}`;
    throw err;
  }
}

// ---- the JSON API ----

/** One JSON API call: returns { status, body } (body parsed when it is JSON). */
export async function api(base, method, p, { token, body, headers = {} } = {}) {
  const h = { accept: 'application/json', ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  const res = await fetch(`${base}${p}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed };
}

/** A bearer token for an account (site: the default one unless named). */
export async function apiToken(base, email, password = DEMO.password, site) {
  const res = await api(base, 'POST', '/api/v1/sessions', { body: { email, password, session: 'token', ...(site ? { site } : {}) } });
  if (res.status !== 200) throw new Error(`signing in ${email} over the API: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.token;
}

/** Registers an account over the API; returns { user, token }. */
export async function apiRegister(base, { email, name, password = DEMO.password, site }) {
  const res = await api(base, 'POST', '/api/v1/accounts', {
    body: { email, display_name: name, password, session: 'token', ...(site ? { site } : {}) },
  });
  if (res.status !== 201) throw new Error(`registering ${email}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function apiComment(base, token, storyId, body, parentId) {
  const res = await api(base, 'POST', `/api/v1/stories/${storyId}/comments`, {
    token,
    body: { body, ...(parentId ? { parent_id: parentId } : {}) },
  });
  if (res.status !== 201) throw new Error(`posting a comment: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.comment;
}

export async function apiStory(base, token, fields) {
  const res = await api(base, 'POST', '/api/v1/stories', { token, body: fields });
  if (res.status !== 201) throw new Error(`creating a story: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.story;
}

/** The story with this URL on a site, or null. */
export async function findStory(base, site, url) {
  const res = await api(base, 'GET', `/api/v1/stories?site=${encodeURIComponent(site)}&url=${encodeURIComponent(url)}`);
  if (res.status === 404) return null;
  if (res.status !== 200) throw new Error(`looking up ${url}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.story;
}

/** The demo's stories by role: { main, library, weather }, each the API's story object. */
export async function demoStories(base) {
  const out = {};
  for (const [key, url] of Object.entries(DEMO.urls)) {
    out[key] = await findStory(base, DEMO.site, url);
    if (!out[key]) throw new Error(`the demo story ${url} is missing`);
  }
  return out;
}

/** Every comment of a story (top level and replies), flat, from the JSON API. */
export async function allComments(base, storyId) {
  const out = [];
  let cursor = '';
  const walk = (threads) => {
    for (const t of threads) {
      out.push(t);
      walk(t.replies || []);
    }
  };
  for (let i = 0; i < 20; i += 1) {
    const res = await api(base, 'GET', `/api/v1/stories/${storyId}/comments?sort=oldest&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (res.status !== 200) throw new Error(`listing comments: ${res.status}`);
    walk(res.body.comments);
    if (!res.body.next_cursor) break;
    cursor = res.body.next_cursor;
  }
  return out;
}

// ---- the account pages ----

/**
 * A form field, found by its name attribute first (the API's field names), else by
 * its label.
 */
export async function field(scope, names, label) {
  for (const n of names) {
    const loc = scope.locator(`form [name="${n}"]:visible`);
    if ((await loc.count()) === 1) return loc;
  }
  return scope.getByLabel(label).first();
}

async function submitFormOf(locator) {
  const form = locator.locator('xpath=ancestor::form[1]');
  await form.locator('button[type="submit"], button:not([type]), input[type="submit"]').first().click();
}

/** Fills the sign-in form on `scope` (a page or a popup) and submits it. */
export async function fillSignIn(scope, email, password = DEMO.password) {
  const emailField = await field(scope, ['email'], /e-?mail/i);
  await emailField.fill(email);
  const pw = await field(scope, ['password'], /password/i);
  await pw.fill(password);
  await submitFormOf(pw);
}

/** Signs in through GET /signin?next=…; waits until the browser has left the sign-in page. */
export async function signIn(page, base, email, password = DEMO.password, next = '/') {
  await page.goto(`${base}/signin?next=${encodeURIComponent(next)}`);
  await fillSignIn(page, email, password);
  await page.waitForURL((u) => !u.pathname.startsWith('/signin'));
}

/** Registers through GET /register?next=…; waits until the browser has left the page. */
export async function register(page, base, { email, name, password = DEMO.password }, next = '/') {
  await page.goto(`${base}/register?next=${encodeURIComponent(next)}`);
  await (await field(page, ['email'], /e-?mail/i)).fill(email);
  await (await field(page, ['display_name', 'name'], /name/i)).fill(name);
  const passwords = page.locator('form input[type="password"]:visible');
  const n = await passwords.count();
  if (n === 0) throw new Error('the register page has no password field');
  for (let i = 0; i < n; i += 1) await passwords.nth(i).fill(password);
  await submitFormOf(passwords.first());
  await page.waitForURL((u) => !u.pathname.startsWith('/register'));
}

// ---- the conversation's markup (docs/FRONTEND.md) ----

export const sel = {
  conversation: '#conversation',
  form: '#comment-form',
  body: '#comment-body',
  comment: (id) => `#c${id}`,
  thread: (id) => `#t${id}`,
};

/** The comment id of the newest `article.comment` whose body contains `text`. */
export async function commentIdByText(scope, text) {
  const article = scope.locator('article.comment', { has: scope.locator('.comment-body', { hasText: text }) }).last();
  await article.waitFor();
  return Number(await article.getAttribute('data-comment-id'));
}

/** Waits for a page's story conversation to be there. */
export async function openStory(page, base, slug, query = '') {
  await page.goto(`${base}/stories/${slug}${query}`);
  await page.locator(sel.conversation).waitFor();
}

export { sleep };

// ---- per-file setup ----

/**
 * Registers before/after hooks (call it inside `describe`) that start a Parley server,
 * `statics` static servers (started first, so the server's sites can name their
 * origins) and a browser, and stop them all at the end. `parley` is startParley's
 * options, or a function of { statics } returning them.
 */
export function useEnv(hooks, { name, parley = {}, statics = 0, browser = true } = {}) {
  const env = { statics: [] };
  hooks.before(
    async () => {
      for (let i = 0; i < statics; i += 1) env.statics.push(await startStatic());
      const options = typeof parley === 'function' ? parley(env) : parley;
      env.server = await startParley({ name, ...options });
      env.base = env.server.base;
      if (browser) env.browser = await launchBrowser();
    },
    { timeout: 180_000 },
  );
  hooks.after(
    async () => {
      await env.browser?.close().catch(() => {});
      await env.server?.stop().catch(() => {});
      for (const s of env.statics) await s.stop().catch(() => {});
    },
    { timeout: 60_000 },
  );
  return env;
}

/**
 * Clicks a comment's delete button and waits until the story page shows it deleted
 * (a tombstone: 'tomb', or removed: 'gone'). Works with and without scripts, and with
 * a confirmation page or a confirm() dialog (accepted by newContext) in between.
 */
export async function deleteComment(page, id) {
  await page.locator(`ol.comments #c${id} form.delete-form button`).click();
  const deadline = Date.now() + TIMEOUT.navigation;
  let confirmed = false;
  while (Date.now() < deadline) {
    try {
      const u = new URL(page.url());
      if (!u.pathname.startsWith('/stories/') && !confirmed) {
        await page.waitForLoadState('load');
        confirmed = true;
        await page.locator('form button[type="submit"], form button:not([type])').first().click();
      } else if (u.pathname.startsWith('/stories/')) {
        const state = await page.evaluate((cid) => {
          const a = document.querySelector(`ol.comments #c${cid}`);
          if (!a) return 'gone';
          return a.classList.contains('comment-deleted') ? 'tomb' : 'there';
        }, id);
        if (state !== 'there') return state;
      }
    } catch {
      /* the page is navigating */
    }
    await sleep(100);
  }
  throw new Error(`comment ${id} still shows after clicking delete (at ${page.url()})`);
}
