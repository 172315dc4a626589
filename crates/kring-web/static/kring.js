// Kring's progressive enhancement. Every page works without this file; with it:
// - favourite, boost and bookmark happen in place (the same form, posted with fetch);
// - forms marked data-confirm ask first;
// - live updates from the streaming API: new posts on the home page, new notifications,
//   new chat messages put in place on a chat's page (a notice on the chats page);
// - the compose box counts characters, and shows its circles only while "Circles" is chosen;
// - a chosen picture is previewed before it is sent.
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
    // The server refused (403, 422, 429…) and said why: show that next to the button. Sending
    // the form again would only be refused again, on a page of its own.
    var say = function (className, role, message) {
      var note = button.parentNode.querySelector("." + className);
      if (!note) {
        note = document.createElement("span");
        note.className = className;
        note.setAttribute("role", role);
        button.parentNode.insertBefore(note, button.nextSibling);
      }
      note.textContent = message;
    };
    var refused = function (message) {
      button.disabled = false;
      button.setAttribute("data-refused", "1");
      say("inplace-error", "alert", message || "That didn't work.");
    };
    fetch(button.formAction, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (res) {
        var type = res.headers.get("content-type") || "";
        if (type.indexOf("application/json") !== 0) throw new Error("fallback");
        return res.json().then(function (data) {
          if (!res.ok) return { refused: (data && data.error) || "" };
          return data;
        });
      })
      .then(function (data) {
        if (data.refused !== undefined) {
          refused(data.refused);
          return;
        }
        button.value = data.active ? "0" : "1";
        button.setAttribute("aria-pressed", data.active ? "true" : "false");
        var count = button.querySelector(".count");
        if (count && typeof data.count === "number") count.textContent = String(data.count);
        // It waits for the author's approval: say so, as the button did not change.
        if (data.message) say("inplace-note", "status", data.message);
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
    // Asked here, so the server need not ask again on a page of its own (it does without this
    // script: a Delete button sends confirm=0 until confirmed).
    if (question && button && button.name === "confirm") button.value = "1";
    if (button && button.hasAttribute("data-inplace") && window.fetch && window.URLSearchParams) {
      inPlace(form, button, event);
    }
  });

  // Live updates from the streaming API (the same WebSocket Mastodon apps use; the session
  // cookie signs it in, so no token is in this script's reach): a "new posts" notice on the
  // first page of the home feed, and a count of new notifications in the navigation.
  var me = document.body.getAttribute("data-me");
  if (me && window.WebSocket && window.JSON) {
    var notice = document.getElementById("new-posts");
    if (notice && !notice.getAttribute("data-live")) notice = null;
    var badge = document.getElementById("unread");
    var fresh = 0;
    var unread = badge ? parseInt(badge.getAttribute("data-count"), 10) || 0 : 0;
    var showFresh = function () {
      var n = fresh >= 40 ? "40+" : String(fresh);
      notice.textContent = "";
      var link = document.createElement("a");
      link.href = "/home";
      link.textContent = n + (fresh === 1 ? " new post" : " new posts") + " – show";
      notice.appendChild(link);
      notice.hidden = false;
    };
    var showUnread = function () {
      badge.textContent = unread > 99 ? "99+" : String(unread);
      var label = document.createElement("span");
      label.className = "visually-hidden";
      label.textContent = unread === 1 ? " new notification" : " new notifications";
      badge.appendChild(label);
      badge.hidden = false;
    };
    var onMessage = function (event) {
      var msg;
      try {
        msg = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (!msg || typeof msg.payload !== "string") return;
      if (msg.event === "update" && notice) {
        var status;
        try {
          status = JSON.parse(msg.payload);
        } catch (e) {
          return;
        }
        if (!status.account || status.account.id === me) return;
        fresh += 1;
        showFresh();
      } else if (msg.event === "notification" && badge) {
        unread += 1;
        showUnread();
      }
    };
    var delay = 1000;
    var connect = function () {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      var socket = new WebSocket(scheme + location.host + "/api/v1/streaming?stream=user");
      socket.onopen = function () {
        delay = 1000;
        document.body.setAttribute("data-live", "open");
      };
      socket.onmessage = onMessage;
      socket.onclose = function () {
        document.body.setAttribute("data-live", "closed");
        // Reconnect with a growing pause (the server may be restarting).
        window.setTimeout(connect, delay);
        delay = Math.min(delay * 2, 60000);
      };
    };
    connect();
  }

  // Chats: the `direct` stream's `conversation` events (a new message, a new name, someone
  // came or went). On a chat's page, a message someone else wrote is put in place: the page is
  // fetched as it would be reloaded (the server renders it, so it reads as the page does) and
  // the messages not shown yet are added at the end, without disturbing a message being
  // typed. On the chats page, and when that cannot be done, a notice links to the fresh page.
  var chatNews = document.getElementById("chat-news");
  if (me && chatNews && window.WebSocket && window.JSON) {
    var chatId = chatNews.getAttribute("data-chat");
    // On an older page of the chat, new messages do not belong below: a notice instead.
    var feed = /[?&]max_id=/.test(location.search) ? null : document.querySelector("#chat-feed .feed");
    var notify = function () {
      chatNews.textContent = "";
      var link = document.createElement("a");
      link.href = chatId ? "/chats/" + chatId : "/chats";
      link.textContent = chatId ? "New messages – show" : "Your chats changed – show";
      chatNews.appendChild(link);
      chatNews.hidden = false;
    };
    var keyOf = function (article) {
      var a = article.querySelector(".meta a");
      return a ? a.getAttribute("href") : null;
    };
    var loading = false;
    var again = false;
    var lastFetched = null;
    var insertNew = function () {
      if (loading) {
        again = true;
        return;
      }
      loading = true;
      fetch("/chats/" + chatId, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (res) {
          if (!res.ok) throw new Error("gone");
          return res.text();
        })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html");
          var shown = {};
          var current = feed.querySelectorAll("article.post");
          for (var i = 0; i < current.length; i++) shown[keyOf(current[i])] = true;
          var added = fresh.querySelectorAll("#chat-feed .feed article.post");
          var names = [];
          for (var j = 0; j < added.length; j++) {
            var key = keyOf(added[j]);
            if (!key || shown[key]) continue;
            var node = document.importNode(added[j], true);
            feed.appendChild(node);
            localTimes(node);
            var who = node.querySelector(".who strong");
            if (who) names.push(who.textContent);
          }
          if (names.length) {
            var empty = document.querySelector("#chat-feed .empty");
            if (empty) empty.parentNode.removeChild(empty);
            chatNews.textContent =
              (names.length === 1 ? "New message from " : "New messages from ") + names.join(", ");
            chatNews.hidden = false;
          }
        })
        .catch(notify)
        .then(function () {
          loading = false;
          if (again) {
            again = false;
            insertNew();
          }
        });
    };
    var onChat = function (event) {
      var msg, chat;
      try {
        msg = JSON.parse(event.data);
        chat = JSON.parse(msg.payload);
      } catch (e) {
        return;
      }
      if (!msg || msg.event !== "conversation" || !chat) return;
      if (chatId && chat.id !== chatId) return;
      var last = chat.last_status;
      if (last && last.account && last.account.id === me && chatId) return;
      if (chatId && feed && window.fetch && window.DOMParser) {
        // Only a message not fetched yet is worth a fetch (a rename changes no message).
        if (last && last.id !== lastFetched) {
          lastFetched = last.id;
          insertNew();
        }
      } else notify();
    };
    var chatDelay = 1000;
    var chatConnect = function () {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      var socket = new WebSocket(scheme + location.host + "/api/v1/streaming?stream=direct");
      socket.onopen = function () {
        chatDelay = 1000;
        document.body.setAttribute("data-chat-live", "open");
      };
      socket.onmessage = onChat;
      socket.onclose = function () {
        document.body.setAttribute("data-chat-live", "closed");
        window.setTimeout(chatConnect, chatDelay);
        chatDelay = Math.min(chatDelay * 2, 60000);
      };
    };
    chatConnect();
  }

  // Times: the page says UTC (it cannot know the reader's zone); here they become relative
  // ("5 min") when recent and the reader's local time otherwise, with the full time on hover.
  function localTimes(root) {
    var times = root.querySelectorAll("time[datetime]");
    var now = Date.now();
    for (var i = 0; i < times.length; i++) {
      var t = times[i];
      var at = new Date(t.getAttribute("datetime"));
      if (isNaN(at.getTime())) continue;
      var secs = Math.round((now - at.getTime()) / 1000);
      var label;
      if (secs < 45) label = "now";
      else if (secs < 3600) label = Math.max(1, Math.round(secs / 60)) + " min";
      else if (secs < 86400) label = Math.round(secs / 3600) + " h";
      else label = at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
      t.title = at.toLocaleString(undefined, { dateStyle: "full", timeStyle: "short" });
      t.textContent = label;
      t.setAttribute("data-local", "1");
    }
  }
  localTimes(document);

  // Character counter for the compose box, counting as the server does: the text without
  // trailing whitespace plus the content warning, in characters (code points). It goes
  // negative (and red) past the limit rather than the box cutting a paste short.
  var text = document.querySelector("[data-compose] textarea[data-max]");
  var counter = document.getElementById("compose-count");
  if (text && counter) {
    var cw = document.getElementById("compose-cw");
    var max = parseInt(text.getAttribute("data-max"), 10) || 0;
    var update = function () {
      var body = text.value.replace(/\s+$/, "");
      var used = Array.from(body).length + (cw ? Array.from(cw.value).length : 0);
      var left = max - used;
      var blank = body.trim() === "" && text.value !== "";
      counter.textContent = blank
        ? "A post can't be only spaces: write something"
        : left + (left === 1 || left === -1 ? " character left" : " characters left");
      counter.classList.toggle("over", left < 0 || blank);
    };
    text.addEventListener("input", update);
    if (cw) cw.addEventListener("input", update);
    update();
  }

  // A preview of each chosen picture under its file field, read in the page (as a data:
  // address, which the page's policy allows) and sent nowhere; other files show their name
  // and size. Without this script the post itself is the preview.
  var pickers = document.querySelectorAll("input[type=file][data-preview]");
  for (var k = 0; k < pickers.length; k++) {
    (function (input) {
      var box = document.createElement("span");
      box.className = "upload-preview";
      box.setAttribute("aria-live", "polite");
      input.parentNode.appendChild(box);
      input.addEventListener("change", function () {
        box.textContent = "";
        var file = input.files && input.files[0];
        if (!file) return;
        if (/^image\//.test(file.type) && file.size <= 20 * 1024 * 1024) {
          var reader = new FileReader();
          reader.onload = function () {
            var img = document.createElement("img");
            img.src = reader.result;
            img.alt = "Preview of " + file.name;
            box.appendChild(img);
          };
          reader.readAsDataURL(file);
        } else {
          box.textContent = file.name + " (" + Math.ceil(file.size / 1024) + " KB)";
        }
      });
    })(pickers[k]);
  }

  // The composer's circles (always shown without this script) only while "Circles" is the
  // audience; disabled while hidden, so no ticked circle goes with another audience.
  var forms = document.querySelectorAll("form[data-compose]");
  for (var f = 0; f < forms.length; f++) {
    (function (form) {
      var choice = form.querySelector("select[name=visibility]");
      var circles = form.querySelector("fieldset[data-circles]");
      if (!choice || !circles) return;
      var sync = function () {
        var off = choice.value !== "circle";
        circles.hidden = off;
        circles.disabled = off;
      };
      choice.addEventListener("change", sync);
      sync();
    })(forms[f]);
  }
})();
