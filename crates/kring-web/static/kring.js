// Kring's progressive enhancement. Every page works without this file; with it:
// - favourite, boost and bookmark happen in place (the same form, posted with fetch);
// - forms marked data-confirm ask first;
// - the home page polls for new posts every 20 seconds and offers to show them;
// - the compose box counts characters.
// No third-party code, no requests to other origins.
(function () {
  "use strict";

  // Post actions are buttons of one page-wide form (#acts), each with its own formaction and
  // on=1/0 value; with this script they post in place and update their state.
  function inPlace(form, button, event) {
    event.preventDefault();
    button.disabled = true;
    var body = new URLSearchParams(new FormData(form));
    if (button.name) body.append(button.name, button.value);
    var fallback = function () {
      button.disabled = false;
      // Let the plain form do it: the server answers with a redirect and the page reloads.
      if (form.requestSubmit) form.requestSubmit(button);
      else form.submit();
    };
    fetch(button.formAction, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (res) {
        var type = res.headers.get("content-type") || "";
        if (!res.ok || type.indexOf("application/json") !== 0) throw new Error("fallback");
        return res.json();
      })
      .then(function (data) {
        button.value = data.active ? "0" : "1";
        button.setAttribute("aria-pressed", data.active ? "true" : "false");
        var count = button.querySelector(".count");
        if (count && typeof data.count === "number") count.textContent = String(data.count);
        button.disabled = false;
        button.setAttribute("data-done", "1");
      }, function () {
        button.setAttribute("data-inplace-failed", "1");
        button.removeAttribute("data-inplace");
        fallback();
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var button = event.submitter || null;
    var question =
      (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (button && button.hasAttribute("data-inplace") && window.fetch && window.URLSearchParams) {
      inPlace(form, button, event);
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
