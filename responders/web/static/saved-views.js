// Saved views on the inbox: "Save view" saves the filters in the address (they follow every change there,
// without a reload), and the view whose filters are the address's is marked as the current one.
(function () {
  "use strict";

  // A query string's filters, comparable: no empty values, no page, in one order.
  function canonical(query) {
    var pairs = [];
    new URLSearchParams(query).forEach(function (value, key) {
      if (value.trim() && key !== "offset") { pairs.push(key + "=" + value.trim()); }
    });
    return pairs.sort().join("&");
  }

  function markCurrent() {
    var here = canonical(window.location.search);
    document.querySelectorAll("a[data-view-query]").forEach(function (link) {
      if (canonical(link.dataset.viewQuery) === here) {
        link.setAttribute("aria-current", "true");
      } else {
        link.removeAttribute("aria-current");
      }
    });
  }

  // Before htmx reads the form (capture phase, on the way down to it): the filters as they are now.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-save-view]")) { return; }
    form.querySelector('input[name="query"]').value = window.location.search.replace(/^\?/, "");
  }, true);

  document.addEventListener("DOMContentLoaded", markCurrent);
  document.addEventListener("htmx:pushedIntoHistory", markCurrent);
})();
