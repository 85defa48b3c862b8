// The reply boxes' length counters: each textarea[data-platform] has an <output data-length-for=its id>.
// The count is the server's (POST /api/v1/length, debounced), never a rule of our own; a form whose reply is
// over the limit cannot be submitted (its buttons are disabled and a submit is stopped before htmx sees it).
(function () {
  "use strict";

  var DEBOUNCE_MS = 150;

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; }
    catch (error) { return ""; }
  }

  function counterOf(area) { return document.querySelector('output[data-length-for="' + area.id + '"]'); }

  function show(area, measured) {
    var over = measured.length > measured.limit;
    var counter = counterOf(area);
    if (counter) {
      counter.textContent = measured.length + " / " + measured.limit + " " + measured.unit +
        (over ? ": " + (measured.length - measured.limit) + " over the limit" : "");
      counter.classList.toggle("over", over);
    }
    area.dataset.over = over ? "1" : "";
    area.setAttribute("aria-invalid", over ? "true" : "false");
    if (area.form) {
      area.form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = over; });
    }
  }

  function measure(area) {
    var asked = (area.harkenAsked = (area.harkenAsked || 0) + 1);
    return fetch("/api/v1/length", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
      body: JSON.stringify({ platform: area.dataset.platform, text: area.value })
    }).then(function (response) { return response.ok ? response.json() : null; })
      .catch(function () { return null; })
      .then(function (measured) {
        // Only the latest answer counts: an earlier, slower one must not overwrite it.
        if (asked !== area.harkenAsked) { return measured; }
        // No answer (offline, signed out): leave the check to the server rather than block the form.
        if (measured) { show(area, measured); }
        delete area.dataset.pending;
        return measured || { length: 0, limit: 1 };
      });
  }

  // A page (or a card swapped in by htmx) drawn with a text already over the limit starts blocked.
  function settle(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("textarea[data-platform]").forEach(function (area) {
      var counter = counterOf(area);
      if (counter && counter.classList.contains("over")) {
        area.dataset.over = "1";
        area.setAttribute("aria-invalid", "true");
        if (area.form) {
          area.form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = true; });
        }
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { settle(document); });
  document.addEventListener("htmx:load", function (event) { settle(event.target); });

  function isReplyBox(element) { return element && element.matches && element.matches("textarea[data-platform]"); }

  document.addEventListener("input", function (event) {
    var area = event.target;
    if (!isReplyBox(area)) { return; }
    area.dataset.pending = "1";
    clearTimeout(area.harkenTimer);
    area.harkenTimer = setTimeout(function () { measure(area); }, DEBOUNCE_MS);
  });

  // Capture phase on the document: runs before htmx's own submit handler on the form.
  document.addEventListener("submit", function (event) {
    var area = event.target.querySelector && event.target.querySelector("textarea[data-platform]");
    if (!area) { return; }
    if (area.dataset.over === "1" || area.dataset.pending === "1") {
      event.preventDefault();
      event.stopImmediatePropagation();
      if (area.dataset.pending === "1") {
        // Typed a moment ago: count now, then send only if it fits.
        clearTimeout(area.harkenTimer);
        var form = event.target, submitter = event.submitter;
        measure(area).then(function (measured) {
          if (measured && measured.length <= measured.limit) { form.requestSubmit(submitter || undefined); }
        });
      }
    }
  }, true);
})();

// A queue card whose text has approvals: while the box holds an edit, say before it is saved whose approval the
// edit voids (the <p data-voids-for> the card is drawn with, hidden until then).
(function () {
  "use strict";
  document.addEventListener("input", function (event) {
    var area = event.target;
    if (!area.id) { return; }
    var warning = document.querySelector('[data-voids-for="' + area.id + '"]');
    if (warning) { warning.hidden = area.value === area.defaultValue; }
  });
})();
