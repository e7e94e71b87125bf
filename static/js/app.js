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

  // Forms that post a token by themselves (automatic login from an e-mailed link).
  function autoSubmit() {
    var form = document.querySelector("form[data-auto-submit]");
    if (form) form.submit();
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusErrorSummary();
    autoSubmit();
  });
  document.addEventListener("submit", guardDoubleSubmit, true);

  // After htmx swaps in a fragment whose first element asks for focus, give it focus.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.elt && event.detail.elt.querySelector && event.detail.elt.querySelector("[data-focus-after-swap]");
    if (target) target.focus();
  });
})();
