// Errors next to what the person acted on. An HTMX request that fails (4xx, 5xx, no answer) changes nothing on
// the page (base.html's htmx-config: no swap for errors), so typed text stays; its message is shown inside the
// closest [data-error-scope] around the element that sent it (a queue card, an inbox row, a form), and stays
// there until a later request from the same place succeeds. Elsewhere, in the page's message area.
(function () {
  "use strict";

  function scopeOf(element) {
    return (element && element.closest && element.closest("[data-error-scope]")) || document.getElementById("flash");
  }

  // A table row cannot hold a paragraph: its last cell does.
  function holder(scope) { return scope.tagName === "TR" ? scope.lastElementChild || scope : scope; }

  function messageOf(xhr) {
    var text = "";
    try {
      // Parsed, never inserted: only its text is used.
      var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
      var found = doc.querySelector(".error");
      text = ((found || doc.body) && (found || doc.body).textContent) || "";
    } catch (error) { text = ""; }
    text = text.trim();
    if (!text && xhr.responseText) {
      try { text = JSON.parse(xhr.responseText).detail || ""; } catch (error) { text = ""; }
    }
    return text || "The server answered " + xhr.status + ": nothing was changed. Try again.";
  }

  function show(scope, message) {
    if (!scope) { return; }
    var place = holder(scope);
    var box = place.querySelector(":scope > .inline-error");
    if (!box) {
      box = document.createElement("p");
      box.className = "error inline-error";
      box.setAttribute("role", "alert");
      place.prepend(box);
    }
    box.textContent = message;
    box.scrollIntoView({ block: "nearest" });
  }

  function clear(scope) {
    var box = scope && holder(scope).querySelector(":scope > .inline-error");
    if (box) { box.remove(); }
  }

  // What the person typed in the stale item (an edited reply, a rejection reason) survives its refresh; null when
  // the fresh item has no box for some of it (a reply rejected meanwhile has no text box): then no refresh.
  function keepTyped(stale, fresh) {
    var carried = [], lost = false;
    stale.querySelectorAll("textarea[name], input[type=text][name]").forEach(function (field) {
      if (field.value === field.defaultValue) { return; }
      var form = field.form && field.form.getAttribute("action"), found = false;
      fresh.querySelectorAll(field.tagName.toLowerCase() + '[name="' + field.name + '"]').forEach(function (twin) {
        if (!twin.form || twin.form.getAttribute("action") === form) {
          twin.value = field.value;
          carried.push(twin);
          found = true;
        }
      });
      lost = lost || !found;
    });
    return lost ? null : carried;
  }

  // A change refused as stale (someone changed the item meanwhile) comes with the item as it is now: it takes
  // the stale one's place, so the screen shows who has it, and the message shows inside it.
  function current(event) {
    var target = event.detail.target;
    if (!target || !target.id || event.detail.xhr.status !== 409) { return null; }
    var parsed = document.createElement("template");
    parsed.innerHTML = event.detail.xhr.responseText || "";
    var wrapped = parsed.content.querySelector("template[data-current-item]");
    var fresh = wrapped && wrapped.content.getElementById(target.id);
    if (!fresh) { return null; }
    fresh = document.importNode(fresh, true);
    var carried = keepTyped(target, fresh);
    if (!carried) { return null; }  // what they typed matters more than the refresh: the message says what changed
    target.replaceWith(fresh);
    if (window.htmx) { window.htmx.process(fresh); }
    // The length counter and the "voids an approval" warning follow the carried text, as if typed again.
    carried.forEach(function (field) { field.dispatchEvent(new Event("input", { bubbles: true })); });
    return fresh;
  }

  document.addEventListener("htmx:responseError", function (event) {
    var fresh = current(event);
    show(fresh || scopeOf(event.detail.elt), messageOf(event.detail.xhr));
  });
  document.addEventListener("htmx:sendError", function (event) {
    show(scopeOf(event.detail.elt), "Harken could not be reached: nothing was changed. Try again.");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful) { clear(scopeOf(event.detail.elt)); }
  });

  // "Apply to selected" with nothing selected: say so where the person looks, without asking the server.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "bulk") { return; }
    if (!document.querySelector('input[name="ids"][form="bulk"]:checked')) {
      event.preventDefault();
      event.stopImmediatePropagation();
      show(form, "Select at least one mention first: tick its box, or press x on its row.");
    }
  }, true);
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.name === "ids" && box.checked) { clear(document.getElementById("bulk")); }
  });
})();
