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

  // A plain form post that was refused comes back as the page it was sent from, with the message in the page's
  // message area (base.html, data-form-error: the path the form posts to) and what was typed (data-typed). The
  // message goes next to that form, the typed values back into its fields (passwords never come back).
  function sameForm(action, typed) {
    var candidates = Array.prototype.filter.call(document.querySelectorAll("form"), function (form) {
      return (form.getAttribute("method") || "").toLowerCase() === "post" && form.getAttribute("action") === action;
    });
    // Several forms may post to one path (a reply per suggestion, then one's own): the one whose hidden fields
    // all sent these values (a suggestion's form is not the one for a reply that sent no suggestion).
    return candidates.filter(function (form) {
      return Array.prototype.every.call(form.querySelectorAll("input[type=hidden][name]"), function (hidden) {
        var sent = typed[hidden.name];
        return hidden.name === "csrf_token" || hidden.name === "page_path" || (!!sent && sent.indexOf(hidden.value) >= 0);
      });
    })[0] || candidates[0] || null;
  }

  function refill(form, typed) {
    var used = {};
    Array.prototype.forEach.call(form.elements, function (field) {
      var type = (field.type || "").toLowerCase();
      if (!field.name || ["hidden", "password", "file", "submit", "button", "reset"].indexOf(type) >= 0) { return; }
      var values = typed[field.name] || [];
      if (type === "checkbox" || type === "radio") {
        field.checked = values.indexOf(field.value) >= 0;  // an unticked box is not sent at all
      } else if (field.tagName === "SELECT" && field.multiple) {
        Array.prototype.forEach.call(field.options, function (option) { option.selected = values.indexOf(option.value) >= 0; });
      } else if (values.length) {
        var index = used[field.name] || 0;  // several fields of one name take the values in order
        if (index < values.length) { field.value = values[index]; }
        used[field.name] = index + 1;
        field.dispatchEvent(new Event("input", { bubbles: true }));  // counters follow the text
      }
    });
  }

  function placeFormError() {
    var note = document.querySelector("#flash [data-form-error]");
    if (!note) { return; }
    // The address bar shows the page, not the path the form posted to: a reload shows the page again (posting
    // nothing), and the next try of the form is sent from that page, so a second refusal comes back here too.
    var shown = note.getAttribute("data-form-page");
    if (shown && shown.charAt(0) === "/" && window.history.replaceState) { window.history.replaceState(null, "", shown); }
    var typed = {};
    try { typed = JSON.parse(note.getAttribute("data-typed") || "{}"); } catch (error) { typed = {}; }
    var form = sameForm(note.getAttribute("data-form-error"), typed);
    if (!form) { return; }  // the form is not on this page any more: the message stays at the top
    refill(form, typed);
    show(form.closest("[data-error-scope]") || form, note.textContent.trim());
    note.remove();
    var first = form.querySelector("input:not([type=hidden]), select, textarea");
    if (first) { first.focus({ preventScroll: true }); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", placeFormError);
  } else {
    placeFormError();
  }

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
