// Small enhancements for every page: live relative times, copy and share buttons,
// and sort menus that apply on change. Every page reads fine without this script.
(function () {
  "use strict";

  function ago(date) {
    var seconds = Math.round((Date.now() - date.getTime()) / 1000);
    var future = seconds < 0;
    seconds = Math.abs(seconds);
    if (seconds < 5) { return "just now"; }
    var amount;
    if (seconds < 60) { amount = seconds + " s"; }
    else if (seconds < 3600) { amount = Math.floor(seconds / 60) + " min"; }
    else if (seconds < 86400) { amount = Math.floor(seconds / 3600) + " h"; }
    else { amount = Math.floor(seconds / 86400) + " d"; }
    return future ? "in " + amount : amount + " ago";
  }

  function refreshTimes() {
    document.querySelectorAll("time[data-ago]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) { return; }
      el.textContent = (el.getAttribute("data-prefix") || "") + ago(date);
      el.title = date.toLocaleString();
      // A scheduled start that has passed: the space is late, not "starting 45 s ago".
      var starts = el.closest("[data-starts]");
      if (starts && date.getTime() < Date.now()) {
        starts.removeAttribute("data-starts");
        starts.replaceChildren("The host has not started yet (it was due ", el, ")");
      }
    });
  }

  // Times of day in the viewer's own time zone and language ("Tue 8 Dec, 18:00 CET");
  // the server writes them in UTC, which is what shows without scripts.
  var localFormat = null;
  try {
    localFormat = new Intl.DateTimeFormat(undefined, {
      weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
      timeZoneName: "short"
    });
  } catch (error) { /* an old browser: the UTC text stays */ }

  function localTimes(root) {
    if (!localFormat) { return; }
    root.querySelectorAll("time[data-local]:not([data-localized])").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) { return; }
      el.title = el.textContent;
      el.textContent = localFormat.format(date);
      el.setAttribute("data-localized", "");
    });
  }

  function announce(message) {
    var status = document.querySelector("[data-copy-status]");
    if (status) { status.textContent = message; }
  }

  function setupCopy(button) {
    var target = document.querySelector(button.getAttribute("data-copy"));
    if (!target || !navigator.clipboard) { return; }
    button.hidden = false;
    var label = button.textContent;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(target.value).then(function () {
        button.textContent = "Copied";
        announce("Copied to the clipboard");
        setTimeout(function () { button.textContent = label; }, 2000);
      }, function () {
        target.select();
        announce("Press Ctrl+C to copy");
      });
    });
  }

  function setupShare(button) {
    if (!navigator.share) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      // The URL is already at the end of the text; passing it twice duplicates it in posts.
      navigator.share({
        title: button.getAttribute("data-share-title"),
        text: button.getAttribute("data-share-text")
      }).catch(function () { /* the person closed the share sheet */ });
    });
  }

  function enhance(root) {
    root.querySelectorAll("[data-copy]").forEach(setupCopy);
    root.querySelectorAll("[data-share]").forEach(setupShare);
    root.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      // requestSubmit fires "submit", so nav.js can keep the player going.
      select.addEventListener("change", function () {
        if (select.form.requestSubmit) select.form.requestSubmit(); else select.form.submit();
      });
    });
  }

  // A space page follows its space while it is open: the player tells at once what the
  // room says (state, counts), and the API is asked every few seconds for the rest
  // (spaces on other platforms, and when no player is playing).
  var BADGES = {
    live: ["LIVE", "badge-live", "Live now, confirmed recently"],
    scheduled: ["Scheduled", "badge-scheduled", "Not started yet"],
    ended: ["Ended", "badge-ended", "This space has ended"],
    gone: ["Gone", "badge-ended", "This space no longer exists"]
  };
  var FOLLOW_EVERY_MS = 5000;
  var following = null;

  function setStat(article, name, value) {
    var el = article.querySelector('[data-space-stat="' + name + '"]');
    if (el && typeof value === "number" && value >= 0) { el.textContent = String(value); }
  }

  // Spaces only move forward; a slower source still saying "live" must not undo "ended".
  var ORDER = { scheduled: 0, live: 1, ended: 2, gone: 3 };

  function setSpaceState(article, state, endedAt) {
    var was = article.getAttribute("data-space-state");
    if (!BADGES[state] || was === state || ORDER[state] < (ORDER[was] || 0)) { return; }
    article.setAttribute("data-space-state", state);
    var holder = article.querySelector("[data-space-badge]");
    if (holder) {
      var badge = document.createElement("span");
      badge.className = "badge " + BADGES[state][1];
      badge.title = BADGES[state][2];
      badge.textContent = BADGES[state][0];
      holder.replaceChildren(badge);
    }
    var timing = article.querySelector("[data-space-timing]");
    if (timing && (state === "ended" || state === "gone")) {
      var time = document.createElement("time");
      time.setAttribute("datetime", endedAt || new Date().toISOString());
      time.setAttribute("data-ago", "");
      timing.replaceChildren("Ended ", time);
      refreshTimes();
    } else if (timing && state === "live") {
      timing.textContent = "Live now";
    }
    if (state === "ended" || state === "gone") {
      // Nothing left to listen to live: no call to action, and say so.
      var cta = article.querySelector("[data-space-cta]");
      if (cta) { cta.remove(); }
    }
    announce(BADGES[state][2] + ".");
  }

  function timeAgo(iso, prefix) {
    var time = document.createElement("time");
    time.setAttribute("datetime", iso);
    time.setAttribute("data-ago", "");
    if (prefix) { time.setAttribute("data-prefix", prefix); }
    return time;
  }

  // "Checked N s ago" counts only checks that reached the room (the API's last_checked_at);
  // when the last check could not, say so, and a live badge is no longer sure.
  function setReach(article, space) {
    var checked = article.querySelector("[data-space-checked]");
    var line = article.querySelector("[data-space-reach]");
    var health = space.health || {};
    if (!checked || !line || typeof health.reachable !== "boolean") { return; }
    var reached = health.reachable;
    if (space.last_checked_at) { checked.replaceChildren(timeAgo(space.last_checked_at, "checked ")); }
    if (!reached) {
      var text = line.getAttribute("data-reach-text");
      line.replaceChildren.apply(line, space.last_checked_at
        ? [text + "; last reached ", timeAgo(space.last_checked_at, ""), "."] : [text + "."]);
    }
    var changed = line.hidden === !reached;
    checked.hidden = !reached;
    line.hidden = reached;
    var holder = article.querySelector("[data-space-badge]");
    if (changed && holder && article.getAttribute("data-space-state") === "live") {
      var look = reached ? BADGES.live : ["Live?", "badge-stale", line.textContent];
      var badge = document.createElement("span");
      badge.className = "badge " + look[1];
      badge.title = look[2];
      badge.textContent = look[0];
      holder.replaceChildren(badge);
    }
    refreshTimes();
    if (changed) { announce(reached ? "Checked again just now." : line.textContent); }
  }

  function followSpace() {
    if (following) { clearInterval(following); following = null; }
    var article = document.querySelector("main [data-space-follow]");
    if (!article) { return; }
    var url = article.getAttribute("data-space-follow");
    function poll() {
      if (document.hidden || !article.isConnected) { return; }
      fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (space) {
          if (!space || !article.isConnected) { return; }
          // The room's own player knows the counts first-hand: the catalog's are older.
          if (!article.hasAttribute("data-player-counts")) {
            setStat(article, "listeners", space.listener_count);
            setStat(article, "speakers", space.speaker_count);
          }
          setSpaceState(article, space.state, space.ended_at);
          setReach(article, space);
        })
        .catch(function () { /* offline for a moment: the next poll tries again */ });
    }
    following = setInterval(poll, FOLLOW_EVERY_MS);
  }

  document.addEventListener("spaces:player", function (event) {
    var info = event.detail || {};
    var article = document.querySelector("main [data-space-follow]");
    var slot = document.querySelector("main [data-player-slot]");
    if (!article || !slot || slot.getAttribute("data-space-id") !== String(info.spaceId)) { return; }
    if (typeof info.listeners === "number") { article.setAttribute("data-player-counts", ""); }
    setStat(article, "listeners", info.listeners);
    setStat(article, "speakers", info.speakers);
    if (info.roomState) { setSpaceState(article, info.roomState, ""); }
  });

  refreshTimes();
  setInterval(refreshTimes, 5000);
  localTimes(document);
  followSpace();
  enhance(document);
  // nav.js swapped in a new <main>: enhance what it brought.
  document.addEventListener("spaces:navigated", function () {
    refreshTimes();
    localTimes(document.getElementById("main"));
    followSpace();
    enhance(document.getElementById("main"));
  });
})();
