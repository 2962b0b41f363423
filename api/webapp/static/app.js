// Roost web app: a small progressive enhancement. Every form works
// without this script; with it, actions on posts happen in place
// (optimistically, undone if the server refuses), new posts and
// notifications arrive live, and the compose box completes @, # and :.
// It talks only to this site, with the session cookie (no token).
"use strict";
(function () {
  var live = document.getElementById("live");
  function say(text) { if (live) { live.textContent = text; } }

  // post sends the form as it is now (before any optimistic change).
  function post(form) {
    return send(form, new URLSearchParams(new FormData(form)));
  }
  function send(form, body) {
    return fetch(form.action, {
      method: "POST", credentials: "same-origin",
      headers: { "Accept": "application/json" },
      body: body
    }).then(function (r) {
      if (r.ok) { return r; }
      return r.json().catch(function () { return {}; }).then(function (b) {
        throw new Error(b.error || ("The server answered " + r.status + "."));
      });
    });
  }

  var swaps = [["Follow", "Unfollow"], ["Mute", "Unmute"], ["Block", "Unblock"], ["Pin on profile", "Unpin from profile"]];
  // flip shows a toggle's new state at once; calling it again undoes it.
  function flip(form) {
    var on = form.querySelector("input[name=on]"), btn = form.querySelector("button");
    var pressed = btn.getAttribute("aria-pressed") === "true";
    btn.setAttribute("aria-pressed", pressed ? "false" : "true");
    on.value = pressed ? "1" : "0";
    var n = btn.querySelector(".n");
    if (n) { n.textContent = String(Math.max(0, (parseInt(n.textContent, 10) || 0) + (pressed ? -1 : 1))); }
    // starts reports whether text begins with the word w.
    function starts(text, w) { return text.indexOf(w) === 0 && (text.length === w.length || text.charAt(w.length) === " "); }
    var t = btn.firstChild;
    swaps.some(function (s) {
      if (!t || t.nodeType !== 3) { return true; }
      if (!pressed && starts(t.data, s[0])) { t.data = s[1] + t.data.slice(s[0].length); return true; }
      if (pressed && starts(t.data, s[1])) { t.data = s[0] + t.data.slice(s[1].length); return true; }
      return false;
    });
  }

  function replacePost(article) {
    var id = article.getAttribute("data-id");
    return fetch("/web/fragment/statuses/" + id, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error("reload"); }
      return r.text();
    }).then(function (html) {
      var t = document.createElement("template");
      t.innerHTML = html.trim();
      var fresh = t.content.querySelector("article");
      if (fresh) { fresh.id = article.id; article.replaceWith(fresh); }
    });
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    var ask = form.getAttribute("data-confirm");
    if (ask && !window.confirm(ask)) { e.preventDefault(); return; }
    var kind = form.getAttribute("data-async");
    if (!kind || !window.fetch) { return; }
    e.preventDefault();
    var article = form.closest("article");
    if (kind === "toggle") {
      var body = new URLSearchParams(new FormData(form));
      flip(form);
      send(form, body).catch(function (err) { flip(form); say(err.message); });
    } else if (kind === "delete") {
      if (article) { article.hidden = true; }
      post(form).then(function () { if (article) { article.remove(); } say("Deleted."); })
        .catch(function (err) { if (article) { article.hidden = false; } say(err.message); });
    } else if (kind === "vote") {
      post(form).then(function () { return article && replacePost(article); })
        .then(function () { say("Voted."); }).catch(function (err) { say(err.message); });
    }
  });

  // Live updates: the viewer's stream, relayed by this site (/web/stream).
  var feed = document.getElementById("feed");
  var badge = document.getElementById("notif-badge");
  function setBadge(n) {
    if (!badge) { return; }
    badge.textContent = n > 0 ? String(n) : "";
    badge.hidden = !(n > 0);
  }
  if (badge && !(feed && feed.hasAttribute("data-notifications"))) {
    fetch("/web/unread", { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : { count: "0" }; })
      .then(function (b) { setBadge(parseInt(b.count, 10) || 0); }).catch(function () {});
  }
  function insert(id) {
    if (!feed || document.querySelector('article[data-id="' + id + '"]') || document.getElementById("p" + id)) { return; }
    fetch("/web/fragment/statuses/" + id, { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.text() : "";
    }).then(function (html) {
      if (!html) { return; }
      var t = document.createElement("template");
      t.innerHTML = html.trim();
      var a = t.content.querySelector("article");
      if (!a || document.getElementById(a.id)) { return; }
      a.classList.add("new");
      var empty = document.getElementById("empty");
      if (empty) { empty.remove(); }
      feed.insertBefore(a, feed.firstChild);
      say("New post from " + (a.querySelector(".name") || {}).textContent + ".");
    });
  }
  if (feed && window.EventSource && (feed.hasAttribute("data-stream") || feed.hasAttribute("data-notifications") || badge)) {
    var es = new EventSource("/web/stream");
    var home = feed.hasAttribute("data-stream");
    es.addEventListener("update", function (ev) {
      if (!home) { return; }
      try { insert(JSON.parse(ev.data).id); } catch (x) { /* not a status */ }
    });
    es.addEventListener("delete", function (ev) {
      var a = document.querySelector('article[data-id="' + String(ev.data).replace(/[^0-9]/g, "") + '"]');
      if (a) { a.remove(); }
    });
    es.addEventListener("notification", function () {
      if (feed.hasAttribute("data-notifications")) {
        live.innerHTML = "";
        var l = document.createElement("a");
        l.href = "/notifications"; l.textContent = "New notifications: show them";
        live.appendChild(l);
      } else if (badge) {
        setBadge((parseInt(badge.textContent, 10) || 0) + 1);
      }
    });
    window.addEventListener("pagehide", function () { es.close(); });
  }

  // Completion of @accounts, #hashtags and :emojis: in the compose box.
  var box = document.querySelector("textarea[data-complete]");
  var list = document.getElementById("completions");
  if (box && list) {
    var timer = 0, items = [], sel = -1, word = null;
    function close() { list.hidden = true; list.innerHTML = ""; items = []; sel = -1; box.removeAttribute("aria-activedescendant"); }
    function current() {
      var before = box.value.slice(0, box.selectionStart);
      var m = /(^|\s)([@#:][\w.@-]+)$/.exec(before);
      return m ? { text: m[2], start: before.length - m[2].length } : null;
    }
    function take(i) {
      if (!word || !items[i]) { return; }
      var v = items[i].value + " ";
      box.value = box.value.slice(0, word.start) + v + box.value.slice(word.start + word.text.length);
      var at = word.start + v.length;
      box.setSelectionRange(at, at);
      close();
      box.focus();
    }
    function show() {
      list.innerHTML = "";
      items.forEach(function (it, i) {
        var li = document.createElement("li");
        li.id = "c" + i; li.setAttribute("role", "option"); li.textContent = it.label;
        li.setAttribute("aria-selected", i === sel ? "true" : "false");
        li.addEventListener("mousedown", function (e) { e.preventDefault(); take(i); });
        list.appendChild(li);
      });
      list.hidden = items.length === 0;
      if (sel >= 0) { box.setAttribute("aria-activedescendant", "c" + sel); }
    }
    box.setAttribute("aria-controls", "completions");
    // A reply starts with its mentions: type after them.
    if (box.value) { box.setSelectionRange(box.value.length, box.value.length); }
    box.addEventListener("input", function () {
      clearTimeout(timer);
      word = current();
      if (!word || word.text.length < 2) { close(); return; }
      var q = word.text;
      timer = setTimeout(function () {
        fetch("/web/complete?q=" + encodeURIComponent(q), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (got) { if (word && word.text === q) { items = got; sel = got.length ? 0 : -1; show(); } })
          .catch(close);
      }, 200);
    });
    box.addEventListener("keydown", function (e) {
      if (list.hidden) { return; }
      if (e.key === "ArrowDown") { sel = (sel + 1) % items.length; show(); e.preventDefault(); }
      else if (e.key === "ArrowUp") { sel = (sel + items.length - 1) % items.length; show(); e.preventDefault(); }
      else if (e.key === "Enter" || e.key === "Tab") { if (sel >= 0) { take(sel); e.preventDefault(); } }
      else if (e.key === "Escape") { close(); e.preventDefault(); }
    });
    box.addEventListener("blur", function () { setTimeout(close, 150); });
  }
})();
