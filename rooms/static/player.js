// The Spaces player: listen to a room over WebRTC, ask to speak, speak, react, and
// (for the host and co-hosts) run the room. Signaling follows docs/rooms-protocol.md.
// State and inbound audio energy are exposed on the player element's data attributes
// (and window.spacesPlayer) so the page around it, and tests, can read them.
//
// A host opens the page with their token in the fragment (/s/<id>#token=...), which
// never reaches server logs; an invited speaker's link carries ?invite=....
(function () {
  "use strict";

  const root = document.getElementById("spaces-player");
  if (!root) return;
  const $ = function (sel) { return root.querySelector(sel); };
  const button = $(".player-listen");
  const startButton = $(".player-start");
  const requestButton = $(".player-request");
  const muteButton = $(".player-mute");
  const endButton = $(".player-end");
  const statusLine = $(".player-status");
  const noticeLine = $(".player-notice");
  const countEl = $(".player-listeners");
  const stageEl = $(".player-stage");
  const reactionsBar = $(".player-reactions");
  const reactionLog = $(".player-reaction-log");
  const captionsEl = $(".player-captions");
  const captionsButton = $(".player-captions-toggle");
  const guestsEl = $(".player-guests");
  const confirmDialog = $(".player-confirm");
  const exposed = { state: "idle", energy: 0, listeners: 0, role: "", muted: false,
    requested: false, peerId: "", speakers: [], requests: [], captionsOn: false, caption: "" };
  window.spacesPlayer = exposed;

  const token = tokenFromFragment();
  const invite = new URLSearchParams(location.search).get("invite") || "";
  const claims = decodeClaims(token);
  const isHost = !!claims && claims.sub === root.dataset.hostHandle &&
    (claims.grants || []).indexOf("host") >= 0;

  let ws = null;
  let pc = null;
  let mic = null;
  let statsTimer = null;
  let ended = root.dataset.state === "ended";
  const reactionTimers = {};

  function tokenFromFragment() {
    const match = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
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

  function setState(state, message) {
    exposed.state = state;
    root.dataset.playerState = state;
    if (message) statusLine.textContent = message;
    const active = state === "connecting" || state === "playing";
    button.textContent = active ? "Leave" : (isHost ? "Join as host" : "Listen");
    button.setAttribute("aria-pressed", active ? "true" : "false");
    button.disabled = ended;
    if (!active) showControls();
    tellParent();
  }

  // The portal frames this player and keeps it playing in a dock while the listener
  // browses; it learns the state from these messages and sends back listen/leave.
  // Both directions are pinned to the configured portal origin.
  const parentOrigin = document.body.dataset.parentOrigin || "";
  const framed = window.parent !== window;

  function tellParent() {
    if (!framed || !parentOrigin) return;
    window.parent.postMessage({ type: "spaces-player:state", state: exposed.state,
      title: root.dataset.title, roomId: root.dataset.roomId }, parentOrigin);
  }

  function fromParent(event) {
    if (event.source !== window.parent || event.origin !== parentOrigin) return;
    const data = event.data || {};
    if (data.type !== "spaces-player:command") return;
    if (data.command === "listen" && !ws && !pc && !ended) start();
    else if (data.command === "leave" && (ws || pc)) {
      stop();
      setState("idle", "You left. Press Listen to hear it again.");
    } else if (data.command === "status") tellParent();
  }

  function notice(text) {
    noticeLine.textContent = text;
  }

  function setCount(n) {
    exposed.listeners = n;
    countEl.textContent = String(n);
  }

  function talks() {
    return exposed.role === "host" || exposed.role === "cohost" || exposed.role === "speaker";
  }

  function showControls() {
    const joined = !!ws && exposed.role !== "";
    requestButton.hidden = !joined || talks();
    requestButton.textContent = exposed.requested ? "Cancel request" : "Request to speak";
    requestButton.setAttribute("aria-pressed", exposed.requested ? "true" : "false");
    muteButton.hidden = !joined || !talks();
    muteButton.textContent = exposed.muted ? "Unmute" : "Mute";
    muteButton.setAttribute("aria-pressed", exposed.muted ? "true" : "false");
    endButton.hidden = !joined || exposed.role !== "host";
    startButton.hidden = !joined || exposed.role !== "host" || root.dataset.state !== "scheduled";
    reactionsBar.hidden = !joined;
    // Hosts always get captions; everyone else turns them on or off.
    captionsButton.hidden = !joined || exposed.role === "host" || exposed.role === "cohost";
    captionsButton.setAttribute("aria-pressed", exposed.captionsOn ? "true" : "false");
    captionsButton.textContent = exposed.captionsOn ? "Hide captions" : "Captions";
    guestsEl.hidden = !joined || !(exposed.role === "host" || exposed.role === "cohost");
    root.dataset.role = exposed.role;
    root.dataset.requested = exposed.requested ? "true" : "false";
  }

  function markEnded(text) {
    ended = true;
    root.dataset.state = "ended";
    stop();
    setState("ended", text || "This space has ended.");
  }

  function stop() {
    if (statsTimer) clearInterval(statsTimer);
    statsTimer = null;
    if (ws) { ws.onclose = null; ws.close(); }
    if (pc) pc.close();
    if (mic) mic.getTracks().forEach(function (t) { t.stop(); });
    ws = null;
    pc = null;
    mic = null;
    exposed.role = "";
    exposed.requested = false;
    root.querySelectorAll("audio.player-extra").forEach(function (a) { a.remove(); });
    $(".player-audio").srcObject = null;
  }

  function wsUrl() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = token ? "?token=" + encodeURIComponent(token) : "";
    return scheme + "//" + location.host + root.dataset.wsPath + query;
  }

  function waitForIce(peer) {
    // The server takes one complete offer (no trickle), so gather candidates first.
    if (peer.iceGatheringState === "complete") return Promise.resolve();
    return new Promise(function (resolve) {
      peer.addEventListener("icegatheringstatechange", function () {
        if (peer.iceGatheringState === "complete") resolve();
      });
      setTimeout(resolve, 3000);
    });
  }

  async function offer() {
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIce(pc);
    send({ type: "offer", sdp: pc.localDescription.sdp });
  }

  function playTrack(event) {
    // Each audio section gets its own element: a new speaker hears the room on a new one.
    let el = $(".player-audio");
    if (el.srcObject) {
      el = document.createElement("audio");
      el.className = "player-extra";
      root.appendChild(el);
    }
    el.srcObject = new MediaStream([event.track]);
    el.play().catch(function () {
      setState("error", "Your browser blocked playback. Press Listen again.");
    });
  }

  async function connectMedia(withMic) {
    pc = new RTCPeerConnection();
    pc.ontrack = playTrack;
    pc.onconnectionstatechange = function () {
      if (!pc) return;
      if (pc.connectionState === "connected") {
        setState("playing", exposed.role === "host" ? "You are hosting." : "Playing live audio.");
      }
      if (pc.connectionState === "failed") {
        stop();
        setState("unreachable", "The audio connection failed. Press Listen to try again.");
      }
    };
    if (withMic) {
      mic = await navigator.mediaDevices.getUserMedia({ audio: true });
      pc.addTransceiver(mic.getAudioTracks()[0], { direction: "sendrecv" });
    } else {
      pc.addTransceiver("audio", { direction: "recvonly" });
    }
    await offer();
  }

  async function startTalking() {
    // Approved: add a sending section on the same connection; what we hear goes on.
    if (mic || !pc) return;
    try {
      mic = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) {
      notice("Your microphone is not available, so the room cannot hear you (" + e.name + ").");
      return;
    }
    pc.addTransceiver(mic.getAudioTracks()[0], { direction: "sendrecv" });
    await offer();
  }

  async function pollStats() {
    if (!pc) return;
    const report = await pc.getStats();
    let energy = 0;
    let packets = 0;
    report.forEach(function (s) {
      if (s.type === "inbound-rtp" && s.kind === "audio") {
        energy += s.totalAudioEnergy || 0;
        packets += s.packetsReceived || 0;
      }
    });
    exposed.energy = energy;
    root.dataset.audioEnergy = String(energy);
    root.dataset.packetsReceived = String(packets);
  }

  function onYou(msg) {
    const wasTalking = talks();
    exposed.peerId = msg.peer_id;
    exposed.role = msg.role;
    exposed.muted = msg.muted;
    exposed.requested = msg.requested;
    if (!wasTalking && talks()) startTalking().catch(function (e) { notice(String(e)); });
    if (mic) mic.getAudioTracks().forEach(function (t) { t.enabled = talks() && !msg.muted; });
    showControls();
  }

  function avatar(person) {
    const li = document.createElement("li");
    li.className = "player-person";
    li.dataset.peerId = person.peer_id;
    const face = document.createElement("span");
    face.className = "player-avatar";
    face.setAttribute("aria-hidden", "true");
    face.textContent = (person.name || "?").slice(0, 1).toUpperCase();
    const label = document.createElement("span");
    const role = person.role === "cohost" ? "co-host" : person.role;
    label.textContent = person.name + " (" + role + (person.muted ? ", muted" : "") + ")";
    const bubble = document.createElement("span");
    bubble.className = "player-bubble";
    bubble.setAttribute("aria-hidden", "true");
    li.append(face, label, bubble);
    return li;
  }

  function actionButton(text, message) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.addEventListener("click", function () { send(message); });
    return b;
  }

  function renderStage(speakers) {
    stageEl.replaceChildren.apply(stageEl, speakers.map(avatar));
  }

  function renderGuests(msg) {
    const mine = exposed.role === "host";
    const requests = (msg.requests || []).map(function (p) {
      const li = avatar(p);
      if (p.invited) li.append(" invited");
      li.append(actionButton("Approve " + p.name, { type: "approve", peer_id: p.peer_id }),
        actionButton("Decline " + p.name, { type: "decline", peer_id: p.peer_id }));
      return li;
    });
    const speakers = (msg.speakers || []).filter(function (p) {
      return p.role === "speaker" || (mine && p.role === "cohost");
    }).map(function (p) {
      const li = avatar(p);
      if (!p.muted) li.append(actionButton("Mute " + p.name, { type: "mute", muted: true, peer_id: p.peer_id }));
      li.append(actionButton("Move " + p.name + " to listeners", { type: "set_role", role: "listener", peer_id: p.peer_id }));
      if (p.role === "speaker") li.append(actionButton("Make " + p.name + " co-host", { type: "set_role", role: "cohost", peer_id: p.peer_id }));
      li.append(actionButton("Remove " + p.name, { type: "remove", peer_id: p.peer_id }));
      return li;
    });
    const listeners = (msg.listeners || []).map(function (p) {
      const li = avatar(p);
      li.append(actionButton("Remove " + p.name, { type: "remove", peer_id: p.peer_id }));
      return li;
    });
    $(".player-requests").replaceChildren.apply($(".player-requests"), requests);
    $(".player-speakers").replaceChildren.apply($(".player-speakers"), speakers);
    $(".player-listener-list").replaceChildren.apply($(".player-listener-list"), listeners);
    exposed.requests = msg.requests || [];
  }

  function showReaction(msg) {
    reactionLog.textContent = msg.name + " reacted " + msg.emoji;
    const li = stageEl.querySelector('[data-peer-id="' + CSS.escape(msg.peer_id) + '"]');
    if (!li) return;
    const bubble = li.querySelector(".player-bubble");
    bubble.textContent = msg.emoji;
    clearTimeout(reactionTimers[msg.peer_id]);
    reactionTimers[msg.peer_id] = setTimeout(function () { bubble.textContent = ""; }, 4000);
  }

  async function onMessage(event) {
    let msg;
    try { msg = JSON.parse(event.data); } catch (e) { return; }
    if (msg.type === "hello") {
      send({ type: "join", role: isHost ? "host" : "listener", start: false });
    } else if (msg.type === "joined") {
      exposed.role = msg.role;
      exposed.muted = msg.muted;
      exposed.peerId = msg.peer_id;
      root.dataset.state = msg.room.state;
      setCount(msg.room.listener_count);
      if (msg.room.state === "scheduled") {
        setState("playing", "You are in the green room. Press Start when you are ready.");
      }
      showControls();
      await connectMedia(msg.role !== "listener");
    } else if (msg.type === "answer") {
      await pc.setRemoteDescription({ type: "answer", sdp: msg.sdp });
      if (!statsTimer) statsTimer = setInterval(pollStats, 500);
    } else if (msg.type === "you") {
      onYou(msg);
    } else if (msg.type === "state") {
      root.dataset.state = msg.state;
      setCount(msg.listener_count);
      exposed.speakers = msg.speakers;
      renderStage(msg.speakers);
      if (msg.requests) renderGuests(msg);
      showControls();
    } else if (msg.type === "reaction") {
      showReaction(msg);
    } else if (msg.type === "caption") {
      exposed.caption = msg.text || "";
      captionsEl.textContent = exposed.caption;
    } else if (msg.type === "captions") {
      exposed.captionsOn = !!msg.on;
      if (!msg.on) captionsEl.textContent = "";
      showControls();
    } else if (msg.type === "notice") {
      notice(msg.message);
    } else if (msg.type === "invite") {
      $(".player-invite-out").textContent = "Invite link (valid 24 h): " + msg.url;
      copy(msg.url);
    } else if (msg.type === "removed") {
      markEnded(msg.message);
    } else if (msg.type === "ended") {
      markEnded();
    } else if (msg.type === "error") {
      if (msg.code === "not_live") {
        stop();
        setState("idle", "This space has not started yet. Try again when it is live.");
      } else {
        notice(msg.message);
      }
    }
  }

  function start() {
    setState("connecting", "Connecting…");
    try {
      ws = new WebSocket(wsUrl());
    } catch (e) {
      setState("unreachable", "Can't reach the room server. Check your connection and try again.");
      return;
    }
    ws.onmessage = function (event) {
      onMessage(event).catch(function (err) {
        stop();
        setState("error", "Could not start the audio (" + err + "). Press Listen to try again.");
      });
    };
    ws.onclose = function (event) {
      if (ended) return;
      stop();
      if (event.code === 4001) markEnded("You were removed from this space.");
      else setState("unreachable", "Can't reach the room server. Check your connection and press Listen to try again.");
    };
  }

  async function refreshStatus() {
    try {
      const response = await fetch(root.dataset.statusUrl, { cache: "no-store" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const status = await response.json();
      setCount(status.listener_count);
      if (status.state === "ended" && !ended) markEnded();
      if (status.state === "live" && exposed.state === "unreachable") {
        setState("idle", "Live now. Press Listen to hear it.");
      }
    } catch (e) {
      if (!pc) setState("unreachable", "Can't reach the room server right now. Try again shortly.");
    }
  }

  function copy(text) {
    if (navigator.clipboard) {
      navigator.clipboard.writeText(text).then(function () { notice("Copied to the clipboard."); },
        function () { notice("Copy this: " + text); });
    } else {
      notice("Copy this: " + text);
    }
  }

  button.addEventListener("click", function () {
    if (ended) return;
    if (ws || pc) {
      stop();
      setState("idle", "You left. Press Listen to hear it again.");
    } else {
      start();
    }
  });
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
  reactionsBar.addEventListener("click", function (event) {
    const emoji = event.target.dataset && event.target.dataset.emoji;
    if (emoji) send({ type: "react", emoji: emoji });
  });
  $(".player-invite").addEventListener("click", function () { send({ type: "invite" }); });
  captionsButton.addEventListener("click", function () {
    send({ type: "captions", on: !exposed.captionsOn });
  });
  $(".player-copy").addEventListener("click", function () { copy(root.dataset.shareUrl); });
  const webShare = $(".player-webshare");
  if (navigator.share) {
    webShare.hidden = false;
    webShare.addEventListener("click", function () {
      navigator.share({ title: root.dataset.title, text: $(".player-post").value,
        url: root.dataset.shareUrl }).catch(function () { /* the person closed the sheet */ });
    });
  }
  if (framed && parentOrigin) window.addEventListener("message", fromParent);
  setState(ended ? "ended" : "idle", null);
  setInterval(refreshStatus, 10000);
})();
