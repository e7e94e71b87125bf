// Live updates: when the server says something changed, re-fetch this page and swap the
// [data-live] region. Without script the page still works; reload shows the same.
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
    fetch(window.location.href, { headers: { "X-Live-Refresh": "1" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) {
          return;
        }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(region.id);
        // Keep keyboard focus where it was: only swap when focus is not inside the region.
        if (fresh && !region.contains(document.activeElement)) {
          region.innerHTML = fresh.innerHTML;
        }
      })
      .finally(function () { refreshing = false; });
  }
  new EventSource(region.getAttribute("data-events") || "/api/events").addEventListener("change", refresh);
})();
