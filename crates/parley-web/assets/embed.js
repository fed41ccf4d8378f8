/* Parley embed loader. On an article page:
     <div id="parley-comments"></div>
     <script src="https://comments.courier.example/embed.js" data-site="courier" async></script>
   Optional: data-url (the story's URL; default: the canonical link, else this page's
   address without its #fragment), data-title (default: document.title), data-container
   (a CSS selector; default: #parley-comments), data-sso-token (a single sign-on token
   from the newsroom's server, docs/INTEGRATION.md: signs the reader in). Shows the conversation in an iframe
   that takes the height of its content. */
(() => {
  "use strict";
  const script =
    document.currentScript || Array.from(document.querySelectorAll("script[src]")).find((s) => /\/embed\.js(\?|#|$)/.test(s.src));
  if (!script) return;
  const origin = new URL(script.src, location.href).origin;
  const opts = script.dataset;

  function storyUrl() {
    if (opts.url) return new URL(opts.url, location.href).href;
    const canonical = document.querySelector('link[rel="canonical"][href]');
    if (canonical) return canonical.href;
    const here = new URL(location.href);
    here.hash = "";
    return here.href;
  }

  function mount() {
    let container = document.querySelector(opts.container || "#parley-comments");
    if (!container && !opts.container && document.body && document.body.contains(script)) {
      container = document.createElement("div"); // no container: show it where the tag is
      container.id = "parley-comments";
      script.before(container);
    }
    if (!container) return;
    if (container.querySelector("iframe.parley-frame")) return; // loaded twice
    const src = new URL("/embed", origin);
    if (opts.site) src.searchParams.set("site", opts.site);
    src.searchParams.set("url", storyUrl());
    src.searchParams.set("title", opts.title || document.title || "");
    // Single sign-on: in the fragment, so it reaches the frame's script but no server log,
    // cache key or Referer.
    if (opts.ssoToken) src.hash = new URLSearchParams({ sso: opts.ssoToken }).toString();
    const frame = document.createElement("iframe");
    frame.className = "parley-frame";
    frame.src = src.href;
    frame.title = "Comments";
    // Parley shows a site's conversations only on that site's pages: it must see where
    // the frame is, even when this page sends no referrer by default.
    frame.referrerPolicy = "strict-origin";
    frame.style.cssText = "display:block;width:100%;border:0;height:320px;overflow:hidden;";
    window.addEventListener("message", (e) => {
      if (e.origin !== origin || e.source !== frame.contentWindow) return;
      const d = e.data;
      if (!d || d.type !== "parley:height") return;
      const height = Number(d.height);
      if (Number.isFinite(height) && height > 0) frame.style.height = `${Math.min(Math.ceil(height), 1000000)}px`;
    });
    container.append(frame);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
