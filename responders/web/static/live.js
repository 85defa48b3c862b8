// Live without a reload: the navigation's counts, and the inbox's "N new" bar. The list itself never moves
// under the reader: new mentions are only counted, and shown when they click the bar.
(function () {
  "use strict";

  var POLL_MS = 5000;

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .catch(function () { return null; });
  }

  function refreshCounts() {
    var spots = document.querySelectorAll("[data-live-count]");
    if (!spots.length) { return; }
    getJson("/nav/counts").then(function (counts) {
      if (!counts) { return; }
      spots.forEach(function (spot) {
        var value = counts[spot.dataset.liveCount];
        if (value === undefined) { return; }
        spot.textContent = "(" + value + ")";
        spot.hidden = false;
        spot.setAttribute("aria-label", value + " " + (spot.dataset.liveLabel || "waiting"));
      });
    });
  }

  function results() { return document.getElementById("inbox-results"); }

  function refreshNew() {
    var list = results();
    if (!list || !list.dataset.newestId) { return; }
    var filters = new URLSearchParams(window.location.search);
    filters.delete("offset");
    filters.set("after", list.dataset.newestId);
    getJson("/inbox/new?" + filters.toString()).then(function (found) {
      var bar = document.getElementById("new-bar");
      if (!found || !bar || results() !== list) { return; }
      var button = bar.querySelector("[data-show-new]");
      if (found.new > 0) {
        var count = found.new + (found.more ? "+" : "");
        button.textContent = count + " new mention" + (found.new === 1 && !found.more ? "" : "s") + ": show them";
        bar.hidden = false;
      } else {
        bar.hidden = true;
      }
    });
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-show-new]")) {
      // The results reload themselves on this event (their hx-trigger), with the newest id of now.
      document.body.dispatchEvent(new CustomEvent("inbox-changed"));
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    refreshCounts();
    setInterval(function () { refreshCounts(); refreshNew(); }, POLL_MS);
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful) { refreshCounts(); }
  });
})();
