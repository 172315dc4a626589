// Kring's progressive enhancement. Every page works without this file; with it:
// - favourite, boost and bookmark happen in place (the same form, posted with fetch);
// - forms marked data-confirm ask first;
// - the home page polls for new posts every 20 seconds and offers to show them;
// - the compose box counts characters.
// No third-party code, no requests to other origins.
(function () {
  "use strict";

  function inPlace(form, event) {
    event.preventDefault();
    var button = form.querySelector("button");
    if (button) button.disabled = true;
    var body = new URLSearchParams(new FormData(form));
    fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (res) {
        if (!res.ok || (res.headers.get("content-type") || "").indexOf("application/json") !== 0) {
          throw new Error("fallback");
        }
        return res.json();
      })
      .then(function (data) {
        var on = form.querySelector("input[name=on]");
        if (on) on.value = data.active ? "0" : "1";
        if (button) {
          button.setAttribute("aria-pressed", data.active ? "true" : "false");
          var count = button.querySelector(".count");
          if (count && typeof data.count === "number") count.textContent = String(data.count);
          button.disabled = false;
        }
      })
      .catch(function () {
        // Let the plain form do it: the server answers with a redirect and the page reloads.
        form.submit();
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (form.hasAttribute("data-inplace") && window.fetch && window.URLSearchParams) {
      inPlace(form, event);
    }
  });

  // "New posts" notice on the home page.
  var notice = document.getElementById("new-posts");
  if (notice && notice.getAttribute("data-poll") && window.fetch) {
    var url = notice.getAttribute("data-poll");
    var poll = function () {
      if (document.hidden) return;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (res) {
          return res.ok ? res.json() : null;
        })
        .then(function (data) {
          if (!data || !data.count) return;
          var n = data.count >= 40 ? "40+" : String(data.count);
          notice.textContent = "";
          var link = document.createElement("a");
          link.href = "/home";
          link.textContent = n + (data.count === 1 ? " new post" : " new posts") + " – show";
          notice.appendChild(link);
          notice.hidden = false;
        })
        .catch(function () {});
    };
    window.setInterval(poll, 20000);
    document.addEventListener("visibilitychange", poll);
  }

  // Character counter for the compose box.
  var text = document.querySelector("[data-compose] textarea[data-max]");
  var counter = document.getElementById("compose-count");
  if (text && counter) {
    var max = parseInt(text.getAttribute("data-max"), 10) || 0;
    var update = function () {
      var left = max - Array.from(text.value).length;
      counter.textContent = left + " characters left";
      counter.classList.toggle("over", left < 0);
    };
    text.addEventListener("input", update);
    update();
  }
})();
