// Parley moderation queue: keyboard shortcuts, actions without a page reload, and a
// queue that updates itself over Server-Sent Events. Without this script every action
// is a plain form and the page still works; see docs/MODERATION.md.
(function () {
  "use strict";

  var page = document.getElementById("mod-page");
  var list = document.getElementById("mod-items");
  if (!page || !list) return;

  var queue = page.dataset.queue || "pending";
  var storyFilter = page.dataset.story || "";
  var textFilter = page.dataset.q || "";
  var live = document.getElementById("mod-live");
  var empty = document.getElementById("mod-empty");
  var help = document.getElementById("mod-shortcuts");

  function items() {
    return Array.prototype.slice.call(list.querySelectorAll(":scope > .mod-item"));
  }

  function say(text) {
    if (!live) return;
    live.textContent = "";
    // A fresh text node makes screen readers announce a repeated message too.
    window.setTimeout(function () { live.textContent = text; }, 30);
  }

  function updateEmpty() {
    if (empty) empty.hidden = items().length > 0;
  }

  // The status a comment has in each queue.
  var QUEUE_STATUS = {
    pending: "pending",
    rejected: "rejected",
    approved: "published",
    featured: "published",
    reported: "published",
  };

  var current = null;

  function setCurrent(el, focus) {
    if (current && current !== el) current.classList.remove("is-current");
    current = el || null;
    if (!current) return;
    current.classList.add("is-current");
    if (focus !== false) {
      current.focus({ preventScroll: true });
      current.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    var all = items();
    if (!all.length) return;
    var i = current ? all.indexOf(current) : -1;
    var next = i < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, i + step));
    setCurrent(all[next]);
  }

  function itemUrl(id) {
    var q = [];
    if (storyFilter) q.push("story=" + encodeURIComponent(storyFilter));
    if (textFilter) q.push("q=" + encodeURIComponent(textFilter));
    return "/moderate/" + queue + "/items/" + id + (q.length ? "?" + q.join("&") : "");
  }

  function removeItem(el) {
    if (el === current) {
      var all = items();
      var i = all.indexOf(el);
      setCurrent(all[i + 1] || all[i - 1] || null, document.activeElement === el);
    }
    el.remove();
    updateEmpty();
  }

  // Newest first: an item goes before the first one with a smaller id.
  function insertItem(el) {
    var id = Number(el.dataset.id);
    var before = items().find(function (other) { return Number(other.dataset.id) < id; });
    list.insertBefore(el, before || null);
    updateEmpty();
  }

  function parseItem(html) {
    var t = document.createElement("template");
    t.innerHTML = html.trim();
    var el = t.content.firstElementChild;
    return el && el.classList.contains("mod-item") ? el : null;
  }

  // Refreshes of one comment run one after another, so an older answer (held) never
  // lands after a newer one (approved elsewhere).
  var inFlight = {};

  function refresh(id, arrived) {
    var next = (inFlight[id] || Promise.resolve()).then(function () { return refreshNow(id, arrived); });
    inFlight[id] = next;
    next.then(function () { if (inFlight[id] === next) delete inFlight[id]; });
    return next;
  }

  // Asks the server whether comment `id` belongs in this queue view now, and shows it
  // as it is (or takes it away).
  function refreshNow(id, arrived) {
    return fetch(itemUrl(id), { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (res) {
        var existing = document.getElementById("item-" + id);
        if (res.status === 204) {
          if (existing) {
            removeItem(existing);
            say("A comment left the queue.");
          }
          return;
        }
        if (!res.ok) return;
        return res.text().then(function (html) {
          var el = parseItem(html);
          if (!el) return;
          if (existing) {
            var wasCurrent = existing === current;
            existing.replaceWith(el);
            if (wasCurrent) setCurrent(el, document.activeElement === document.body || document.activeElement === null);
          } else {
            if (arrived) el.classList.add("is-new");
            insertItem(el);
            say("A new comment arrived in the queue.");
          }
        });
      })
      .catch(function () {});
  }

  function showError(item, text) {
    var p = item.querySelector(".mod-error");
    if (!p) {
      p = document.createElement("p");
      p.className = "mod-error";
      p.setAttribute("role", "alert");
      item.querySelector("article").appendChild(p);
    }
    p.textContent = text;
  }

  // Actions on one item go by fetch; the server answers as it does for the plain form
  // (a redirect to the queue, or a page saying why not).
  list.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("mod-action")) return;
    var item = form.closest(".mod-item");
    if (!item) return;
    event.preventDefault();
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(new FormData(form)).toString(),
    })
      .then(function (res) {
        if (res.ok) {
          say("Done: " + (form.dataset.action || "action") + ".");
          return refresh(item.dataset.id, false);
        }
        return res.text().then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var m = doc.querySelector(".message");
          showError(item, m ? m.textContent : "That was not done.");
        });
      })
      .catch(function () { showError(item, "The server could not be reached; nothing was changed."); })
      .then(function () { buttons.forEach(function (b) { b.disabled = false; }); });
  });

  list.addEventListener("click", function (event) {
    var item = event.target.closest && event.target.closest(".mod-item");
    if (item) setCurrent(item, false);
  });

  function submitIn(item, selector) {
    var form = item && item.querySelector(selector);
    if (!form) return false;
    if (form.requestSubmit) form.requestSubmit();
    else form.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
    return true;
  }

  function toggleHelp(open) {
    if (!help) return;
    var show = open === undefined ? !help.classList.contains("is-open") : open;
    help.classList.toggle("is-open", show);
    if (show) {
      help.setAttribute("tabindex", "-1");
      help.focus();
    } else if (current) {
      current.focus();
    }
  }

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var key = event.key;
    if (key === "Escape") {
      toggleHelp(false);
      return;
    }
    if (key === "?") {
      toggleHelp();
      event.preventDefault();
      return;
    }
    if (!current && "arfxo".indexOf(key) >= 0) move(1);
    var handled = true;
    switch (key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "a": handled = submitIn(current, 'form[data-action="approve"]'); break;
      case "r": handled = submitIn(current, 'form[data-action="reject"]'); break;
      case "f": handled = submitIn(current, 'form[data-action="feature"]'); break;
      case "x": {
        var box = current && current.querySelector(".mod-select");
        if (box) box.checked = !box.checked;
        handled = !!box;
        break;
      }
      case "o": {
        var link = current && current.querySelector(".mod-item-title a");
        if (link) window.location.href = link.href;
        handled = !!link;
        break;
      }
      default: handled = false;
    }
    if (handled) event.preventDefault();
  });

  // Live queue.
  if (window.EventSource) {
    var source = new EventSource("/api/v1/moderation/events");
    var kinds = ["published", "held", "edited", "deleted", "reported", "approved", "rejected", "featured", "unfeatured"];
    kinds.forEach(function (kind) {
      source.addEventListener(kind, function (e) {
        var data;
        try { data = JSON.parse(e.data); } catch (err) { return; }
        if (storyFilter && String(data.story_id) !== storyFilter) return;
        // Only ask the server about comments that are shown, or whose new status
        // fits this queue: a busy site publishes many comments a Pending page ignores.
        var shown = document.getElementById("item-" + data.comment_id);
        if (!shown && data.status !== QUEUE_STATUS[queue]) return;
        refresh(data.comment_id, true);
      });
    });
    source.addEventListener("reset", function () { window.location.reload(); });
    source.addEventListener("open", function () { page.dataset.live = "open"; });
    source.addEventListener("error", function () { page.dataset.live = "retrying"; });
  }

  updateEmpty();
})();
