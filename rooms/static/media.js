// The player's audio: one WebRTC peer connection per join, which hears the room and,
// once the person may talk, sends their microphone on a second section
// (docs/rooms-protocol.md, "Media"); or, for a listener whose WebRTC does not connect
// within FALLBACK_MS or who joins a room past the server's WebRTC listener cap, the
// room's HLS stream (hlsplay.js). The sound always comes out of <audio> elements, so it
// goes on with a phone's screen locked; an AudioContext only measures it (levels). The
// Media Session (lock screen, headset buttons) shows the room and can pause, play and
// leave. It owns the connection, the microphone and the stream, and releases them in
// close() (leaving) or reset() (rejoining: the HLS stream, if playing, goes on).
// Needs hlsplay.js and phone.js, loaded before it.
(function () {
  "use strict";

  // Counted from the offer, which leaves well under a second after Listen: a listener
  // whose WebRTC cannot connect hears the HLS stream within 5 s of pressing it.
  const FALLBACK_MS = 4000;
  // A connect() this soon after close() is the player rejoining, not a new Listen.
  const REJOIN_MS = 10000;
  const ARTWORK = [
    { src: "/static/rooms/artwork-512.png", sizes: "512x512", type: "image/png" },
    { src: "/static/rooms/favicon.svg", sizes: "any", type: "image/svg+xml" },
  ];

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

  function rtcConfig(data) {
    // data-ice-servers: RTCIceServer dictionaries from the room server's settings.
    let servers = [];
    try { servers = JSON.parse(data.iceServers || "[]"); } catch (e) { servers = []; }
    const config = { iceServers: Array.isArray(servers) ? servers : [] };
    if (data.icePolicy === "relay") config.iceTransportPolicy = "relay";
    return config;
  }

  // `send` carries an `offer` message to the server; `on` is told what happens:
  // connected(), failed(), blocked() (autoplay refused), hls() (the HLS stream plays),
  // error(text) (neither WebRTC nor HLS can play), stats(energy, packets, level),
  // paused(yes) (from the lock screen or headset), stop() (leave, from the lock screen),
  // session(actions, context) (the Media Session handlers and the AudioContext).
  function create(root, send, on) {
    const data = root.dataset;
    const firstAudio = root.querySelector(".player-audio");
    const meter = window.SpacesMeter.create(root, on);
    let pc = null;
    let mic = null;
    let statsTimer = null;
    let fallbackTimer = null;
    let trying = 0; // when the first offer not yet connected went out (0: none)
    let closedAt = 0;
    let hlsWanted = false; // stay on HLS for the rest of this stay in the room
    let stream = null; // the HLS handle from SpacesHls.play
    let hlsAudio = null;
    let paused = false;
    let stay = 0; // counts close() calls: a stream that arrives after one is not wanted
    let starting = null;

    async function offer() {
      await pc.setLocalDescription(await pc.createOffer());
      await waitForIce(pc);
      send({ type: "offer", sdp: pc.localDescription.sdp });
    }

    function playTrack(event) {
      // Each audio section gets its own element: a new speaker hears the room on a new one.
      let el = firstAudio;
      if (el.srcObject) {
        el = document.createElement("audio");
        el.className = "player-extra";
        root.appendChild(el);
      }
      event.track.enabled = !paused;
      el.srcObject = new MediaStream([event.track]);
      meter.addTrack(event.track);
      if (!paused) el.play().catch(function () { on.blocked(); });
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
      on.stats(energy, packets, meter.level);
    }

    function listeners() {
      // The player renders the room's count (ourselves included) before connecting.
      return Math.max(0, (Number(data.listeners) || 0) - 1);
    }

    function hlsFirst() {
      const cap = Number(data.maxWebrtcListeners) || 0;
      return !!data.hlsUrl && (hlsWanted || (cap > 0 && listeners() >= cap));
    }

    function armFallback() {
      // Counted from the first offer, across the rejoins of a connection that never came up.
      const now = Date.now();
      if (!trying || now - closedAt > REJOIN_MS) trying = now;
      clearTimeout(fallbackTimer);
      fallbackTimer = setTimeout(function () {
        fallbackTimer = null;
        if (pc && pc.connectionState !== "connected") startHls();
      }, Math.max(0, trying + FALLBACK_MS - now));
    }

    function dropPeer() {
      clearTimeout(fallbackTimer);
      fallbackTimer = null;
      if (statsTimer) clearInterval(statsTimer);
      statsTimer = null;
      if (pc) pc.close();
      if (mic) mic.getTracks().forEach(function (t) { t.stop(); });
      pc = null;
      mic = null;
      meter.dropTracks();
      root.querySelectorAll("audio.player-extra").forEach(function (a) { a.remove(); });
      firstAudio.srcObject = null;
    }

    function startHls() {
      hlsWanted = true;
      dropPeer();
      trying = 0;
      if (stream) { on.hls(); return Promise.resolve(); } // a rejoin of the control socket
      if (!starting) {
        starting = openHls().finally(function () { starting = null; });
      }
      return starting;
    }

    function hlsElement() {
      if (!hlsAudio) {
        hlsAudio = document.createElement("audio");
        hlsAudio.className = "player-hls";
        root.appendChild(hlsAudio);
      }
      return hlsAudio;
    }

    // iOS lets an element play later (after a WebSocket reply, or a fallback seconds
    // on) only if it was loaded during a tap: do that at every tap in the player.
    // The same goes for an AudioContext, made at the tap on Listen.
    function unlock(event) {
      [firstAudio, hlsElement()].forEach(function (el) {
        if (!el.srcObject && !el.getAttribute("src")) el.load();
      });
      if (event.target.closest && event.target.closest(".player-listen")) meter.prepare();
      meter.resume();
    }
    root.addEventListener("click", unlock, true);

    async function openHls() {
      const mine = stay;
      hlsElement();
      let opened;
      try {
        opened = await window.SpacesHls.play(hlsAudio, data.hlsUrl, {
          error: function (text) { stopHls(); on.error(text); },
        });
      } catch (e) {
        if (mine === stay) on.error("Could not play the room (" + (e.message || e) + ").");
        return;
      }
      if (mine !== stay) { opened.stop(); return; } // left while it loaded
      stream = opened;
      meter.addElement(hlsAudio);
      session.start();
      if (!paused) hlsAudio.play().catch(function () { on.blocked(); });
      on.hls();
    }

    function stopHls() {
      if (stream) stream.stop();
      stream = null;
      meter.dropElement();
    }

    function setPaused(yes) {
      paused = yes;
      // A paused WebRTC track is silent (and so is its meter); the connection stays up,
      // so play is live at once.
      root.querySelectorAll("audio.player-audio, audio.player-extra").forEach(function (el) {
        if (el.srcObject) {
          el.srcObject.getAudioTracks().forEach(function (t) { t.enabled = !yes; });
          if (yes) el.pause(); else el.play().catch(function () { on.blocked(); });
        }
      });
      if (stream && hlsAudio) {
        if (yes) hlsAudio.pause();
        else { stream.live(); hlsAudio.play().catch(function () { on.blocked(); }); }
      }
      meter.resume();
      session.state(yes ? "paused" : "playing");
      on.paused(yes);
    }

    const session = window.SpacesSession.create(data, ARTWORK, {
      play: function () { setPaused(false); },
      pause: function () { setPaused(true); },
      stop: function () { on.stop(); },
    }, function (actions) { on.session(actions, meter.context); });

    return {
      get active() { return !!pc || !!stream; },
      get hls() { return !!stream; },
      get paused() { return paused; },

      // Open the connection: receive only, or (host, token speaker) with the microphone.
      // A listener past the WebRTC cap, or whose WebRTC did not come up, plays HLS.
      connect: async function (withMic, muted) {
        // A quick rejoin (even one that called close()) keeps to HLS; a new Listen tries
        // WebRTC again.
        if (!stream && closedAt && Date.now() - closedAt > REJOIN_MS) hlsWanted = false;
        meter.open();
        if (!withMic && hlsFirst()) { await startHls(); return; }
        if (stream) stopHls(); // now allowed to talk: back to WebRTC
        pc = new RTCPeerConnection(rtcConfig(data));
        const mine = pc;
        let lostTimer = null;
        pc.ontrack = playTrack;
        pc.onconnectionstatechange = function () {
          if (pc !== mine) return;
          if (pc.connectionState === "connected") {
            clearTimeout(fallbackTimer);
            trying = 0;
            session.start();
            on.connected();
          }
          // "disconnected" may heal by itself; lasting 2 s, the connection is gone.
          clearTimeout(lostTimer);
          if (pc.connectionState === "disconnected") {
            lostTimer = setTimeout(function () { if (pc === mine) on.failed(); }, 2000);
          }
          if (pc.connectionState === "failed" || pc.connectionState === "closed") on.failed();
        };
        if (withMic) {
          mic = await navigator.mediaDevices.getUserMedia({ audio: true });
          mic.getAudioTracks().forEach(function (t) { t.enabled = !muted; });
          pc.addTransceiver(mic.getAudioTracks()[0], { direction: "sendrecv" });
        } else {
          pc.addTransceiver("audio", { direction: "recvonly" });
          if (data.hlsUrl) armFallback();
        }
        await offer();
      },

      answer: async function (sdp) {
        if (!pc) return;
        await pc.setRemoteDescription({ type: "answer", sdp: sdp });
        if (!statsTimer) statsTimer = setInterval(pollStats, 500);
      },

      // Approved to speak: add a sending section on the same connection; what we hear
      // goes on. Resolves to "" or the reason the microphone could not be opened.
      talk: async function () {
        if (!pc && stream) {
          // Asked on stage while on the HLS stream: talking needs WebRTC both ways.
          stopHls();
          hlsWanted = false;
          try {
            await this.connect(true, true);
          } catch (e) {
            return e.name || String(e);
          }
          return "";
        }
        if (mic || !pc) return "";
        try {
          mic = await navigator.mediaDevices.getUserMedia({ audio: true });
        } catch (e) {
          return e.name || String(e);
        }
        mic.getAudioTracks().forEach(function (t) { t.enabled = false; }); // until unmuted
        pc.addTransceiver(mic.getAudioTracks()[0], { direction: "sendrecv" });
        await offer();
        return "";
      },

      setMic: function (enabled) {
        if (mic) mic.getAudioTracks().forEach(function (t) { t.enabled = enabled; });
      },

      pause: function () { setPaused(true); },
      play: function () { setPaused(false); },

      // Rejoining with a new socket: drop the peer connection; HLS plays on meanwhile.
      reset: function () {
        closedAt = Date.now();
        dropPeer();
      },

      // Leaving: silence everything and forget the stay.
      close: function () {
        stay += 1;
        closedAt = Date.now();
        dropPeer();
        stopHls();
        paused = false;
        session.end();
        meter.close();
      },
    };
  }

  window.SpacesMedia = { create: create };
})();
