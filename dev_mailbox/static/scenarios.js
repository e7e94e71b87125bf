// "Clear all rules and chaos…" asks in a dialog on the page instead of on a page of its own (which
// is what the link opens without script). The question gets the focus, not the button that clears.
(function () {
  "use strict";
  var opener = document.querySelector("a[data-confirm]");
  var dialog = opener && document.getElementById(opener.getAttribute("data-confirm"));
  if (!dialog || !dialog.showModal) {
    return;
  }
  opener.setAttribute("aria-haspopup", "dialog");
  opener.addEventListener("click", function (event) {
    event.preventDefault();
    dialog.showModal();
    dialog.querySelector("[tabindex='-1']").focus();
  });
  dialog.querySelector("[data-close]").addEventListener("click", function (event) {
    event.preventDefault();
    dialog.close();
  });
  dialog.addEventListener("close", function () { opener.focus(); });
})();
