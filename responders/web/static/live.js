// Live without a reload: the navigation's counts, the inbox's "N new" bar, the approval queue's cards, and who
// is at work on which mention (presence). The inbox list never moves under the reader: new mentions are only
// counted, and shown when they click the bar. In the queue, new replies come in as new cards and a card someone
// else changed is drawn again, except one the person is working in: that one keeps what they typed and says
// who changed it, with a button to reload it.
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

  // -- the approval queue -------------------------------------------------------------------------------------

  function queueCards() { return document.querySelector("[data-live-queue]"); }

  function parsed(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html;
    return holder.content.firstElementChild;
  }

  function getCard(id) {
    return fetch("/queue/cards/" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { return html ? parsed(html) : null; })
      .catch(function () { return null; });
  }

  function wire(card) {
    if (window.htmx) { window.htmx.process(card); }
    card.dispatchEvent(new CustomEvent("queue-card-drawn", { bubbles: true }));
  }

  // The person is working in this card: a field has their focus, or holds what they typed.
  function busy(card) {
    var focused = document.activeElement;
    if (focused && card.contains(focused) && focused.matches("textarea, input[type=text]")) { return true; }
    return Array.prototype.some.call(card.querySelectorAll("textarea, input[type=text]"), function (field) {
      return field.value !== field.defaultValue;
    });
  }

  function redraw(card) {
    return getCard(card.dataset.replyId).then(function (fresh) {
      if (!fresh || !card.isConnected) { return; }
      var wasSelected = card.classList.contains("selected");
      card.replaceWith(fresh);
      if (wasSelected) { fresh.classList.add("selected"); }
      wire(fresh);
    });
  }

  function sayChanged(card, who) {
    var notice = card.querySelector(":scope > .changed-notice");
    if (!notice) {
      notice = document.createElement("p");
      notice.className = "changed-notice";
      notice.setAttribute("role", "status");
      notice.appendChild(document.createElement("span"));
      var reload = document.createElement("button");
      reload.type = "button";
      reload.dataset.reloadCard = "";
      reload.textContent = "Reload this card";
      notice.appendChild(reload);
      card.prepend(notice);
    }
    notice.firstChild.textContent = who + ": what you typed is kept until you reload this card. ";
  }

  function refreshQueue() {
    var list = queueCards();
    if (!list) { return; }
    var seen = new URLSearchParams();
    list.querySelectorAll("[data-reply-id][data-version]").forEach(function (card) {
      seen.append("seen", card.dataset.replyId + ":" + card.dataset.version);
    });
    getJson("/queue/live?" + seen.toString()).then(function (live) {
      if (!live || queueCards() !== list) { return; }
      var count = list.ownerDocument.querySelector("[data-waiting-count]");
      if (count) { count.textContent = live.waiting + " repl" + (live.waiting === 1 ? "y" : "ies") + " waiting"; }
      live.changed.forEach(function (change) {
        var card = document.getElementById("reply-" + change.id);
        if (!card) { return; }
        if (busy(card)) { sayChanged(card, change.by); } else { redraw(card); }
      });
      live.new.forEach(function (id) {
        if (document.getElementById("reply-" + id)) { return; }
        getCard(id).then(function (card) {
          if (!card || document.getElementById(card.id) || queueCards() !== list) { return; }
          var empty = list.querySelector(":scope > .empty");
          if (empty) { empty.remove(); }
          list.appendChild(card);
          wire(card);
        });
      });
    });
  }

  // -- presence: who is replying to or editing which mention ---------------------------------------------------

  var PRESENCE_BEAT_MS = 5000;
  var beating = null;  // {mention, activity, timer} while a presence field has the focus

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; }
    catch (error) { return ""; }
  }

  function post(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin", keepalive: true,
                        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
                        body: JSON.stringify(body) }).catch(function () { return null; });
  }

  function beat() {
    if (beating) { post("/presence", { mention_id: Number(beating.mention), activity: beating.activity }); }
  }

  function stopBeating() {
    if (!beating) { return; }
    clearInterval(beating.timer);
    post("/presence/stop", { mention_id: Number(beating.mention) });
    beating = null;
  }

  document.addEventListener("focusin", function (event) {
    var field = event.target.closest && event.target.closest("[data-presence-mention]");
    if (!field) { return; }
    if (beating && beating.mention === field.dataset.presenceMention &&
        beating.activity === field.dataset.presenceActivity) { return; }
    stopBeating();
    beating = { mention: field.dataset.presenceMention, activity: field.dataset.presenceActivity,
                timer: setInterval(beat, PRESENCE_BEAT_MS) };
    beat();
  });
  document.addEventListener("focusout", function () {
    // Focus moving to another field of the same mention keeps them present: decide once it has landed.
    setTimeout(function () {
      var now = document.activeElement && document.activeElement.closest &&
                document.activeElement.closest("[data-presence-mention]");
      if (!now || !beating || now.dataset.presenceMention !== beating.mention) { stopBeating(); }
    }, 0);
  });
  window.addEventListener("pagehide", stopBeating);

  function refreshPresence() {
    var spots = document.querySelectorAll("[data-presence]");
    if (!spots.length) { return; }
    var wanted = new URLSearchParams();
    var ids = {};
    spots.forEach(function (spot) { ids[spot.dataset.presence] = true; });
    Object.keys(ids).forEach(function (id) { wanted.append("mention", id); });
    getJson("/presence?" + wanted.toString()).then(function (found) {
      if (!found) { return; }
      document.querySelectorAll("[data-presence]").forEach(function (spot) {
        var lines = found.present[spot.dataset.presence] || [];
        spot.textContent = lines.join(", ");
        spot.hidden = !lines.length;
      });
    });
  }

  document.addEventListener("click", function (event) {
    var reload = event.target.closest && event.target.closest("[data-reload-card]");
    if (reload) {
      var card = reload.closest("[data-reply-id]");
      if (card) { redraw(card); }
    }
    if (event.target.closest && event.target.closest("[data-show-new]")) {
      // The results reload themselves on this event (their hx-trigger), with the newest id of now.
      document.body.dispatchEvent(new CustomEvent("inbox-changed"));
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    refreshCounts();
    refreshPresence();
    setInterval(function () { refreshCounts(); refreshNew(); refreshQueue(); refreshPresence(); }, POLL_MS);
  });
  document.addEventListener("htmx:load", function (event) {
    // A row or card just drawn shows who is at work on its mention without waiting for the next poll.
    if (event.detail.elt.querySelector && event.detail.elt.querySelector("[data-presence]")) { refreshPresence(); }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful) { refreshCounts(); }
  });
})();
