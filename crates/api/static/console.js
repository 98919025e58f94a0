// Helpline console: live updates, and nothing else. A page whose <main> names a `data-live`
// source polls it; when the answer changes, the page is fetched again and its live parts
// (elements with `data-live-part` and an id) are replaced. Forms are never touched: what a
// person is typing stays, and a change sent from a page read before someone else's change is
// refused by the server with a clear message, never applied over it.
(function () {
  "use strict";
  var main = document.getElementById("main");
  var source = main && main.getAttribute("data-live");
  if (!source) {
    return;
  }
  var every = parseInt(main.getAttribute("data-live-every") || "5000", 10);
  var last = null;
  var note = document.getElementById("live-note");

  function get(url) {
    return fetch(url, { credentials: "same-origin", cache: "no-store", redirect: "manual" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .catch(function () { return null; });
  }

  function refresh(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var changed = false;
    document.querySelectorAll("[data-live-part]").forEach(function (part) {
      var fresh = doc.getElementById(part.id);
      if (fresh && fresh.innerHTML !== part.innerHTML) {
        part.innerHTML = fresh.innerHTML;
        changed = true;
      }
    });
    if (changed && note) {
      note.hidden = false;
    }
  }

  function poll() {
    var url = source === "self" ? location.href : source;
    get(url).then(function (answer) {
      if (answer === null) {
        return;
      }
      if (source === "self") {
        if (last !== null && answer !== last) {
          refresh(answer);
        }
      } else if (last !== null && answer !== last) {
        return get(location.href).then(function (html) {
          if (html !== null) {
            refresh(html);
          }
        }).then(function () { last = answer; });
      }
      last = answer;
    }).then(function () { setTimeout(poll, every); });
  }
  setTimeout(poll, 0);
})();
