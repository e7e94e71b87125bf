// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // After a full-page post with errors, take the keyboard and screen reader to the summary.
  function focusErrorSummary() {
    var summary = document.querySelector(".error-summary");
    if (summary) summary.focus();
  }

  // A form marked data-submit-once cannot be sent twice by a double click.
  function guardDoubleSubmit(event) {
    var form = event.target;
    if (!form.hasAttribute("data-submit-once")) return;
    if (form.dataset.sent === "yes") { event.preventDefault(); return; }
    form.dataset.sent = "yes";
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusErrorSummary();
  });
  document.addEventListener("submit", guardDoubleSubmit, true);

  // After htmx swaps in a fragment that asks for focus (e.g. a staff decision), move focus there, so
  // that keyboard and screen-reader users hear the result. An outerHTML swap replaced the target:
  // find the new element by the target's id.
  document.addEventListener("htmx:afterSettle", function (event) {
    var id = event.detail.target && event.detail.target.id;
    var swapped = id && document.getElementById(id);
    if (!swapped) return;
    var target = swapped.hasAttribute("data-focus-after-swap") ? swapped : swapped.querySelector("[data-focus-after-swap]");
    if (target) target.focus();
  });
})();
