// Keys in the approval queue: j/k (or the arrows) move between cards, a approves, e edits, r rejects (the
// reason first), Enter opens the mention, ? lists the keys, Escape closes the list or leaves a field. Keys do
// nothing while the person types in a field (except Escape, which hands the keys back). Loaded by queue.html
// only; the Content-Security-Policy forbids inline scripts, so everything is wired through data attributes.
(function () {
  "use strict";

  function cards() { return Array.from(document.querySelectorAll("#queue-cards > [data-reply-id]")); }
  function selected() { return document.querySelector("#queue-cards > [data-reply-id].selected"); }
  function help() { return document.getElementById("keys-help"); }

  function select(card) {
    cards().forEach(function (other) { other.classList.remove("selected"); other.removeAttribute("aria-current"); });
    if (!card) { return; }
    card.classList.add("selected");
    card.setAttribute("aria-current", "true");
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var all = cards();
    if (!all.length) { return; }
    var index = all.indexOf(selected());
    select(all[index < 0 ? 0 : Math.max(0, Math.min(all.length - 1, index + step))]);
  }

  function within(key) {
    var card = selected() || cards()[0];
    if (card && !card.classList.contains("selected")) { select(card); }
    return card ? card.querySelector('[data-card-key="' + key + '"], [data-action="' + key + '"]') : null;
  }

  function field(key) {
    var box = within(key);
    if (box) { box.focus(); if (box.setSelectionRange) { box.setSelectionRange(box.value.length, box.value.length); } }
  }

  function approve() {
    var button = within("approve");
    // A card drawn a moment ago may not be wired by htmx yet: wire it, so the key sends the card's HTMX request.
    if (button && window.htmx) { window.htmx.process(button.closest("[data-reply-id]")); }
    if (button) { button.click(); }
  }

  function open() {
    var link = within("open");
    if (link) { link.click(); }
  }

  function showHelp(show) {
    var panel = help();
    if (!panel) { return; }
    panel.hidden = !show;
    if (show) { panel.querySelector("[data-keys-close]").focus(); } else { (selected() || document.body).focus(); }
  }

  var KEYS = {
    j: function () { move(1); }, ArrowDown: function () { move(1); },
    k: function () { move(-1); }, ArrowUp: function () { move(-1); },
    a: approve, e: function () { field("edit"); }, r: function () { field("reject"); },
    Enter: open, "?": function () { showHelp(true); }
  };

  document.addEventListener("keydown", function (event) {
    if (!document.getElementById("queue-cards")) { return; }
    var typing = event.target.matches && event.target.matches("input, textarea, select, [contenteditable]");
    if (event.key === "Escape") {
      if (help() && !help().hidden) { showHelp(false); event.preventDefault(); return; }
      if (typing) { event.target.blur(); (event.target.closest("[data-reply-id]") || document.body).focus(); }
      return;
    }
    if (typing || event.ctrlKey || event.metaKey || event.altKey || (help() && !help().hidden && event.key !== "?")) {
      return;
    }
    // Enter on a link or a button is the browser's own: it follows or presses what has the focus.
    if (event.key === "Enter" && event.target.matches && event.target.matches("a, button")) { return; }
    if (KEYS[event.key]) { event.preventDefault(); KEYS[event.key](); }
  });

  document.addEventListener("click", function (event) {
    if (!event.target.closest) { return; }
    if (event.target.closest("[data-keys-help]")) { showHelp(true); }
    if (event.target.closest("[data-keys-close]")) { showHelp(false); }
    var card = event.target.closest("#queue-cards > [data-reply-id]");
    if (card && !card.classList.contains("selected")) {
      cards().forEach(function (other) { other.classList.remove("selected"); other.removeAttribute("aria-current"); });
      card.classList.add("selected");
      card.setAttribute("aria-current", "true");
    }
  });

  // A card decided or drawn again keeps the selection on the same reply.
  document.addEventListener("htmx:afterSwap", function (event) {
    var card = event.detail.target && document.getElementById(event.detail.target.id);
    if (card && card.matches("#queue-cards > [data-reply-id]") && !selected()) { card.classList.add("selected"); }
  });
})();
