// The player dock: one room-server player iframe kept alive for the whole visit, so the
// audio goes on while nav.js swaps the page's <main>. Moving an iframe in the DOM
// reloads it and cuts the audio, so the iframe never moves; the dock changes how it
// is presented instead:
//   expanded:  laid over the space page's player slot (measured and positioned);
//   minimized: a bar fixed to the bottom of the window, the iframe still rendered but
//              out of sight and out of the tab order (inert).
// The player reports its state and its height with postMessage and takes "listen",
// "leave" and "status" commands back; both sides check the other's configured origin.
// The dock sizes the slot to the player's height (no inner scrollbar), and passes what
// the player knows of the room (its state and counts) on to the page as a
// "spaces:player" event, so the page around it tells the same story.
// The dock remembers the room it plays (dock-memory.js): a reload or a new tab shows
// "Reconnecting" at once and resumes it, and only the newest tab plays.
(function () {
  "use strict";

  const dock = document.getElementById("player-dock");
  const roomsOrigin = dock && dock.dataset.roomsOrigin;
  if (!dock || !roomsOrigin) return;

  const bar = dock.querySelector(".dock-bar");
  const frameBox = dock.querySelector(".dock-frame");
  const stateEl = dock.querySelector(".dock-state");
  const titleEl = dock.querySelector(".dock-title");
  const toggle = dock.querySelector(".dock-toggle");
  const expandLink = dock.querySelector(".dock-expand");
  const closeButton = dock.querySelector(".dock-close");
  const resumeNote = dock.querySelector(".dock-resume");
  const announcer = document.querySelector("[data-dock-announce]");
  const memory = window.SpacesDockMemory || null;
  const LABELS = { idle: "Stopped", connecting: "Connecting", playing: "Playing",
    reconnecting: "Reconnecting", ended: "Ended", unreachable: "Can't reach the room",
    error: "Stopped" };
  const ACTIVE = ["connecting", "playing", "reconnecting", "unreachable"];
  const RESUME_FETCH_MS = 1000;  // past that, resume as a guest rather than keep waiting

  let iframe = null;
  let current = null;      // the loaded space: {spaceId, src, title, pageUrl}
  let playerState = "idle";
  let ready = false;       // the loaded player has reported in and takes commands
  let pending = null;      // a command to send as soon as it has
  let mode = "hidden";     // hidden | expanded | minimized
  let slot = null;         // this page's player slot, if it is a space page
  let height = 0;          // the loaded player's height in CSS pixels, once it told us
  let resuming = false;    // picking up, after a load, the room that was playing
  let elsewhere = false;   // another tab took over the room
  let leavingPage = false; // this document is unloading: the player's goodbyes mean nothing

  function isActive() {
    return ACTIVE.indexOf(playerState) >= 0;
  }

  // Playing, or about to: the bar offers Stop.
  function busy() {
    return isActive() || resuming;
  }

  function shownState() {
    return resuming && (playerState === "idle" || playerState === "connecting")
      ? "reconnecting" : playerState;
  }

  // A player that never reported in (its room server does not know this portal's
  // address) may still be playing: keep it in view, where Close always ends it.
  function mayBePlaying() {
    return isActive() || (!!current && !ready);
  }

  function announce(text) {
    if (announcer) announcer.textContent = text;
  }

  function send(command) {
    if (!iframe || !current) return;
    if (!ready) { pending = command; return; }
    iframe.contentWindow.postMessage({ type: "spaces-player:command", command: command },
      roomsOrigin);
  }

  function slotInfo(el) {
    return { spaceId: el.dataset.spaceId, src: el.dataset.src, title: el.dataset.title,
      pageUrl: el.dataset.pageUrl };
  }

  function load(info) {
    if (!iframe) {
      iframe = document.createElement("iframe");
      iframe.className = "player";
      // A listener invited to speak needs the microphone inside the frame.
      iframe.allow = "microphone; autoplay";
      frameBox.appendChild(iframe);
    }
    current = info;
    playerState = "idle";
    ready = false;
    pending = null;
    height = 0;
    iframe.title = "Audio player for " + info.title;
    // A new document in the same element: the old room's audio ends with it.
    iframe.src = info.src;
    titleEl.textContent = info.title;
    titleEl.href = info.pageUrl;
    expandLink.href = info.pageUrl;
    renderBar();
  }

  function unload() {
    if (iframe) iframe.src = "about:blank";
    current = null;
    playerState = "idle";
    ready = false;
    pending = null;
  }

  // Expanded: follow the slot wherever layout puts it. The dock is absolutely
  // positioned in the document, so it scrolls with the page on its own.
  function place() {
    if (mode !== "expanded" || !slot) return;
    if (height) {
      slot.style.height = height + "px";
      iframe.style.height = height + "px";
    }
    const r = slot.getBoundingClientRect();
    dock.style.top = r.top + window.scrollY + "px";
    dock.style.left = r.left + window.scrollX + "px";
    dock.style.width = r.width + "px";
    dock.style.height = r.height + "px";
  }

  function setMode(next) {
    mode = next;
    dock.hidden = next === "hidden";
    dock.classList.toggle("is-expanded", next === "expanded");
    dock.classList.toggle("is-minimized", next === "minimized");
    document.documentElement.classList.toggle("has-dock-bar", next === "minimized");
    bar.hidden = next !== "minimized";
    if (iframe) {
      // Out of sight must also mean out of reach of Tab and screen readers.
      iframe.inert = next !== "expanded";
      iframe.toggleAttribute("aria-hidden", next !== "expanded");
    }
    if (next !== "expanded") {
      dock.style.top = dock.style.left = dock.style.width = dock.style.height = "";
      if (slot) slot.style.height = "";
    }
    renderSlot();
    renderBar();
    place();
  }

  function renderBar() {
    const state = shownState();
    dock.dataset.playerState = state;
    stateEl.textContent = elsewhere && !isActive() ? "In another tab"
      : ready || resuming ? LABELS[state] || "Stopped" : "Player";
    resumeNote.hidden = !(resuming && mode === "expanded");
    if (current) resumeNote.querySelector(".dock-resume-title").textContent = current.title;
    toggle.textContent = busy() ? "Stop" : "Listen";
    toggle.disabled = playerState === "ended";
    toggle.setAttribute("aria-label", (busy() ? "Stop " : "Listen to ") +
      (current ? current.title : ""));
  }

  function renderSlot() {
    if (!slot) return;
    const mine = !!current && current.spaceId === slot.dataset.spaceId;
    const section = slot.closest(".player-section");
    slot.classList.toggle("is-holding", mine && mode === "expanded");
    slot.querySelector("[data-slot-minimized]").hidden = !(mine && mode === "minimized");
    const offer = slot.querySelector("[data-slot-offer]");
    offer.hidden = mine || !current;
    if (current) offer.querySelector("[data-slot-current]").textContent = current.title;
    const minimize = section && section.querySelector("[data-dock-minimize]");
    if (minimize) minimize.hidden = !(mine && mode === "expanded");
  }

  function minimize() {
    setMode("minimized");
    announce("Player minimized. " + (isActive() ? "It keeps playing in the bar at the bottom."
      : "It is in the bar at the bottom."));
  }

  function expandHere() {
    setMode("expanded");
    announce("Player expanded.");
    iframe.focus();
  }

  function wireSlot(el) {
    if (el.dataset.dockWired) return;
    el.dataset.dockWired = "true";
    const section = el.closest(".player-section");
    const minimizeButton = section && section.querySelector("[data-dock-minimize]");
    if (minimizeButton) {
      minimizeButton.addEventListener("click", function () {
        minimize();
        el.querySelector("[data-dock-expand-here]").focus();
      });
    }
    el.querySelector("[data-dock-expand-here]").addEventListener("click", expandHere);
    el.querySelector("[data-dock-switch]").addEventListener("click", function () {
      load(slotInfo(el));
      setMode("expanded");
      send("listen");
      announce("Switching to " + current.title + ".");
      iframe.focus();
    });
  }

  // Called on every page, first load or swapped in by nav.js.
  function attach() {
    slot = document.querySelector("main [data-player-slot]");
    if (slot) {
      wireSlot(slot);
      const info = slotInfo(slot);
      if (current && current.spaceId !== info.spaceId && mayBePlaying()) {
        // Another space is playing: keep it, and offer this one on the page.
        setMode("minimized");
        return;
      }
      if (!current || current.spaceId !== info.spaceId) load(info);
      setMode("expanded");
    } else if (current && mayBePlaying()) {
      if (mode !== "minimized") minimize();
    } else {
      setMode("hidden");
    }
  }

  function onSize(data) {
    const h = Math.round(Number(data.height));
    if (!(h > 0) || h > 20000 || h === height) return;
    height = h;
    place();
  }

  // Tell the page what the player knows of the room it is showing.
  function tellPage(data) {
    document.dispatchEvent(new CustomEvent("spaces:player", { detail: {
      spaceId: current.spaceId,
      state: String(data.state || ""),
      roomState: String(data.roomState || ""),
      listeners: Number.isFinite(data.listeners) ? data.listeners : null,
      speakers: Number.isFinite(data.speakers) ? data.speakers : null,
      recording: typeof data.recording === "string" ? data.recording : ""
    } }));
  }

  window.addEventListener("message", function (event) {
    if (!iframe || event.source !== iframe.contentWindow || event.origin !== roomsOrigin) return;
    const data = event.data;
    if (!data || !current) return;
    if (data.type === "spaces-player:size") { onSize(data); return; }
    if (data.type !== "spaces-player:state") return;
    // A late message from the room we just switched away from says nothing about this one.
    if (new URL(current.src).pathname !== "/s/" + data.roomId + "/embed") return;
    tellPage(data);
    const was = playerState;
    playerState = String(data.state);
    ready = true;
    if (pending) { const command = pending; pending = null; send(command); }
    remembered(was);
    renderBar();
    if (was !== playerState && (was !== "idle" || playerState !== "idle")) {
      announce((LABELS[shownState()] || "Stopped") + ": " + current.title + ".");
    }
    // Stopped from inside the player while browsing elsewhere: the bar stays until closed.
  });

  // Keep the dock's memory in step with what the player reports.
  function remembered(was) {
    const active = isActive();
    if (resuming && (playerState === "playing" || !(active || playerState === "idle") ||
        (playerState === "idle" && was === "connecting"))) {
      resuming = false;
    }
    if (!memory || leavingPage || elsewhere) return;
    if (active && ACTIVE.indexOf(was) < 0) memory.remember(current);
    else if (!active && ACTIVE.indexOf(was) >= 0) memory.forget();
    else if (playerState === "ended" || playerState === "error") memory.forget();
  }

  toggle.addEventListener("click", function () {
    if (busy()) {
      send("leave");
      resuming = false;
      if (memory) memory.forget();
    } else {
      elsewhere = false;
      if (!iframe && current) {  // gave way to another tab before its player loaded
        load(current);
        setMode(mode);
      }
      send("listen");
    }
    renderBar();
  });
  expandLink.addEventListener("click", function (event) {
    if (slot && current && slot.dataset.spaceId === current.spaceId) {
      event.preventDefault();  // already on its page: no need to navigate
      expandHere();
    }
  });
  closeButton.addEventListener("click", function () {
    send("leave");
    if (memory && !elsewhere) memory.forget();
    resuming = elsewhere = false;
    unload();
    announce("Player closed.");
    attach();
    document.getElementById("main").focus();
  });

  // ----- Resuming after a load, and giving way to a newer tab ----------------------------

  function startResumed(info) {
    if (!resuming) return;  // closed meanwhile
    load(info);
    send("listen");
    attach();
  }

  function resume() {
    const saved = memory && memory.toResume();
    if (!saved) return;
    resuming = true;
    memory.remember(saved);  // at once, so an older tab stops before this one starts
    const here = document.querySelector("main [data-player-slot]");
    if (here && here.dataset.spaceId === saved.spaceId) {
      startResumed(slotInfo(here));
      return;
    }
    // Shown as reconnecting at once; the player loads when its address is known.
    current = { spaceId: saved.spaceId, src: saved.src, title: saved.title,
      pageUrl: saved.pageUrl };
    titleEl.textContent = saved.title;
    titleEl.href = expandLink.href = saved.pageUrl;
    memory.freshInfo(saved, RESUME_FETCH_MS).then(function (info) {
      if (current && current.spaceId === info.spaceId && !iframe) startResumed(info);
    });
  }

  if (memory) {
    memory.onOtherTab(function () {
      if (!current || !mayBePlaying()) return;
      send("leave");
      memory.yieldTo();
      elsewhere = true;
      resuming = false;
      renderBar();
      announce("Playing in another tab now.");
    });
  }
  // The player's last reports as the page unloads are not someone pressing Stop.
  window.addEventListener("pagehide", function () { leavingPage = true; });
  window.addEventListener("pageshow", function () { leavingPage = false; });

  if (window.ResizeObserver) new ResizeObserver(place).observe(document.body);
  window.addEventListener("resize", place);
  document.addEventListener("spaces:navigated", attach);
  resume();
  attach();
})();
