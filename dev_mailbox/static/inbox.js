// The inbox in place: a message opens beside the list (on a phone, in its place) without loading the
// page, the address and the back button follow, and the keyboard shortcuts listed under "?" work.
// Without script every link and button does the same by loading a page.
(function () {
  "use strict";
  var panes = document.getElementById("panes");
  if (!panes || !window.fetch || !window.DOMParser || !window.history.pushState || !window.FormData) {
    return;
  }
  document.documentElement.classList.add("scripted");
  var dialog = document.getElementById("shortcuts");
  var statusLine = document.getElementById("inbox-status");
  var loading = null;
  var dialogOpener = null;

  function byId(id) {
    return document.getElementById(id);
  }

  function links() {
    return Array.prototype.slice.call(document.querySelectorAll("#message-list a[data-id]"));
  }

  function openId() {
    var article = document.querySelector("#message-pane [data-message-id]");
    return article ? article.getAttribute("data-message-id") : null;
  }

  function linkFor(id) {
    return links().filter(function (link) { return link.getAttribute("data-id") === id; })[0] || null;
  }

  function shown(element) {
    return Boolean(element) && element.getClientRects().length > 0;
  }

  function say(key) {
    var text = statusLine.getAttribute(key) || "";
    statusLine.textContent = "";
    window.setTimeout(function () { statusLine.textContent = text; }, 100); // said again when repeated
  }

  function markCurrent() {
    var id = openId();
    links().forEach(function (link) {
      if (link.getAttribute("data-id") === id) {
        link.setAttribute("aria-current", "true");
      } else {
        link.removeAttribute("aria-current");
      }
    });
  }

  // The unread mark (bold, and "Unread:" for screen readers) on or off.
  function markRead(link, read) {
    if (!link) {
      return;
    }
    var item = link.parentElement;
    item.classList.toggle("unread", !read);
    item.classList.toggle("read", read);
    var label = link.querySelector("[data-unread-label]");
    if (read && label) {
      label.remove();
    } else if (!read && !label) {
      var list = link.closest("[data-unread-text]");
      label = document.createElement("span");
      label.className = "visually-hidden";
      label.setAttribute("data-unread-label", "");
      label.textContent = (list ? list.getAttribute("data-unread-text") : "") + " ";
      link.querySelector(".subject").prepend(label);
    }
  }

  function focusAfter(how, previous) {
    var target = null;
    if (how === "link") {
      target = linkFor(openId());
    } else if (how === "list") {
      target = linkFor(previous) || links()[0] || byId("list-heading");
    }
    if (!shown(target)) {
      target = byId("message-subject") || target;
    }
    if (how !== "none" && target) {
      if (!target.hasAttribute("tabindex") && !target.matches("a[href], button, input")) {
        target.setAttribute("tabindex", "-1");
      }
      target.focus();
    }
  }

  // Show `url` (a message beside its list, or the list alone) by swapping the message pane and the
  // parts of the page that follow it; another list, or an error, loads as a page.
  function show(url, how, push, previous) {
    var ticket = {};
    loading = ticket;
    panes.setAttribute("aria-busy", "true");
    return fetch(url, { credentials: "same-origin" })
      .then(function (response) {
        return response.text().then(function (html) { return { ok: response.ok, html: html }; });
      })
      .then(function (answer) {
        if (loading !== ticket) {
          return; // a later one was asked for
        }
        var page = new DOMParser().parseFromString(answer.html, "text/html");
        var fresh = page.getElementById("panes");
        if (!answer.ok || !fresh || fresh.getAttribute("data-list-url") !== panes.getAttribute("data-list-url")) {
          window.location.assign(url);
          return;
        }
        if (window.mailboxChecks) {
          window.mailboxChecks.stop();
        }
        ["message-pane", "list-heading", "languages"].forEach(function (id) {
          var replacement = page.getElementById(id);
          if (replacement && byId(id)) {
            byId(id).replaceWith(replacement);
          }
        });
        panes.setAttribute("data-open", fresh.getAttribute("data-open"));
        document.title = page.title;
        if (push) {
          window.history.pushState({ inbox: true }, "", url);
        }
        markRead(linkFor(openId()), true);
        markCurrent();
        if (window.mailboxChecks) {
          window.mailboxChecks.wire(byId("message-pane"));
        }
        focusAfter(how, previous);
      })
      .catch(function () { window.location.assign(url); })
      .finally(function () {
        if (loading === ticket) {
          loading = null;
          panes.removeAttribute("aria-busy");
        }
      });
  }

  function open(link, how) {
    if (link) {
      show(link.href, how, true);
    }
  }

  function backToList(previous) {
    show(panes.getAttribute("data-list-url"), "list", true, previous);
  }

  // j/k: with a message open, open the next or previous one; else move through the list.
  function move(step) {
    var all = links();
    if (!all.length) {
      return;
    }
    var id = openId();
    if (id) {
      var at = all.indexOf(linkFor(id));
      open(at === -1 ? all[0] : all[at + step], "link");
      return;
    }
    var focusedAt = all.indexOf(document.activeElement);
    var target = focusedAt === -1 ? all[0] : all[focusedAt + step];
    if (target) {
      target.focus();
    }
  }

  function openCurrent() {
    var all = links();
    if (all.indexOf(document.activeElement) !== -1) {
      open(document.activeElement, "heading");
    } else if (!openId()) {
      open(all[0], "heading");
    }
  }

  function post(url) {
    var body = new FormData();
    var token = document.querySelector("input[name=csrf_token]");
    body.append("csrf_token", token ? token.value : "");
    // The answer is a redirect to a page: not needed, so not followed.
    return fetch(url, { method: "POST", body: body, credentials: "same-origin", redirect: "manual" }).then(
      function (response) {
        if (response.type !== "opaqueredirect" && !response.ok) {
          throw new Error(String(response.status));
        }
      }
    );
  }

  // Delete the message in focus in the list, else the open one; then the next one takes its place.
  function remove() {
    var all = links();
    var focused = all.indexOf(document.activeElement) !== -1 ? document.activeElement : null;
    var id = focused ? focused.getAttribute("data-id") : openId();
    var link = id && linkFor(id);
    var address = link ? link.getAttribute("data-delete") : null;
    if (!address) {
      var form = document.querySelector("form[data-inbox-action=delete]");
      address = id && form ? form.action : null;
    }
    if (!address) {
      return;
    }
    if (id === openId() && window.mailboxChecks) {
      window.mailboxChecks.stop(); // its checks would find it gone
    }
    post(address)
      .then(function () {
        var at = all.indexOf(link);
        var next = at === -1 ? null : all[at + 1] || all[at - 1] || null;
        if (link) {
          link.parentElement.remove();
        }
        say("data-deleted");
        if (id === openId()) {
          if (next) {
            open(next, shown(next) ? "link" : "heading");
          } else {
            backToList(null);
          }
        } else if (next) {
          next.focus();
        }
      })
      .catch(function () { say("data-failed"); });
  }

  function markUnread() {
    var form = document.querySelector("form[data-inbox-action=unread]");
    var id = openId();
    if (!form || !id) {
      return;
    }
    post(form.action)
      .then(function () {
        markRead(linkFor(id), false);
        say("data-unread");
      })
      .catch(function () { say("data-failed"); });
  }

  function openShortcuts() {
    if (dialog && !dialog.open) {
      dialogOpener = document.activeElement;
      dialog.showModal();
    }
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
      return;
    }
    var link = event.target.closest("a[href]");
    if (link && link.matches("#message-list a[data-id]")) {
      event.preventDefault();
      open(link, "heading");
    } else if (link && link.hasAttribute("data-back")) {
      event.preventDefault();
      backToList(openId());
    }
  });

  document.addEventListener("submit", function (event) {
    var action = event.target.getAttribute("data-inbox-action");
    if (action === "delete") {
      event.preventDefault();
      remove();
    } else if (action === "unread") {
      event.preventDefault();
      markUnread();
    }
  });

  function typing(target) {
    return target instanceof Element && Boolean(target.closest("input, textarea, select, [contenteditable]"));
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) {
      return;
    }
    if (typing(event.target) || (dialog && dialog.open)) {
      return;
    }
    var key = event.key;
    if (key === "j" || key === "k") {
      move(key === "j" ? 1 : -1);
    } else if (key === "o" || (key === "Enter" && !event.target.closest("a[href], button, summary, iframe"))) {
      openCurrent();
    } else if (key === "Delete") {
      remove();
    } else if (key === "/") {
      byId("q").focus();
      byId("q").select();
    } else if (key === "?") {
      openShortcuts();
    } else {
      return;
    }
    event.preventDefault();
  });

  window.addEventListener("popstate", function () {
    show(window.location.href, "none", false);
  });

  // After live.js has swapped the list: the open message is marked again.
  document.addEventListener("mailbox:live", markCurrent);

  if (dialog) {
    dialog.querySelector("[data-close]").addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("close", function () {
      if (dialogOpener && dialogOpener.focus) {
        dialogOpener.focus();
      }
    });
    byId("shortcuts-button").addEventListener("click", openShortcuts);
  }
})();
