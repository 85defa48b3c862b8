// Harken's own script: keyboard shortcuts for the inbox, charts, filling a reply from an alternative.
// Loaded from this origin only (the Content-Security-Policy forbids inline scripts), so it wires
// everything through data attributes.
(function () {
  "use strict";

  function rows() { return Array.from(document.querySelectorAll("tr[data-mention-id]")); }

  function select(row) {
    rows().forEach(function (r) { r.classList.remove("selected"); r.removeAttribute("aria-selected"); });
    if (row) {
      row.classList.add("selected");
      row.setAttribute("aria-selected", "true");
      row.scrollIntoView({ block: "nearest" });
      sessionStorage.setItem("harken-selected", row.dataset.mentionId);
    }
  }

  function selected() { return document.querySelector("tr[data-mention-id].selected"); }

  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    var index = all.indexOf(selected());
    select(all[Math.max(0, Math.min(all.length - 1, index < 0 ? 0 : index + step))]);
  }

  function press(name) {
    var row = selected();
    var target = row && row.querySelector('[data-shortcut="' + name + '"]');
    // A row swapped in a moment ago may not be wired up by htmx yet (that happens as it settles):
    // wire it now, so the key sends an HTMX request rather than a full-page form post.
    if (row && window.htmx) { window.htmx.process(row); }
    if (target) { target.click(); }
  }

  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    // A focused button or link keeps Enter for itself (Enter on the menu button opens the menu, not a mention);
    // the letter shortcuts still work after a click on a row's button.
    var activates = event.key === "Enter" && (tag === "button" || tag === "a");
    if (event.ctrlKey || event.metaKey || event.altKey || tag === "input" || tag === "textarea" || tag === "select" ||
        activates) {
      return;
    }
    if (!rows().length) { return; }
    var actions = { j: function () { move(1); }, k: function () { move(-1); },
                    a: function () { press("assign"); }, e: function () { press("resolve"); },
                    o: function () { press("open"); }, Enter: function () { press("open"); },
                    x: function () { var box = selected() && selected().querySelector("input[type=checkbox]");
                                     if (box) { box.checked = !box.checked; } } };
    if (actions[event.key]) { event.preventDefault(); actions[event.key](); }
  });

  // After HTMX replaces a row (assign, resolve) or the results, keep the selection on the same mention.
  // htmx:load fires on the new content, which is in the document (the replaced element no longer is).
  document.addEventListener("htmx:load", function () {
    var id = sessionStorage.getItem("harken-selected");
    var row = id && document.querySelector('tr[data-mention-id="' + id + '"]');
    if (row) { select(row); }
    drawCharts();
  });

  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("tr[data-mention-id]");
    if (row && !event.target.closest("a, button, input, select")) { select(row); }
    var alt = event.target.closest && event.target.closest("[data-fill]");
    if (alt) {
      var area = document.getElementById(alt.dataset.fill);
      // An input event, so the length counter counts the filled-in text.
      if (area) { area.value = alt.dataset.text; area.dispatchEvent(new Event("input", { bubbles: true })); area.focus(); }
    }
    var confirmer = event.target.closest && event.target.closest("[data-confirm]");
    if (confirmer && !window.confirm(confirmer.dataset.confirm)) { event.preventDefault(); }
  });

  // The navigation's menu button (narrow screens): a real button, so Enter and Space open it; Escape closes
  // it and gives the focus back to the button.
  function setMenu(open) {
    var button = document.querySelector("[data-menu-toggle]");
    if (!button) { return; }
    button.setAttribute("aria-expanded", open ? "true" : "false");
    button.closest(".topbar").classList.toggle("open", open);
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest("[data-menu-toggle]");
    if (toggle) { setMenu(toggle.getAttribute("aria-expanded") !== "true"); }
  });

  document.addEventListener("keydown", function (event) {
    var button = document.querySelector('[data-menu-toggle][aria-expanded="true"]');
    if (event.key === "Escape" && button) { setMenu(false); button.focus(); }
  });

  function drawCharts() {
    if (!window.Chart) { return; }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) { return; }
      canvas.dataset.drawn = "1";
      new window.Chart(canvas, JSON.parse(canvas.dataset.chart));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    var id = sessionStorage.getItem("harken-selected");
    var row = id && document.querySelector('tr[data-mention-id="' + id + '"]');
    if (row) { select(row); }
  });
})();
