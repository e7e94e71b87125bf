// The message checks in place: panels with data-check-url load by themselves, the link check's form
// runs without leaving the page, and the preview buttons switch the width without a reload.
// Without script each is a link, a form or a button that opens a page with the same panel.
(function () {
  "use strict";

  function statusOf(section) {
    return section.querySelector("[data-check-status]");
  }

  function say(section, key) {
    var status = statusOf(section);
    if (status) {
      status.textContent = status.getAttribute(key) || "";
    }
  }

  // Checks under way, stopped when their message leaves the page (inbox.js opens another or deletes it).
  var underWay = [];

  function stopAll() {
    underWay.forEach(function (controller) { controller.abort(); });
    underWay = [];
  }

  // Fetch the panel's own page and put its section (the same id) in place of this one; the keyboard
  // focus goes to its heading when it was asked for (a button) or was inside the panel.
  function load(section, url, focus) {
    section.setAttribute("aria-busy", "true");
    say(section, "data-busy");
    var controller = window.AbortController ? new AbortController() : null;
    if (controller) {
      underWay.push(controller);
    }
    return fetch(url, { credentials: "same-origin", signal: controller ? controller.signal : undefined })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(section.id);
        if (!fresh) {
          throw new Error("no panel");
        }
        var hadFocus = section.contains(document.activeElement);
        section.replaceWith(fresh);
        wire(fresh);
        if (focus || hadFocus) {
          var heading = fresh.querySelector("h2");
          if (heading) {
            heading.focus();
          }
        }
      })
      .catch(function (error) {
        if (error && error.name === "AbortError") {
          return;
        }
        section.removeAttribute("aria-busy");
        say(section, "data-failed");
      })
      .finally(function () {
        underWay = underWay.filter(function (other) { return other !== controller; });
      });
  }

  function wire(section) {
    var form = section.querySelector("form[data-check-form]");
    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var query = new URLSearchParams(new FormData(form)).toString();
        load(section, form.action + (query ? "?" + query : ""), true);
      });
    }
  }

  function wirePreview(preview) {
    var buttons = preview.querySelectorAll("button[name=preview]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        preview.setAttribute("data-width", button.value);
        Array.prototype.forEach.call(buttons, function (other) {
          other.setAttribute("aria-pressed", other === button ? "true" : "false");
        });
        var address = new URL(window.location.href);
        address.searchParams.set("preview", button.value);
        window.history.replaceState(null, "", address.toString());
      });
    });
  }

  // The checks and the preview inside `root`: the page at first, the message pane whenever inbox.js
  // opens another message in it.
  function wireAll(root) {
    Array.prototype.forEach.call(root.querySelectorAll("section.check"), function (section) {
      wire(section);
      var url = section.getAttribute("data-check-url");
      if (url) {
        load(section, url, false);
      }
    });
    var preview = root.querySelector("#preview");
    if (preview) {
      wirePreview(preview);
    }
  }

  if (!window.fetch || !window.DOMParser || !window.URLSearchParams) {
    return;
  }
  window.mailboxChecks = { wire: wireAll, stop: stopAll };
  wireAll(document);
})();
