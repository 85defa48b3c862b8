// The "Add a source" form on /admin: the kinds offered are those of the chosen platform, and only the chosen
// kind's fields are shown and sent (the others' fieldsets are disabled, so a browser leaves them out).
(function () {
  "use strict";

  function sync(form) {
    var platform = form.querySelector("select[name=platform]").value;
    var kind = form.querySelector("select[name=kind]");
    var first = null;
    Array.prototype.forEach.call(kind.options, function (option) {
      var ours = option.getAttribute("data-platform") === platform;
      option.hidden = !ours;
      option.disabled = !ours;
      if (ours && !first) { first = option; }
    });
    var chosen = kind.options[kind.selectedIndex];
    if (!chosen || chosen.disabled) { kind.value = first ? first.value : ""; }
    form.querySelectorAll("fieldset[data-kind]").forEach(function (fields) {
      var shown = fields.getAttribute("data-kind") === kind.value;
      fields.disabled = !shown;
      fields.hidden = !shown;
    });
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-source-kinds]");
    if (form && (event.target.name === "platform" || event.target.name === "kind")) { sync(form); }
  });
  // Also as the page opens: a browser may restore the choices of an earlier visit.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-source-kinds]").forEach(sync);
  });
})();
