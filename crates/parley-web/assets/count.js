/* Parley comment counts for a listing page:
     <a href="/2026/riverside-road">Riverside Road</a>
     <span data-parley-count-url="https://courier.example/2026/riverside-road"></span>
     <script src="https://comments.courier.example/count.js" data-site="courier" async></script>
   Each element with data-parley-count-url gets "N comments" for that story's URL. */
(() => {
  "use strict";
  const script =
    document.currentScript || Array.from(document.querySelectorAll("script[src]")).find((s) => /\/count\.js(\?|#|$)/.test(s.src));
  if (!script) return;
  const origin = new URL(script.src, location.href).origin;
  const site = script.dataset.site;
  const BATCH = 100; // the most URLs one request may name

  const label = (n) => `${n} ${n === 1 ? "comment" : "comments"}`;

  async function fill(urls, byUrl) {
    const query = new URLSearchParams();
    if (site) query.set("site", site);
    for (const url of urls) query.append("url", url);
    let data;
    try {
      const res = await fetch(`${origin}/api/v1/counts?${query}`, { credentials: "omit" });
      if (!res.ok) return;
      data = await res.json();
    } catch (_) {
      return;
    }
    const counts = (data && data.counts) || {};
    for (const url of urls) {
      const n = Number(counts[url]);
      if (!Number.isFinite(n)) continue;
      for (const el of byUrl.get(url)) {
        el.textContent = label(n);
        el.dataset.parleyCount = String(n);
      }
    }
  }

  function run() {
    const byUrl = new Map();
    for (const el of document.querySelectorAll("[data-parley-count-url]")) {
      const raw = el.getAttribute("data-parley-count-url").trim();
      if (!raw) continue;
      const url = new URL(raw, location.href).href;
      if (!byUrl.has(url)) byUrl.set(url, []);
      byUrl.get(url).push(el);
    }
    const urls = Array.from(byUrl.keys());
    for (let i = 0; i < urls.length; i += BATCH) fill(urls.slice(i, i + BATCH), byUrl);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();
