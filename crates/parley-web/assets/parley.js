/* Parley: enhances the server-rendered conversation on story pages and in the embed.
   It relies on the markup in docs/FRONTEND.md; without it everything still works
   through plain links and forms. */
(() => {
  "use strict";
  const root = document.getElementById("conversation");
  if (!root || root.dataset.parleyReady) return;
  const ds = root.dataset;
  ds.parleyReady = "true";
  const embed = ds.embed === "true";
  const maxChars = parseInt(ds.maxChars, 10) || 0;
  const TOKEN_KEY = "parley-token";
  let token = null;
  // In the embed the page is rendered for nobody: the reader is whoever the token names.
  let userId = embed ? "" : ds.userId || "";
  let signinUrl = "/embed/signin";

  const h = (tag, attrs, ...kids) => {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    el.append(...kids);
    return el;
  };
  const $ = (sel, from = root) => from.querySelector(sel);
  const $$ = (sel, from = root) => Array.from(from.querySelectorAll(sel));
  const articles = (id) => $$(`article[data-comment-id="${Number(id)}"]`);
  const inPage = (id) => articles(id).length > 0;
  const signedIn = () => (embed ? Boolean(token) : ds.signedIn === "true");
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const smooth = () => (matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth");

  // A visually hidden status line for things that happen out of view.
  const status = h("p", { class: "parley-status visually-hidden", role: "status" });
  root.append(status);
  const announce = (text) => {
    status.textContent = "";
    setTimeout(() => (status.textContent = text), 50);
  };

  const auth = (headers = {}) => (token ? { ...headers, Authorization: `Bearer ${token}` } : headers);

  /** A JSON API call; throws an Error carrying the API's message and the status. */
  async function api(method, path, body) {
    const init = { method, credentials: "same-origin", headers: auth({ Accept: "application/json" }) };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init).catch(() => null);
    if (!res) throw Object.assign(new Error("Could not reach Parley. Check your connection and try again."), { status: 0 });
    const data = await res.json().catch(() => null);
    if (res.ok) return data;
    if (res.status === 401 && token) storeToken(null);
    const message = (data && data.error && data.error.message) || `Something went wrong (${res.status}).`;
    throw Object.assign(new Error(message), { status: res.status });
  }

  /** The comment's <li> as the server renders it for this reader, or null. */
  async function fragment(id) {
    try {
      const res = await fetch(`/comments/${Number(id)}/fragment`, { credentials: "same-origin", cache: "no-cache", headers: auth() });
      if (!res.ok) return null;
      const t = document.createElement("template");
      t.innerHTML = (await res.text()).trim();
      return t.content.querySelector("li");
    } catch (_) {
      return null;
    }
  }

  const errors = new WeakMap();
  let errorIds = 0;
  /** Shows `message` at the top of the form (a reaction's under the comment's actions),
      with the field pointing at it; or clears it. */
  function setError(form, message) {
    let p = errors.get(form) || $(".form-error", form);
    const field = $("textarea", form);
    if (!message) {
      if (p) p.remove();
      errors.delete(form);
      if (field) field.removeAttribute("aria-invalid");
      return;
    }
    if (!p) {
      p = h("p", { class: "form-error", role: "alert", id: `parley-error-${++errorIds}` });
      if (form.matches(".react-form")) (form.closest(".comment-actions") || form).after(p);
      else form.prepend(p);
      errors.set(form, p);
    }
    p.textContent = message;
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-describedby", p.id);
    }
  }

  function updateCounter(field) {
    const out = field.form && $(".char-count", field.form);
    if (!out) return;
    const left = (maxChars || parseInt(field.getAttribute("maxlength"), 10) || 5000) - Array.from(field.value).length;
    out.textContent = left >= 0 ? `${plural(left, "character")} left` : `${plural(-left, "character")} too many`;
    out.classList.toggle("over", left < 0);
  }

  // ---- placing comments

  function sortOrder() {
    const current = $('.sort-switcher [aria-current="page"]');
    const href = current && current.getAttribute("href");
    const linked = href ? new URL(href, location.href).searchParams.get("sort") : null;
    return new URLSearchParams(location.search).get("sort") || linked || "newest";
  }

  /** The <li> holding a comment: the one in the main list when it is also featured. */
  function threadOf(id) {
    const found = $(`ol.comments article[data-comment-id="${Number(id)}"]`) || articles(id)[0];
    return found ? found.closest("li") : null;
  }

  /** Puts a comment's <li> where it belongs; false when its parent is not on this page. */
  function place(li, parentId, host, pending) {
    let list;
    if (pending) {
      // Like the server's page: the reader's own, awaiting moderation, in a list of their own.
      list = $("ol.pending-list");
      if (!list) {
        list = h("ol", { class: "pending-list" });
        const section = h(
          "section",
          { class: "pending-comments", "aria-labelledby": "pending-heading" },
          h("h3", { id: "pending-heading" }, "Your comments awaiting moderation"),
          h("p", { class: "hint" }, "Only you can see these until a moderator has looked at them."),
          list,
        );
        ($(".sort-switcher") || $(".selected-comments") || $("ol.comments") || status).before(section);
      }
      list.append(li);
    } else if (parentId) {
      host = host || threadOf(parentId);
      if (!host) return false;
      list = $(":scope > ol.replies", host);
      if (!list) {
        list = h("ol", { class: "replies" });
        const more = $(":scope > .more-replies", host);
        more ? more.before(list) : host.append(list);
      }
      list.append(li);
    } else {
      list = $("ol.comments");
      if (!list) {
        list = h("ol", { class: "comments", start: "1" });
        ($(".more-comments") || status).before(list);
      }
      for (const empty of $$(".no-comments")) empty.remove();
      sortOrder() === "newest" ? list.prepend(li) : list.append(li);
    }
    li.classList.add("is-new");
    setTimeout(() => li.classList.remove("is-new"), 4000);
    return true;
  }

  function bumpCount(by) {
    for (const el of $$(".comment-count")) {
      const n = parseInt(el.textContent.replace(/\D/g, ""), 10);
      if (!Number.isNaN(n)) el.textContent = String(n + by);
    }
  }

  function focusComment(li) {
    const article = $("article", li);
    if (!article) return;
    article.setAttribute("tabindex", "-1");
    article.focus({ preventScroll: true });
    article.scrollIntoView({ block: "nearest", behavior: smooth() });
  }

  // ---- posting comments and replies

  async function submitComment(form) {
    const field = $("textarea[name=body]", form);
    const parent = $("input[name=parent_id]", form);
    if (!field || form.getAttribute("aria-busy") === "true") return;
    setError(form, null);
    if (!field.value.trim()) {
      setError(form, "Write something before posting.");
      return field.focus();
    }
    const button = $("[type=submit]", form);
    form.setAttribute("aria-busy", "true");
    if (button) button.disabled = true;
    try {
      const { comment } = await api("POST", `/api/v1/stories/${ds.storyId}/comments`, {
        body: field.value,
        parent_id: parent && parent.value ? Number(parent.value) : null,
      });
      const li = await fragment(comment.id);
      const host = form.classList.contains("reply-form") ? form.closest("li") : null;
      if (!li || !place(li, comment.parent_id, host, comment.status === "pending")) {
        location.hash = `c${comment.id}`;
        return location.reload();
      }
      field.value = "";
      updateCounter(field);
      if (comment.status === "published") bumpCount(1);
      if (host) closeReply(form, false);
      focusComment(li);
      announce(comment.status === "pending" ? "Your comment is awaiting moderation." : "Your comment was posted.");
    } catch (err) {
      setError(form, err.message);
      if (err.status === 401 && embed) offerSignIn(form);
    } finally {
      form.removeAttribute("aria-busy");
      if (button) button.disabled = false;
    }
  }

  // ---- inline reply forms

  function openReply(link) {
    const article = link.closest("article.comment");
    const host = article && article.closest("li");
    const main = $("#comment-form");
    if (!host || !main) return embed && !signedIn() ? signIn() : location.assign(link.href);
    const id = article.dataset.commentId;
    const open = $(":scope > form.reply-form", host);
    if (open) return $("textarea", open).focus();
    const form = main.cloneNode(true);
    form.id = `reply-form-${id}`;
    form.classList.add("reply-form");
    form.removeAttribute("aria-busy");
    for (const el of $$(".form-error, .embed-signin", form)) el.remove();
    const field = $("textarea", form);
    field.id = `reply-body-${id}`;
    field.value = "";
    field.removeAttribute("aria-invalid");
    field.removeAttribute("aria-describedby");
    const label = $("label", form);
    const author = $(".comment-author", article);
    if (label) {
      label.htmlFor = field.id;
      label.textContent = author ? `Reply to ${author.textContent.trim()}` : "Your reply";
    }
    const out = $(".char-count", form);
    if (out) out.setAttribute("for", field.id);
    let parent = $("input[name=parent_id]", form);
    if (!parent) form.append((parent = h("input", { type: "hidden", name: "parent_id" })));
    parent.value = id;
    const submit = $("[type=submit]", form);
    if (submit) {
      submit.textContent = "Post reply";
      submit.disabled = false;
      submit.after(" ", h("button", { type: "button", class: "cancel-reply" }, "Cancel"));
    }
    article.after(form);
    link.setAttribute("aria-expanded", "true");
    link.setAttribute("aria-controls", form.id);
    updateCounter(field);
    field.focus();
  }

  function closeReply(form, restoreFocus = true) {
    const host = form.closest("li");
    const link = host && $(":scope > article .reply-link", host);
    form.remove();
    if (link) {
      link.setAttribute("aria-expanded", "false");
      if (restoreFocus) link.focus();
    }
  }

  // ---- reactions

  /** Shows a comment's count everywhere it appears, and the reader's own state if known. */
  function setReaction(id, count, reacted) {
    for (const article of articles(id)) {
      const shown = $(".comment-actions .reaction-count", article);
      if (shown && count != null) {
        shown.textContent = String(count);
        // An own comment's plain count: "<span class=reaction-count>N</span> likes"
        const word = shown.parentElement.matches(".reactions") && shown.nextSibling;
        if (word && word.nodeType === Node.TEXT_NODE) word.textContent = count === 1 ? " like" : " likes";
      }
      const form = $(".react-form", article);
      if (!form || reacted == null) continue;
      const button = $(".react-button", form) || $("button", form);
      if (button) button.setAttribute("aria-pressed", String(reacted));
      form.setAttribute("action", `/comments/${Number(id)}/${reacted ? "unreact" : "react"}`);
    }
  }

  async function toggleReaction(form) {
    const article = form.closest("article[data-comment-id]");
    if (!article || form.getAttribute("aria-busy") === "true") return;
    const id = article.dataset.commentId;
    const button = $(".react-button", form) || $("button", form);
    const pressed = button ? button.getAttribute("aria-pressed") === "true" : /unreact$/.test(form.getAttribute("action"));
    form.setAttribute("aria-busy", "true");
    try {
      const data = await api(pressed ? "DELETE" : "POST", `/api/v1/comments/${id}/reactions`);
      setReaction(id, data.reaction_count, data.reacted);
      setError(form, null);
    } catch (err) {
      setError(form, err.message);
      if (err.status === 401 && embed) offerSignIn(form);
    } finally {
      form.removeAttribute("aria-busy");
    }
  }

  // ---- live updates

  const waiting = new Map(); // comment id -> parent id, in arrival order
  let bar = null;

  function liveBar() {
    if (!bar) {
      bar = h("div", { class: "new-comments-bar", "aria-live": "polite" });
      ($("ol.comments") || status).before(bar);
    }
    return bar;
  }

  function renderWaiting() {
    let button = $("button.new-comments", liveBar());
    if (!waiting.size) return button && button.remove();
    if (!button) bar.append((button = h("button", { type: "button", class: "new-comments" })));
    button.disabled = false;
    button.textContent = plural(waiting.size, "new comment");
  }

  async function showWaiting(button) {
    const items = Array.from(waiting);
    waiting.clear();
    button.disabled = true;
    const lis = await Promise.all(items.map(([id]) => (inPage(id) ? null : fragment(id))));
    const shown = lis.filter((li, i) => li && !inPage(items[i][0]) && place(li, items[i][1]));
    bumpCount(shown.length);
    renderWaiting();
    // Focus the topmost of them, so keyboard users start reading where they appeared.
    shown.sort((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
    if (shown[0]) focusComment(shown[0]);
    announce(shown.length ? `${plural(shown.length, "new comment")} shown.` : "Those comments are no longer available.");
  }

  /** Re-renders a comment in place (edited, deleted). */
  async function refresh(id, deleted) {
    if (!inPage(id)) return;
    const li = await fragment(id);
    const fresh = li && $("article", li);
    for (const old of articles(id)) {
      // A deleted comment without replies goes altogether, as on a fresh page.
      const thread = old.closest("li");
      if (deleted && !$("ol.replies li", thread)) {
        thread.remove();
        continue;
      }
      if (!fresh) continue;
      const focused = old.contains(document.activeElement);
      const copy = fresh.cloneNode(true);
      old.replaceWith(copy);
      if (focused) {
        copy.setAttribute("tabindex", "-1");
        copy.focus({ preventScroll: true });
      }
    }
  }

  function connect() {
    if (!ds.eventsUrl || !window.EventSource) return;
    liveBar(); // the live region is there before anything is said in it
    const source = new EventSource(ds.eventsUrl);
    const on = (name, fn) =>
      source.addEventListener(name, (ev) => {
        let e = null;
        try {
          e = JSON.parse(ev.data);
        } catch (_) {
          /* ignored */
        }
        if (e && (e.comment_id != null || name === "reset")) fn(e, e.comment_id);
      });
    on("comment_published", (e, id) => {
      if (inPage(id) || waiting.has(id)) return;
      if (userId && String(e.author_id) === String(userId)) return;
      // A reply waits too when its parent is here or waiting; not when it is on another page.
      if (e.parent_id && !threadOf(e.parent_id) && !waiting.has(e.parent_id)) return;
      waiting.set(id, e.parent_id || null);
      renderWaiting();
    });
    on("reactions_changed", (e, id) => e.reaction_count != null && setReaction(id, e.reaction_count));
    on("comment_edited", (e, id) => refresh(id));
    on("comment_deleted", (e, id) => (waiting.delete(id) ? renderWaiting() : refresh(id, true)));
    // We missed more than the server kept: reload, unless that would lose a draft.
    on("reset", () => {
      if (!$$("textarea").some((t) => t.value.trim())) return location.reload();
      if (!$(".reload-comments", liveBar())) bar.append(h("button", { type: "button", class: "reload-comments" }, "Show the latest comments"));
    });
  }

  // ---- embed: height, sign-in popup, bearer token

  /** The height of the content, whatever min-height the page's body has. */
  function contentHeight() {
    let bottom = 0;
    for (const el of document.body.children) {
      const r = el.getBoundingClientRect();
      if (r.width || r.height) bottom = Math.max(bottom, r.bottom + (parseFloat(getComputedStyle(el).marginBottom) || 0));
    }
    const cs = getComputedStyle(document.body);
    return Math.ceil(bottom + scrollY + (parseFloat(cs.paddingBottom) || 0) + (parseFloat(cs.borderBottomWidth) || 0) + (parseFloat(cs.marginBottom) || 0));
  }

  function watchHeight() {
    if (window.parent === window) return;
    let last = -1;
    let queued = false;
    const post = () => {
      queued = false;
      const height = contentHeight();
      if (height !== last) window.parent.postMessage({ type: "parley:height", height: (last = height) }, "*");
    };
    const schedule = () => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(post);
    };
    if (window.ResizeObserver) {
      const ro = new ResizeObserver(schedule);
      for (const el of [document.body, root, ...document.body.children]) ro.observe(el);
    }
    new MutationObserver(schedule).observe(document.body, { childList: true, subtree: true, attributes: true });
    addEventListener("load", schedule);
    addEventListener("resize", schedule);
    post();
  }

  let popup = null;
  function signIn(button) {
    const url = (button && (button.dataset.signinUrl || button.getAttribute("href"))) || signinUrl;
    popup = window.open(url, "parley-signin", "width=480,height=640");
    if (!popup) announce("The sign-in window was blocked. Allow pop-ups for this site and try again.");
  }

  /** After the server refused the token: a way to sign in again, next to the error. */
  function offerSignIn(form) {
    let button = $(".embed-signin");
    if (!button) {
      button = h("button", { type: "button", class: "embed-signin", "data-signin-url": signinUrl }, "Sign in again");
      ($(".form-error", form) || $("[type=submit]", form) || form).after(button);
    }
    button.focus();
  }

  function storeToken(value) {
    token = value;
    try {
      value ? sessionStorage.setItem(TOKEN_KEY, value) : sessionStorage.removeItem(TOKEN_KEY);
    } catch (_) {
      /* storage can be blocked in third-party frames: memory is enough */
    }
  }

  /** The comment box of the contract, for a reader signed in by token. */
  function commentForm() {
    const slug = encodeURIComponent(ds.storySlug || "");
    return h(
      "form",
      { id: "comment-form", class: "comment-form", method: "post", action: `/stories/${slug}/comments` },
      h("label", { for: "comment-body" }, "Enter comments here"),
      h("textarea", { id: "comment-body", name: "body", maxlength: String(maxChars || 5000), required: "" }),
      h("output", { class: "char-count", for: "comment-body", "aria-live": "polite" }),
      h("input", { type: "hidden", name: "parent_id", value: "" }),
      h("button", { type: "submit" }, "Post comment"),
    );
  }

  function becomeSignedIn(user) {
    if (user && user.id != null) userId = String(user.id);
    ds.signedIn = "true";
    ds.userId = userId;
    for (const again of $$("form .embed-signin")) again.remove();
    ownComments();
    markReactions();
    if ($("#comment-form") || $(".notice-closed")) return;
    const who = h("p", { class: "embed-user" }, "Signed in as ", h("strong", {}, (user && user.display_name) || "you"), " ");
    who.append(h("button", { type: "button", class: "embed-signout" }, "Sign out"));
    const form = commentForm();
    const signin = $(".embed-signin");
    const slot = signin && (signin.closest(".signin-prompt") || signin);
    if (slot) slot.replaceWith(who, form);
    else ($(".sort-switcher") || $(".selected-comments") || $("ol.comments") || status).before(who, form);
    updateCounter($("textarea", form));
  }

  /** The page was rendered for nobody: the reader's own comments lose what only others do. */
  function ownComments() {
    for (const article of $$(`article[data-author-id="${Number(userId)}"]`)) {
      article.classList.add("comment-own");
      for (const link of $$(".report-link", article)) link.remove();
      const form = $(".react-form", article);
      if (!form) continue;
      const n = parseInt($(".reaction-count", form)?.textContent, 10) || 0;
      form.replaceWith(h("span", { class: "reactions" }, h("span", { class: "reaction-count" }, String(n)), n === 1 ? " like" : " likes"));
    }
  }

  /** The page was rendered for nobody: show what this reader reacted to. */
  async function markReactions() {
    const ids = Array.from(new Set($$("article[data-comment-id]").map((a) => a.dataset.commentId))).slice(0, 500);
    const data = await api("GET", `/api/v1/stories/${ds.storyId}/viewer?ids=${ids.join(",")}`).catch(() => null);
    if (!data) return;
    const reacted = new Set((data.reacted || []).map(String));
    for (const id of ids) setReaction(id, null, reacted.has(id));
  }

  function setupEmbed() {
    const button = $(".embed-signin");
    if (button) signinUrl = button.dataset.signinUrl || button.getAttribute("href") || signinUrl;
    watchHeight();
    addEventListener("message", (e) => {
      const d = e.data;
      if (e.origin !== location.origin || !d || d.type !== "parley:token" || typeof d.token !== "string" || !d.token) return;
      storeToken(d.token);
      if (popup && !popup.closed) popup.close();
      becomeSignedIn(d.user);
      const field = $("#comment-body");
      if (field) field.focus();
      announce(d.user && d.user.display_name ? `Signed in as ${d.user.display_name}.` : "Signed in.");
    });
    let stored = null;
    try {
      stored = sessionStorage.getItem(TOKEN_KEY);
    } catch (_) {
      /* blocked storage: sign in again */
    }
    if (stored && ds.signedIn !== "true") {
      token = stored;
      api("GET", "/api/v1/me").then((d) => becomeSignedIn(d.user), () => storeToken(null));
    }
    // Single sign-on: the newsroom's token, handed over in the fragment by embed.js.
    const sso = new URLSearchParams(location.hash.slice(1)).get("sso");
    if (sso) {
      history.replaceState(null, "", location.pathname + location.search);
      const site = new URLSearchParams(location.search).get("site") || undefined;
      api("POST", "/api/v1/sso/session", { token: sso, site, session: "token" }).then(
        (d) => {
          storeToken(d.token);
          becomeSignedIn(d.user);
        },
        (e) => announce(e.message),
      );
    }
  }

  // ---- wiring

  root.addEventListener("submit", (e) => {
    const form = e.target;
    const react = form.matches(".react-form");
    if (!react && !form.matches(".comment-form")) return;
    if (!signedIn()) {
      if (!embed) return; // the plain form leads to sign-in
      e.preventDefault();
      return signIn();
    }
    e.preventDefault();
    react ? toggleReaction(form) : submitComment(form);
  });

  root.addEventListener("click", (e) => {
    const t = e.target.closest("a, button");
    if (!t || e.defaultPrevented || e.button || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    if (t.matches(".reply-link")) {
      if (!signedIn() && !embed) return;
      e.preventDefault();
      openReply(t);
    } else if (t.matches(".cancel-reply")) closeReply(t.closest("form"));
    else if (t.matches(".new-comments")) showWaiting(t);
    else if (t.matches(".reload-comments")) location.reload();
    else if (t.matches(".embed-signin")) {
      e.preventDefault();
      signIn(t);
    } else if (t.matches(".embed-signout")) {
      api("DELETE", "/api/v1/sessions/current").catch(() => null).then(() => {
        storeToken(null);
        location.reload();
      });
    }
  });

  root.addEventListener("keydown", (e) => {
    const form = e.key === "Escape" && e.target.closest("form.reply-form");
    if (form) {
      e.preventDefault();
      closeReply(form);
    }
  });

  root.addEventListener("input", (e) => {
    if (e.target.matches(".comment-form textarea")) updateCounter(e.target);
  });

  for (const field of $$(".comment-form textarea")) updateCounter(field);
  if (embed) setupEmbed();
  connect();
})();
