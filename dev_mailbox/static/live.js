// Live updates: when the mailbox changes (mail arrives, is read or deleted, a rule is used up), fetch
// the page again and swap each [data-live] region that changed: the folder counts, the list, the
// rules in force, the log. Beside an open message the list's own page is fetched (body's
// data-live-url), not the message again. Keyboard focus stays on the same link or field. Without
// script every page still works; reloading shows the same.
(function () {
  "use strict";
  if (!document.querySelector("[data-live]") || !window.EventSource || !window.fetch || !window.DOMParser) {
    return;
  }
  var refreshing = false;
  var changedMeanwhile = false;

  // The element in `region` that stands for `element`: the same id, else a link to the same place.
  function counterpart(region, element) {
    if (element.id) {
      return region.querySelector("#" + CSS.escape(element.id));
    }
    var href = element.getAttribute("href");
    return href ? region.querySelector('a[href="' + CSS.escape(href) + '"]') : null;
  }

  function swap(fresh) {
    Array.prototype.forEach.call(document.querySelectorAll("[data-live]"), function (region) {
      var replacement = fresh.getElementById(region.id);
      if (!replacement || replacement.innerHTML === region.innerHTML) {
        return;
      }
      var focused = region.contains(document.activeElement) ? document.activeElement : null;
      region.innerHTML = replacement.innerHTML;
      var again = focused && counterpart(region, focused);
      if (again) {
        again.focus({ preventScroll: true });
      }
    });
    document.dispatchEvent(new CustomEvent("mailbox:live"));
  }

  function refresh() {
    if (refreshing) {
      changedMeanwhile = true; // fetched once more when this one is done: the last change is never missed
      return;
    }
    refreshing = true;
    var address = document.body.getAttribute("data-live-url") || window.location.href;
    fetch(address, { headers: { "X-Live-Refresh": "1" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html) {
          swap(new DOMParser().parseFromString(html, "text/html"));
        }
      })
      .catch(function () {})
      .finally(function () {
        refreshing = false;
        if (changedMeanwhile) {
          changedMeanwhile = false;
          refresh();
        }
      });
  }

  new EventSource("/api/events").addEventListener("change", refresh);
})();
