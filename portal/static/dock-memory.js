// What the player dock (dock.js) remembers of the room it plays, so that a reload, a
// full page load or a new tab picks the same room up again:
//   sessionStorage: this tab's own record (it was playing, or it was stopped here);
//   localStorage:   the room last started in any tab, for new tabs, and the way tabs
//                   tell each other who plays now: the newest writer wins, and every
//                   other tab hears it through the "storage" event and stops.
// The player's address is stored without its fragment, which may carry the signed-in
// person's token: the dock asks the space page for a fresh one when it resumes.
(function () {
  "use strict";

  const KEY = "spaces-dock";
  const MAX_AGE_MS = 12 * 60 * 60 * 1000;  // past that, a room is not "what was playing"
  const tab = Math.random().toString(36).slice(2) + Date.now().toString(36);

  function store(name) {
    try {
      const area = window[name];
      area.getItem(KEY);  // throws where storage is blocked
      return area;
    } catch (error) {
      return null;
    }
  }

  const local = store("localStorage");
  const session = store("sessionStorage");

  function parse(text) {
    try {
      const record = JSON.parse(text || "null");
      const fields = ["spaceId", "src", "title", "pageUrl"];
      if (!record || !fields.every(function (f) { return typeof record[f] === "string"; })) {
        return null;
      }
      if (!(Date.now() - Number(record.at) < MAX_AGE_MS)) return null;
      return record;
    } catch (error) {
      return null;
    }
  }

  function read(area) {
    return area ? parse(area.getItem(KEY)) : null;
  }

  function write(area, record) {
    if (!area) return;
    try {
      area.setItem(KEY, JSON.stringify(record));
    } catch (error) {
      // Storage full or blocked: the room just will not resume after a reload.
    }
  }

  function withoutFragment(src) {
    const url = new URL(src, location.href);
    url.hash = "";
    return url.href;
  }

  function reloaded() {
    const entry = performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
    return !!entry && entry.type === "reload";
  }

  window.SpacesDockMemory = {
    tab: tab,

    // The room this page should resume, or null. A tab that decided for itself before
    // (played, or was stopped) follows its own record; a fresh tab follows the newest.
    toResume: function () {
      const own = read(session);
      if (own) return own.playing ? own : null;
      if (reloaded()) return null;  // a tab that was not playing stays quiet
      const shared = read(local);
      return shared && shared.playing ? shared : null;
    },

    // This tab plays `info` now: remember it, and tell the other tabs to stop.
    remember: function (info) {
      const record = { spaceId: String(info.spaceId), src: withoutFragment(info.src),
        title: String(info.title), pageUrl: String(info.pageUrl), playing: true, tab: tab,
        at: Date.now() };
      write(session, record);
      write(local, record);
    },

    // Stopped here (Stop, Close, the room ended): forget it, for this tab and for new
    // ones, unless another tab has taken over since.
    forget: function () {
      const own = read(session);
      if (own) write(session, Object.assign(own, { playing: false, at: Date.now() }));
      const shared = read(local);
      if (shared && shared.tab === tab && local) local.removeItem(KEY);
    },

    // Another tab plays now: this one must not resume on its next load.
    yieldTo: function () {
      const own = read(session);
      if (own) write(session, Object.assign(own, { playing: false, at: Date.now() }));
    },

    // Ask the space page for the player's address, which carries who the person is now;
    // resolve to the saved room as it was (a guest's address) if that takes too long.
    freshInfo: function (saved, timeoutMs) {
      const timer = new AbortController();
      setTimeout(function () { timer.abort(); }, timeoutMs);
      return fetch(saved.pageUrl, { credentials: "same-origin", signal: timer.signal,
        headers: { Accept: "text/html" } })
        .then(function (response) { return response.ok ? response.text() : ""; })
        .then(function (text) {
          const el = new DOMParser().parseFromString(text, "text/html")
            .querySelector("[data-player-slot]");
          if (!el || el.dataset.spaceId !== saved.spaceId) return saved;
          return { spaceId: el.dataset.spaceId, src: el.dataset.src, title: el.dataset.title,
            pageUrl: el.dataset.pageUrl };
        })
        .catch(function () { return saved; });
    },

    // Call `callback(record)` when another tab starts playing.
    onOtherTab: function (callback) {
      window.addEventListener("storage", function (event) {
        if (event.key !== KEY || !local || event.storageArea !== local) return;
        const record = parse(event.newValue);
        if (record && record.playing && record.tab !== tab) callback(record);
      });
    }
  };
})();
