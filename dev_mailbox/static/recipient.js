// One participant's demo mailbox, live: when the mailbox changes, fetch this page again and swap the
// [data-live] region (the server sends only this address's mail). Without script, reloading shows the same.
(function () {
  "use strict";
  var region = document.querySelector("[data-live]");
  if (!region || !window.EventSource || !window.fetch) {
    return;
  }
  var refreshing = false;
  function refresh() {
    if (refreshing) {
      return;
    }
    refreshing = true;
    fetch(window.location.href, { credentials: "omit", cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        var fresh = html && new DOMParser().parseFromString(html, "text/html").getElementById(region.id);
        // Keyboard focus stays where it was: no swap while it is inside the region.
        if (fresh && !region.contains(document.activeElement)) {
          region.innerHTML = fresh.innerHTML;
        }
      })
      .finally(function () { refreshing = false; });
  }
  new EventSource(region.getAttribute("data-events")).addEventListener("change", refresh);
})();
