// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // After a full-page post, take the keyboard and screen reader to what the parent must answer: the summary
  // of errors, or else a suggestion ("Did you mean …?", whose name is the question).
  function focusWhatNeedsAnAnswer() {
    var answer = document.querySelector(".error-summary, .suggestion");
    if (answer) answer.focus();
  }

  // A form marked data-submit-once cannot be sent twice by a double click.
  function guardDoubleSubmit(event) {
    var form = event.target;
    if (!form.hasAttribute("data-submit-once")) return;
    if (form.dataset.sent === "yes") { event.preventDefault(); return; }
    form.dataset.sent = "yes";
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusWhatNeedsAnAnswer();
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

  // Password form ---------------------------------------------------------------------------------
  // (Muuda profiili: the new password twice.) Everything here is an enhancement of a form that works
  // without script.

  // The "show password" toggle is rendered hidden: without script it would be a button that does nothing.
  // Its name stays "Show password"; aria-pressed says whether the passwords are shown.
  function setPasswordsShown(toggle, shown) {
    toggle.setAttribute("aria-pressed", shown ? "true" : "false");
    toggle.getAttribute("aria-controls").split(" ").forEach(function (id) {
      var input = document.getElementById(id);
      if (input) input.type = shown ? "text" : "password";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-password-toggle]").forEach(function (toggle) { toggle.hidden = false; });
  });

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest("[data-password-toggle]");
    if (toggle) setPasswordsShown(toggle, toggle.getAttribute("aria-pressed") !== "true");
  });

  // Hidden again before the form is sent: a browser may remember what a text field held.
  document.addEventListener("submit", function (event) {
    event.target.querySelectorAll("[data-password-toggle]").forEach(function (toggle) {
      setPasswordsShown(toggle, false);
    });
  });

  // htmx swaps in the rules list as the parent types. Its one-line summary goes to a polite live region
  // that stays in place, and only when it changed: a pause in typing that changes nothing says nothing.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (!event.detail.target || event.detail.target.id !== "password-strength") return;
    var strength = document.getElementById("password-strength");
    var status = document.getElementById("password-rules-status");
    if (!strength || !status) return;
    var summary = strength.getAttribute("data-summary") || "";
    if (status.textContent !== summary) status.textContent = summary;
  });
})();
