// The player's audio: one WebRTC peer connection for the whole stay, which hears the
// room and, once the person may talk, sends their microphone on a second section
// (docs/rooms-protocol.md, "Media"). It owns the connection and the microphone and
// releases both in close().
(function () {
  "use strict";

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

  // `send` carries an `offer` message to the server; `on` is told what happens:
  // connected(), failed(), blocked() (autoplay refused), stats(energy, packets).
  function create(root, send, on) {
    const firstAudio = root.querySelector(".player-audio");
    let pc = null;
    let mic = null;
    let statsTimer = null;

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
      el.srcObject = new MediaStream([event.track]);
      el.play().catch(function () { on.blocked(); });
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
      on.stats(energy, packets);
    }

    return {
      get active() { return !!pc; },

      // Open the connection: receive only, or (host, token speaker) with the microphone.
      connect: async function (withMic, muted) {
        pc = new RTCPeerConnection();
        pc.ontrack = playTrack;
        pc.onconnectionstatechange = function () {
          if (!pc) return;
          if (pc.connectionState === "connected") on.connected();
          if (pc.connectionState === "failed") on.failed();
        };
        if (withMic) {
          mic = await navigator.mediaDevices.getUserMedia({ audio: true });
          mic.getAudioTracks().forEach(function (t) { t.enabled = !muted; });
          pc.addTransceiver(mic.getAudioTracks()[0], { direction: "sendrecv" });
        } else {
          pc.addTransceiver("audio", { direction: "recvonly" });
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

      close: function () {
        if (statsTimer) clearInterval(statsTimer);
        statsTimer = null;
        if (pc) pc.close();
        if (mic) mic.getTracks().forEach(function (t) { t.stop(); });
        pc = null;
        mic = null;
        root.querySelectorAll("audio.player-extra").forEach(function (a) { a.remove(); });
        firstAudio.srcObject = null;
      },
    };
  }

  window.SpacesMedia = { create: create };
})();
