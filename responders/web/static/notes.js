// @-mentions in a note: typing "@da" offers the active colleagues whose name or email starts so (the page lists
// them in a <datalist>, the box names it in data-at-suggest); a click, Enter or Tab puts the name in the note.
// Without this script the note still works: "@" and the name, typed out, mention them all the same.
(function () {
  "use strict";

  var MOST = 6;

  function colleaguesFor(box) {
    var list = document.getElementById(box.dataset.atSuggest);
    if (!list) { return []; }
    return Array.prototype.map.call(list.options, function (option) {
      return { handle: option.value, label: option.textContent, words: (option.dataset.words || option.value).split(" ") };
    });
  }

  // The "@word" being typed just before the caret (not inside an email address), or null.
  function typedMention(box) {
    var before = box.value.slice(0, box.selectionStart);
    var found = /(?:^|[^\w@.+-])@([\w.+-]*)$/.exec(before);
    return found ? { start: before.length - found[1].length, word: found[1].toLowerCase() } : null;
  }

  function menuFor(box) { return document.getElementById(box.getAttribute("aria-controls")); }

  function close(box) {
    var menu = menuFor(box);
    if (menu) { menu.hidden = true; menu.textContent = ""; }
    box.removeAttribute("aria-activedescendant");
  }

  function choose(box, option) {
    var typed = typedMention(box);
    if (!typed) { close(box); return; }
    var end = box.selectionStart;
    var insert = option.dataset.handle + " ";
    box.value = box.value.slice(0, typed.start) + insert + box.value.slice(end);
    var caret = typed.start + insert.length;
    box.setSelectionRange(caret, caret);
    close(box);
    box.focus();
  }

  function highlight(box, index) {
    var menu = menuFor(box);
    var options = menu ? menu.querySelectorAll("[role=option]") : [];
    if (!options.length) { return; }
    index = (index + options.length) % options.length;
    options.forEach(function (option, at) { option.setAttribute("aria-selected", at === index ? "true" : "false"); });
    box.setAttribute("aria-activedescendant", options[index].id);
  }

  function selectedIndex(box) {
    var menu = menuFor(box);
    var options = menu ? Array.prototype.slice.call(menu.querySelectorAll("[role=option]")) : [];
    return options.findIndex(function (option) { return option.getAttribute("aria-selected") === "true"; });
  }

  function offer(box) {
    var menu = menuFor(box);
    var typed = typedMention(box);
    if (!menu || !typed) { close(box); return; }
    var matches = colleaguesFor(box).filter(function (colleague) {
      return colleague.words.some(function (word) { return word.indexOf(typed.word) === 0; });
    }).slice(0, MOST);
    menu.textContent = "";
    if (!matches.length) { close(box); return; }
    matches.forEach(function (colleague, index) {
      var option = document.createElement("li");
      option.id = menu.id + "-" + index;
      option.setAttribute("role", "option");
      option.dataset.handle = colleague.handle;
      option.textContent = colleague.label;
      menu.appendChild(option);
    });
    menu.hidden = false;
    highlight(box, 0);
  }

  document.addEventListener("input", function (event) {
    if (event.target.dataset && event.target.dataset.atSuggest) { offer(event.target); }
  });
  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (!box.dataset || !box.dataset.atSuggest) { return; }
    var menu = menuFor(box);
    if (!menu || menu.hidden) { return; }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      highlight(box, selectedIndex(box) + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" || event.key === "Tab") {
      var chosen = menu.querySelector("[aria-selected=true]");
      if (chosen) { event.preventDefault(); choose(box, chosen); }
    } else if (event.key === "Escape") {
      close(box);
    }
  });
  // mousedown, not click: the box keeps its caret (a click would blur it first).
  document.addEventListener("mousedown", function (event) {
    var option = event.target.closest && event.target.closest(".at-suggestions [role=option]");
    if (!option) { return; }
    event.preventDefault();
    var box = document.querySelector('[aria-controls="' + option.parentElement.id + '"]');
    if (box) { choose(box, option); }
  });
  document.addEventListener("focusout", function (event) {
    if (event.target.dataset && event.target.dataset.atSuggest) { close(event.target); }
  });
})();
