// The Spaces player: listen to a room over WebRTC (one RTCPeerConnection, in media.js),
// ask to speak, speak, react, and (for the host and co-hosts) run the room. Signaling
// follows docs/rooms-protocol.md.
// State and inbound audio energy are exposed on the player element's data attributes
// (and window.spacesPlayer) so the page around it, and tests, can read them.
//
// Until someone presses Listen the player polls the room's status JSON, so the page
// follows the room by itself (scheduled, live, ended); once connected, the server's
// `state` and `ended` messages do that at once.
//
// A host opens the page with their token in the fragment (/s/<id>#token=...), which
// never reaches server logs; an invited speaker's link carries ?invite=....
// A connection that drops after it was up is rejoined by itself (reconnect.js says
// when), with a new WebSocket and peer connection and the resume token from the last
// `joined`, which gives back the person's role.
// Needs times.js, people.js, guests.js, media.js and reconnect.js, loaded before it.
(function () {
  "use strict";

  const root = document.getElementById("spaces-player");
  if (!root || !window.SpacesTimes || !window.SpacesPeople || !window.SpacesGuests ||
    !window.SpacesMedia || !window.SpacesReconnect) return;
  const Times = window.SpacesTimes;
  const People = window.SpacesPeople;
  const $ = function (sel) { return root.querySelector(sel); };
  const listenButton = $(".player-listen");
  const leaveButton = $(".player-leave");
  const startButton = $(".player-start");
  const requestButton = $(".player-request");
  const muteButton = $(".player-mute");
  const endButton = $(".player-end");
  const statusLine = $(".player-status");
  const noticeLine = $(".player-notice");
  const whenLine = $(".player-when");
  const stageEl = $(".player-stage");
  const audienceEl = $(".player-audience");
  const controls = $(".player-controls");
  const reactToggle = $(".player-react-toggle");
  const reactionsPanel = $(".player-reactions");
  const settingsToggle = $(".player-settings-toggle");
  const settingsPanel = $(".player-settings");
  const reactionLog = $(".player-reaction-log");
  const captionsEl = $(".player-captions");
  const captionsButton = $(".player-captions-toggle");
  const captionSize = $(".player-caption-size");
  const guestsEl = $(".player-guests");
  const confirmDialog = $(".player-confirm");
  const POLL_MS = 5000;
  const STATE_LABELS = { live: "Live", scheduled: "Scheduled", ended: "Ended" };

  // What is known of the room: from the page, then the status JSON or `state` messages.
  const data = root.dataset;
  const room = {
    state: data.state, startedAt: data.startedAt || "", scheduledStart: data.scheduledStart || "",
    endedAt: data.endedAt || "", listeners: Number(data.listeners) || 0,
    speakerCount: Number(data.speakers) || 0, recording: data.recordingUrl || "",
    transcript: data.transcriptUrl || "", speakers: null, audience: [],
  };
  const exposed = { state: "idle", energy: 0, listeners: room.listeners, role: "", muted: false,
    requested: false, peerId: "", speakers: [], requests: [], audience: [], levels: {},
    captionsOn: false, caption: "", roomState: room.state, speakerCount: room.speakerCount,
    recording: room.recording };
  window.spacesPlayer = exposed;

  const token = tokenFromFragment();
  const invite = new URLSearchParams(location.search).get("invite") || "";
  const claims = decodeClaims(token);
  // The page shows the host's public handle: their handle claim, else their identity.
  const isHost = !!claims && (claims.grants || []).indexOf("host") >= 0 &&
    (claims.sub === data.hostHandle || (!!claims.handle && claims.handle === data.hostHandle));

  let ws = null;
  let pollTimer = null;
  let levelsTimer = null;
  let pollsAfterEnd = 0;
  let ended = room.state === "ended";
  let removed = false;
  // The person pressed Listen and has not left: keep (re)connecting until they do.
  let wanted = false;
  let resumeToken = "";
  let sendResume = true; // false once the server said it does not take the field
  let joinSent = null; // the `join` awaiting its `joined`
  let wentOffline = false;

  function tokenFromFragment() {
    const match = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
    // Framed, the page around says who the person is every time it loads the player:
    // nothing is remembered, so someone who signed out there is a guest here too.
    if (document.body.classList.contains("embed")) {
      return match ? decodeURIComponent(match[1]) : "";
    }
    if (match) {
      sessionStorage.setItem("spaces-token", decodeURIComponent(match[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
    return sessionStorage.getItem("spaces-token") || "";
  }

  function decodeClaims(jwt) {
    // Only to choose what to show; the server checks the signature.
    try {
      const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part));
    } catch (e) {
      return null;
    }
  }

  function send(message) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  }

  // ----- Telling the embedding page (the portal) ------------------------------------
  // Both directions are pinned to the configured portal origin.
  const parentOrigin = document.body.dataset.parentOrigin || "";
  const framed = window.parent !== window;
  // Inside the portal's space page, which has its own share box, the player's would
  // say the same thing twice.
  if (framed && parentOrigin && location.ancestorOrigins &&
      location.ancestorOrigins[0] === parentOrigin) {
    document.body.classList.add("in-portal");
  }
  let lastTold = "";
  let lastHeight = -1;

  function tellParent(always) {
    if (!framed || !parentOrigin) return;
    const message = { type: "spaces-player:state", state: exposed.state, title: data.title,
      roomId: data.roomId, roomState: room.state, listeners: room.listeners,
      speakers: room.speakerCount, recording: room.recording };
    const key = JSON.stringify(message);
    if (!always && key === lastTold) return;
    lastTold = key;
    window.parent.postMessage(message, parentOrigin);
  }

  function tellSize(always) {
    if (!framed || !parentOrigin) return;
    const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (!always && height === lastHeight) return;
    lastHeight = height;
    window.parent.postMessage({ type: "spaces-player:size", height: height }, parentOrigin);
  }

  function fromParent(event) {
    if (event.source !== window.parent || event.origin !== parentOrigin) return;
    const msg = event.data || {};
    if (msg.type !== "spaces-player:command") return;
    if (msg.command === "listen" && !wanted && !ws && !media.active && !ended && !removed) start();
    else if (msg.command === "leave" && (wanted || ws || media.active)) leave();
    else if (msg.command === "status") { tellParent(true); tellSize(true); }
  }

  // ----- What the person sees -------------------------------------------------------

  function talks() {
    return exposed.role === "host" || exposed.role === "cohost" || exposed.role === "speaker";
  }

  function moderates() {
    return exposed.role === "host" || exposed.role === "cohost";
  }

  function setState(state, message) {
    if (state === "playing") retry.succeeded();
    exposed.state = state;
    data.playerState = state;
    if (message) statusLine.textContent = message;
    showControls();
    tellParent(true);
  }

  function notice(text) {
    noticeLine.textContent = text;
  }

  function setLabel(buttonEl, text) {
    const label = buttonEl.querySelector("span");
    (label || buttonEl).textContent = text;
  }

  function closePanels() {
    [[reactToggle, reactionsPanel], [settingsToggle, settingsPanel]].forEach(function (pair) {
      pair[0].setAttribute("aria-expanded", "false");
      pair[1].hidden = true;
    });
  }

  function showControls() {
    // While rejoining by itself there is no socket for a moment: Leave must stay.
    const connected = wanted || !!ws || media.active;
    const joined = !!ws && exposed.role !== "";
    listenButton.textContent = isHost ? "Join as host" : "Listen";
    listenButton.hidden = connected || ended || removed || (room.state === "scheduled" && !isHost);
    listenButton.disabled = ended || removed;
    leaveButton.hidden = !connected;
    controls.hidden = !joined;
    if (!joined) closePanels();
    // The HLS stream is a few seconds behind and carries nobody's voice back: no speaking.
    requestButton.hidden = !joined || talks() || media.hls;
    setLabel(requestButton, exposed.requested ? "Cancel request" : "Request to speak");
    muteButton.hidden = !joined || !talks();
    setLabel(muteButton, exposed.muted ? "Unmute" : "Mute");
    muteButton.classList.toggle("is-muted", exposed.muted);
    muteButton.querySelector(".player-icon-mic").toggleAttribute("hidden", exposed.muted);
    muteButton.querySelector(".player-icon-muted").toggleAttribute("hidden", !exposed.muted);
    endButton.hidden = !joined || exposed.role !== "host";
    startButton.hidden = !joined || exposed.role !== "host" || room.state !== "scheduled";
    captionsButton.setAttribute("aria-pressed", exposed.captionsOn ? "true" : "false");
    guestsEl.hidden = !joined || !moderates();
    data.role = exposed.role;
    data.requested = exposed.requested ? "true" : "false";
  }

  function statusText() {
    if (room.state === "ended") {
      return room.startedAt ? "This space has ended." :
        "This space was cancelled: it was never started.";
    }
    if (room.state === "scheduled") {
      const due = Times.parse(room.scheduledStart);
      if (!due) return "This space has not started yet.";
      if (due.getTime() <= Date.now()) {
        return "The host has not started yet (it was due " + Times.relative(due) + ").";
      }
      return "This space has not started yet; it is scheduled for " + Times.absolute(due) + ".";
    }
    return isHost ? "Live now. Press Join as host to go on stage." : "Live now. Press Listen to hear it.";
  }

  function renderWhen() {
    const parts = [];
    if (room.state === "ended" && room.endedAt) {
      parts.push(room.startedAt ? "Ended " : "Cancelled ", Times.element(room.endedAt, "relative"));
    } else if (room.state === "live" && room.startedAt) {
      parts.push("Started ", Times.element(room.startedAt, "relative"));
    } else if (room.state === "scheduled" && room.scheduledStart) {
      const due = Times.parse(room.scheduledStart);
      if (due && due.getTime() <= Date.now()) {
        parts.push("Was due ", Times.element(room.scheduledStart, "relative"));
      } else {
        // The status line says the date; this says how long to wait.
        parts.push("Starts ", Times.element(room.scheduledStart, "relative"));
      }
    }
    whenLine.replaceChildren.apply(whenLine, parts);
    whenLine.hidden = parts.length === 0;
  }

  function renderTimes() {
    renderWhen();
    Times.renderAll(document);
    if (!ws && !removed && (exposed.state === "idle" || exposed.state === "ended")) {
      statusLine.textContent = statusText();
    }
  }

  function renderBadges() {
    const label = STATE_LABELS[room.state] || room.state;
    document.querySelectorAll(".player-badge, [data-room-state]").forEach(function (el) {
      ["live", "scheduled", "ended"].forEach(function (s) {
        el.classList.toggle("badge-" + s, s === room.state);
      });
      el.textContent = label;
    });
    data.state = room.state;
  }

  function renderEnded() {
    const box = $(".player-ended");
    box.hidden = !ended;
    const recording = $(".player-recording");
    const transcript = $(".player-transcript");
    recording.hidden = !room.recording;
    transcript.hidden = !room.transcript;
    if (room.recording) recording.href = room.recording;
    if (room.transcript) transcript.href = room.transcript;
    $(".player-ended-links").hidden = !room.recording && !room.transcript;
    $(".player-no-recording").hidden = !!room.recording;
  }

  // Redraw a list of people, keeping the items of those who did not change, so a
  // reaction rising from someone (or a focused profile link) survives a state update.
  function fillPeople(list, people, withRole, extra) {
    const kept = {};
    list.querySelectorAll(":scope > [data-peer-id]").forEach(function (li) {
      kept[li.dataset.peerId] = li;
    });
    const items = people.map(function (p) {
      const sig = JSON.stringify([p.name, p.role, p.muted, p.profile || ""]);
      const old = p.peer_id ? kept[p.peer_id] : null;
      if (old && old.dataset.sig === sig) return old;
      const li = People.tile(p, withRole);
      li.dataset.sig = sig;
      return li;
    });
    if (extra) items.push(extra);
    const same = items.length === list.children.length && items.every(function (li, i) {
      return li === list.children[i];
    });
    if (!same) list.replaceChildren.apply(list, items);
    return items.length;
  }

  function renderStage() {
    const speakers = room.speakers || [];
    fillPeople(stageEl, speakers, true, null);
    $(".player-stage-empty").hidden = speakers.length > 0;
    applyLevels();
  }

  function renderAudience() {
    const people = room.audience || [];
    const more = room.listeners - people.length;
    let moreItem = null;
    if (people.length && more > 0) {
      moreItem = audienceEl.querySelector(":scope > .player-more") || document.createElement("li");
      moreItem.className = "player-more";
      moreItem.textContent = "+" + more + " listening";
    }
    audienceEl.hidden = fillPeople(audienceEl, people, false, moreItem) === 0;
    $(".player-listeners").textContent = String(room.listeners);
    $(".player-count").hidden = room.listeners === 0;
    $(".player-audience-empty").hidden = room.listeners !== 0;
  }

  function renderRoom() {
    if (room.state === "ended") ended = true;
    exposed.listeners = room.listeners;
    exposed.roomState = room.state;
    exposed.speakerCount = room.speakerCount;
    exposed.recording = room.recording;
    exposed.audience = room.audience || [];
    data.listeners = String(room.listeners);
    data.speakers = String(room.speakerCount);
    data.recordingUrl = room.recording;
    data.transcriptUrl = room.transcript;
    renderBadges();
    renderTimes();
    renderEnded();
    renderStage();
    renderAudience();
    // Once it is over, who was there says nothing: the recording is what is left.
    $(".player-stage-area").hidden = ended;
    $(".player-audience-area").hidden = ended;
    showControls();
    tellParent(false);
  }

  function applyStatus(status) {
    room.state = status.state || room.state;
    room.startedAt = status.started_at || "";
    room.scheduledStart = status.scheduled_start || "";
    room.endedAt = status.ended_at || "";
    room.listeners = Number(status.listener_count) || 0;
    const speakers = Array.isArray(status.speakers) ? status.speakers : [];
    room.speakerCount = typeof status.speaker_count === "number" ? status.speaker_count : speakers.length;
    room.recording = typeof status.recording_url === "string" ? status.recording_url : "";
    room.transcript = typeof status.transcript_url === "string" ? status.transcript_url : "";
    if (!ws) {
      // The status JSON names who is on stage; the live list with ids comes once connected.
      room.speakers = speakers;
      room.audience = [];
    }
    if (room.state === "ended" && !ended) markEnded();
    else renderRoom();
  }

  // ----- Audio levels and reactions -------------------------------------------------

  function applyLevels() {
    stageEl.querySelectorAll(".player-person[data-peer-id]").forEach(function (li) {
      People.setLevel(li, exposed.levels[li.dataset.peerId] || 0);
    });
  }

  function personItem(peerId) {
    const selector = '.player-person[data-peer-id="' + CSS.escape(peerId) + '"]';
    return stageEl.querySelector(selector) || audienceEl.querySelector(selector);
  }

  function showReaction(msg) {
    reactionLog.textContent = msg.name + " reacted " + msg.emoji;
    const li = personItem(String(msg.peer_id));
    if (li) People.floatReaction(li, msg.emoji);
  }

  function renderGuests(msg) {
    window.SpacesGuests.render(guestsEl, msg, exposed.role === "host", send);
    exposed.requests = msg.requests || [];
  }

  // ----- Connection ------------------------------------------------------------------

  // Close this connection (socket and audio); what the room knows of us goes with it.
  function disconnect() {
    if (ws) { ws.onclose = null; ws.onmessage = null; ws.close(); }
    ws = null;
    joinSent = null;
    media.reset(); // an HLS stream plays on while the socket is rejoined
    exposed.role = "";
    exposed.requested = false;
    exposed.levels = {};
    exposed.captionsOn = false;
    captionsEl.hidden = true;
    captionsEl.textContent = "";
    room.audience = [];
    applyLevels();
  }

  // Stop for good: no more attempts until the person presses Listen again.
  function stop() {
    wanted = false;
    retry.cancel();
    disconnect();
    media.close();
  }

  function leave() {
    stop();
    setState("idle", "You left. Press Listen to hear it again.");
    renderRoom();
    poll();
    listenButton.focus();
  }

  function markEnded(text) {
    ended = true;
    room.state = "ended";
    stop();
    setState("ended", text || null);
    renderRoom();
    if (text) statusLine.textContent = text;
    // The recording becomes public once the space has ended: keep looking for a while.
    pollsAfterEnd = 0;
    schedulePoll(POLL_MS);
  }

  function markRemoved(text) {
    removed = true;
    stop();
    setState("ended", text);
    renderRoom();
  }

  function wsUrl() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = token ? "?token=" + encodeURIComponent(token) : "";
    return scheme + "//" + location.host + data.wsPath + query;
  }

  const retry = window.SpacesReconnect.create({
    attempt: openSocket,
    abandon: disconnect,
    unreachable: function () {
      setState("unreachable", "Can't reach the room server. Trying again…");
      renderRoom();
    },
  });

  // The connection broke (or an attempt failed): rejoin by itself while still wanted.
  function connectionLost() {
    if (!wanted) return;
    const wasPlaying = exposed.state === "playing";
    disconnect();
    if (wasPlaying || !retry.running) {
      setState("reconnecting", "Lost the connection. Reconnecting…");
      renderRoom();
      retry.begin();
    } else {
      showControls();
      retry.failed();
    }
  }

  const media = window.SpacesMedia.create(root, send, {
    connected: function () {
      const text = room.state === "scheduled" ?
        "You are in the green room. Press Start when you are ready." :
        (exposed.role === "host" ? "You are hosting." : "Playing live audio.");
      exposed.transport = data.transport = "webrtc";
      setState("playing", text);
    },
    hls: function () {
      exposed.transport = data.transport = "hls";
      setState("playing", "Playing the room's stream: you are a few seconds behind the room.");
    },
    error: function (text) {
      stop();
      setState("error", text + " Press Listen to try again.");
      renderRoom();
    },
    paused: function (yes) {
      notice(yes ? "Paused. Press play on your lock screen or headset to hear the room live again." : "");
    },
    stop: function () { leave(); },
    session: function (actions, context) {
      exposed.mediaSessionActions = actions;
      exposed.audioContext = context;
    },
    failed: function () { connectionLost(); },
    blocked: function () {
      stop();
      setState("error", "Your browser blocked playback. Press Listen again.");
      renderRoom();
    },
    stats: function (energy, packets, level) {
      exposed.energy = energy;
      exposed.level = level;
      data.audioEnergy = String(energy);
      data.audioLevel = String(level);
      data.packetsReceived = String(packets);
    },
  });

  async function startTalking() {
    const problem = await media.talk();
    if (problem) notice("Your microphone is not available, so the room cannot hear you (" + problem + ").");
    // Approved speakers start muted: send nothing until they unmute.
    media.setMic(talks() && !exposed.muted);
  }

  function onYou(msg) {
    const wasTalking = talks();
    exposed.peerId = msg.peer_id;
    exposed.role = msg.role;
    exposed.muted = msg.muted;
    exposed.requested = msg.requested;
    if (!wasTalking && talks()) startTalking().catch(function (e) { notice(String(e)); });
    media.setMic(talks() && !msg.muted);
    showControls();
  }

  function onState(msg) {
    const was = room.state;
    room.state = msg.state || room.state;
    room.listeners = Number(msg.listener_count) || 0;
    room.speakers = Array.isArray(msg.speakers) ? msg.speakers : [];
    room.speakerCount = room.speakers.length;
    room.audience = Array.isArray(msg.audience) ? msg.audience : [];
    if (was === "scheduled" && room.state === "live" && !room.startedAt) {
      room.startedAt = new Date().toISOString();
    }
    exposed.speakers = room.speakers;
    if (room.state === "ended") { markEnded(); return; }
    if (msg.requests || msg.listeners) renderGuests(msg);
    renderRoom();
    if (was === "scheduled" && room.state === "live") {
      statusLine.textContent = exposed.role === "host" ? "The space is live. You are hosting." :
        "The space is live.";
    }
  }

  async function onMessage(event) {
    let msg;
    try { msg = JSON.parse(event.data); } catch (e) { return; }
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "hello") {
      join();
    } else if (msg.type === "joined") {
      joinSent = null;
      if (typeof msg.resume === "string" && msg.resume) resumeToken = msg.resume;
      exposed.role = msg.role;
      exposed.muted = msg.muted;
      exposed.peerId = msg.peer_id;
      if (msg.room) {
        room.state = msg.room.state || room.state;
        room.listeners = Number(msg.room.listener_count) || 0;
        room.startedAt = msg.room.started_at || "";
      }
      if (room.state === "scheduled") {
        setState("playing", "You are in the green room. Press Start when you are ready.");
      }
      renderRoom();
      await media.connect(msg.role !== "listener", exposed.muted);
    } else if (msg.type === "answer") {
      await media.answer(msg.sdp);
    } else if (msg.type === "you") {
      onYou(msg);
    } else if (msg.type === "state") {
      onState(msg);
    } else if (msg.type === "counts") {
      // A large room sends only its counts when just the audience changed.
      room.listeners = Number(msg.listener_count) || 0;
      renderRoom();
    } else if (msg.type === "levels") {
      exposed.levels = msg.levels && typeof msg.levels === "object" ? msg.levels : {};
      applyLevels();
      // Levels stop coming when the room falls quiet; a lost last message must not
      // leave a ring on.
      clearTimeout(levelsTimer);
      levelsTimer = setTimeout(function () { exposed.levels = {}; applyLevels(); }, 1500);
    } else if (msg.type === "reaction") {
      showReaction(msg);
    } else if (msg.type === "caption") {
      exposed.caption = msg.text || "";
      captionsEl.textContent = exposed.caption;
      captionsEl.hidden = !exposed.caption;
    } else if (msg.type === "captions") {
      exposed.captionsOn = !!msg.on;
      if (!msg.on) { captionsEl.textContent = ""; exposed.caption = ""; captionsEl.hidden = true; }
      showControls();
    } else if (msg.type === "notice") {
      notice(msg.message);
    } else if (msg.type === "invite") {
      $(".player-invite-link").textContent = msg.url;
      $(".player-invite-card").hidden = false;
    } else if (msg.type === "removed") {
      markRemoved(msg.message || "You were removed from this space.");
    } else if (msg.type === "ended") {
      markEnded();
    } else if (msg.type === "error") {
      onError(msg);
    }
  }

  function join() {
    // The server gives the role back from the resume token; the host's token says so anyway.
    const message = { type: "join", role: isHost ? "host" : "listener", start: false };
    if (resumeToken && sendResume) message.resume = resumeToken;
    joinSent = message;
    send(message);
  }

  function onError(msg) {
    if (msg.code === "not_live") {
      stop();
      setState("idle", "This space has not started yet. Try again when it is live.");
      renderRoom();
    } else if (joinSent && joinSent.resume && msg.code === "bad_message" &&
        /resume/.test(msg.message || "")) {
      // A server without resume tokens: join as before (the role may not come back).
      sendResume = false;
      join();
    } else if (joinSent && (msg.code === "server_error" || msg.code === "rate_limited")) {
      connectionLost();
    } else if (joinSent) {
      stop();
      setState("error", "Could not join this space: " + msg.message);
      renderRoom();
    } else {
      notice(msg.message);
    }
  }

  // Closes after which trying again cannot help (docs/rooms-protocol.md).
  const FINAL_CLOSES = {
    4003: "The room server refused your access to this space. Reload the page to try again.",
    4004: "This space is not on this room server any more.",
    4008: "The room server closed the connection after too many bad messages. Reload the page to listen again.",
    // The same person joined from another tab or device: two players would keep
    // taking the seat from each other, so this one steps aside.
    4009: "You are listening to this space in another tab or window.",
  };

  function onClose(event) {
    if (ended) return;
    if (event.code === 4000) markEnded();
    else if (event.code === 4001) markRemoved("You were removed from this space.");
    else if (FINAL_CLOSES[event.code]) {
      stop();
      setState("error", FINAL_CLOSES[event.code]);
      renderRoom();
    } else {
      connectionLost();
    }
  }

  function start() {
    notice("");
    wanted = true;
    setState("connecting", "Connecting…");
    retry.begin();
  }

  // One attempt: a new socket (and, once joined, a new peer connection).
  function openSocket() {
    disconnect();
    let sock;
    try {
      sock = new WebSocket(wsUrl());
    } catch (e) {
      retry.failed();
      return;
    }
    ws = sock;
    showControls();
    sock.onmessage = function (event) {
      onMessage(event).catch(function (err) {
        if (sock !== ws) return; // an old attempt's leftovers
        stop();
        setState("error", "Could not start the audio (" + err + "). Press Listen to try again.");
        renderRoom();
      });
    };
    sock.onclose = function (event) {
      if (sock === ws) onClose(event);
    };
  }

  // ----- Following the room while not connected -------------------------------------

  async function refreshStatus() {
    try {
      const response = await fetch(data.statusUrl, { cache: "no-store" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const status = await response.json();
      if (ws || wanted) return; // connected meanwhile: the server's messages are fresher
      if (exposed.state === "unreachable" && status.state !== "ended") exposed.state = "idle";
      applyStatus(status);
      if (exposed.state === "idle") setState("idle", null);
    } catch (e) {
      if (!wanted && !media.active && !ended) {
        setState("unreachable", "Can't reach the room server right now. Try again shortly.");
      }
    }
  }

  function schedulePoll(delay) {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(poll, delay);
  }

  async function poll() {
    clearTimeout(pollTimer);
    pollTimer = null;
    if (document.hidden) return; // picked up again when the tab is shown
    if (ended && (room.recording || pollsAfterEnd++ >= 24)) return; // nothing more will change
    if (!ws && !wanted) await refreshStatus();
    if (!pollTimer) schedulePoll(POLL_MS);
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && !pollTimer) poll();
  });

  // A network change ends the peer connection for good (it cannot move to the new
  // network): once the browser is online again, rejoin at once rather than wait.
  window.addEventListener("offline", function () { wentOffline = true; });
  window.addEventListener("online", function () {
    const changed = wentOffline;
    wentOffline = false;
    if (!wanted) return;
    if (retry.running) retry.now();
    else if (changed && exposed.state === "playing") connectionLost();
  });

  // ----- Buttons -----------------------------------------------------------------------

  function copy(text, done) {
    if (navigator.clipboard) {
      navigator.clipboard.writeText(text).then(function () { notice(done); },
        function () { notice("Copy this: " + text); });
    } else {
      notice("Copy this: " + text);
    }
  }

  function togglePanel(toggle, panel) {
    const open = panel.hidden;
    closePanels();
    panel.hidden = !open;
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      const first = panel.querySelector("button, select");
      if (first) first.focus();
    }
  }

  function setCaptionSize(size) {
    if (["small", "medium", "large"].indexOf(size) < 0) size = "medium";
    captionSize.value = size;
    captionsEl.classList.toggle("is-small", size === "small");
    captionsEl.classList.toggle("is-large", size === "large");
    try { localStorage.setItem("spaces-caption-size", size); } catch (e) { /* private mode */ }
  }

  listenButton.addEventListener("click", function () {
    if (!ended && !removed && !wanted && !ws && !media.active) start();
  });
  leaveButton.addEventListener("click", leave);
  startButton.addEventListener("click", function () { send({ type: "start" }); });
  requestButton.addEventListener("click", function () {
    if (exposed.requested) send({ type: "cancel_request" });
    else send(invite ? { type: "request_speak", invite: invite } : { type: "request_speak" });
  });
  muteButton.addEventListener("click", function () {
    send({ type: "mute", muted: !exposed.muted });
  });
  endButton.addEventListener("click", function () { confirmDialog.showModal(); });
  $(".player-confirm-yes").addEventListener("click", function () {
    confirmDialog.close();
    send({ type: "end" });
  });
  $(".player-confirm-no").addEventListener("click", function () { confirmDialog.close(); });
  reactToggle.addEventListener("click", function () { togglePanel(reactToggle, reactionsPanel); });
  settingsToggle.addEventListener("click", function () { togglePanel(settingsToggle, settingsPanel); });
  reactionsPanel.addEventListener("click", function (event) {
    const target = event.target.closest("[data-emoji]");
    if (target) send({ type: "react", emoji: target.dataset.emoji });
  });
  [[reactToggle, reactionsPanel], [settingsToggle, settingsPanel]].forEach(function (pair) {
    pair[1].addEventListener("keydown", function (event) {
      if (event.key !== "Escape") return;
      closePanels();
      pair[0].focus();
    });
  });
  captionsButton.addEventListener("click", function () {
    send({ type: "captions", on: !exposed.captionsOn });
  });
  captionSize.addEventListener("change", function () { setCaptionSize(captionSize.value); });
  $(".player-invite").addEventListener("click", function () { send({ type: "invite" }); });
  $(".player-copy-invite").addEventListener("click", function () {
    copy($(".player-invite-link").textContent, "Copied the invite link.");
  });
  $(".player-copy").addEventListener("click", function () { copy(data.shareUrl, "Copied the link."); });
  $(".player-copy-post").addEventListener("click", function () {
    copy($(".player-post").textContent, "Copied the post.");
  });
  const webShare = $(".player-webshare");
  if (navigator.share) {
    webShare.hidden = false;
    webShare.addEventListener("click", function () {
      navigator.share({ title: data.title, text: $(".player-post").textContent,
        url: data.shareUrl }).catch(function () { /* the person closed the sheet */ });
    });
  }

  if (framed && parentOrigin) {
    window.addEventListener("message", fromParent);
    if (window.ResizeObserver) {
      const observer = new ResizeObserver(function () { tellSize(false); });
      observer.observe(document.documentElement);
      observer.observe(document.body);
    }
  }
  try { setCaptionSize(localStorage.getItem("spaces-caption-size") || "medium"); } catch (e) { setCaptionSize("medium"); }
  room.speakers = null;
  setState(ended ? "ended" : "idle", null);
  renderBadges();
  renderTimes();
  renderEnded();
  tellSize(true);
  setInterval(renderTimes, 20000);
  poll();
})();
