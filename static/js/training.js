// The trainer's page follows the room: every few seconds the participants' part is fetched again (the
// server answers an htmx-style request with that block alone) and swapped in, unless the trainer is in the
// middle of it (keyboard focus inside). Without script the page still works: reload shows the same.
(function () {
  "use strict";
  var EVERY_MS = 3000;
  var region = document.querySelector("[data-poll]");
  if (!region || !window.fetch) {
    return;
  }
  function refresh() {
    if (document.hidden || region.contains(document.activeElement)) {
      return;
    }
    fetch(region.getAttribute("data-poll"), { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html !== null && !region.contains(document.activeElement) && region.innerHTML !== html) {
          region.innerHTML = html;
        }
      })
      .catch(function () {});
  }
  window.setInterval(refresh, EVERY_MS);
})();
