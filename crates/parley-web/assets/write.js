// The story form's preview without a round trip: the Preview button asks
// POST /api/v1/preview for the body rendered as the story page renders it, and shows it.
// Without this script the button submits the form and the server shows the preview.
// Markup it relies on (templates/write.html): form.write-form[data-preview-url],
// its button.preview-button and textarea[name=body], and #write-preview .story-body.
(function () {
  "use strict";
  var form = document.querySelector("form.write-form");
  var button = form && form.querySelector("button.preview-button");
  var body = form && form.querySelector("textarea[name=body]");
  var section = document.getElementById("write-preview");
  var target = section && section.querySelector(".story-body");
  if (!form || !button || !body || !section || !target || !window.fetch) return;

  var timer = null;
  var live = false;

  function render(show) {
    return fetch(form.getAttribute("data-preview-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ body: body.value }),
    })
      .then(function (r) {
        if (!r.ok) throw new Error("preview failed: " + r.status);
        return r.json();
      })
      .then(function (data) {
        // The server sanitised this HTML (the same renderer as the story page).
        target.innerHTML = data.html;
        section.hidden = false;
        if (show) section.scrollIntoView({ block: "nearest" });
        live = true;
      });
  }

  button.addEventListener("click", function (event) {
    event.preventDefault();
    render(true).catch(function () {
      // Fall back to the server-rendered preview.
      var marker = document.createElement("input");
      marker.type = "hidden";
      marker.name = "preview";
      marker.value = "1";
      form.appendChild(marker);
      form.submit();
    });
  });

  // Once shown, the preview follows the text as it is typed.
  body.addEventListener("input", function () {
    if (!live) return;
    clearTimeout(timer);
    timer = setTimeout(function () {
      render(false).catch(function () {});
    }, 400);
  });
})();
