// What listening on a phone needs besides the sound itself (media.js plays that in
// <audio> elements): the Media Session, which puts the room on the lock screen with
// play, pause and stop; and a level meter (an AudioContext analyser, never an output)
// that gets going again after the system interrupts or suspends its audio.
(function () {
  "use strict";

  const LEVEL_MS = 250;
  const ACTIONS = ["play", "pause", "stop"];

  // ----- The lock screen ------------------------------------------------------------

  // `handlers` holds play, pause and stop; `told(actions)` hears them once they are
  // registered, so the page (and its tests) can call what the lock screen calls.
  function createSession(data, artwork, handlers, told) {
    const ms = navigator.mediaSession;
    let started = false;

    return {
      start: function () {
        if (!ms || started) return;
        started = true;
        if (window.MediaMetadata) {
          ms.metadata = new MediaMetadata({
            title: data.title || "Live space",
            artist: data.hostName || data.hostHandle || "",
            album: "Spaces",
            artwork: artwork.map(function (a) {
              return { src: new URL(a.src, location.href).href, sizes: a.sizes, type: a.type };
            }),
          });
        }
        ACTIONS.forEach(function (action) {
          try { ms.setActionHandler(action, handlers[action]); } catch (e) { /* not offered here */ }
        });
        ms.playbackState = "playing";
        told(handlers);
      },

      state: function (playbackState) {
        if (ms && started) ms.playbackState = playbackState;
      },

      end: function () {
        if (!ms || !started) return;
        started = false;
        ACTIONS.forEach(function (action) {
          try { ms.setActionHandler(action, null); } catch (e) { /* not offered here */ }
        });
        ms.metadata = null;
        ms.playbackState = "none";
      },
    };
  }

  // ----- The level meter ------------------------------------------------------------

  // `on.stats(energy, 0, level)` is told the level of an element being measured (the
  // HLS stream, which has no WebRTC statistics); energy adds up level² × seconds, like
  // WebRTC's totalAudioEnergy.
  function createMeter(root, on) {
    let ctx = null;
    let analyser = null;
    let samples = null;
    let trackSources = [];
    let elementSource = null;
    let element = null;
    let timer = null;
    let wanted = false;
    let level = 0;
    let energy = 0;

    function resume() {
      // iOS leaves a context "interrupted" after a call or another app's audio, and a
      // locked or hidden page may find it "suspended": ask again at every chance.
      if (wanted && ctx && ctx.state !== "running" && ctx.state !== "closed") {
        ctx.resume().catch(function () { /* needs a gesture: the next one will do */ });
      }
    }

    function onVisible() { if (!document.hidden) resume(); }

    function tick() {
      if (!analyser) return;
      if (ctx.state !== "running") { level = 0; resume(); } else {
        analyser.getFloatTimeDomainData(samples);
        let sum = 0;
        for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
        level = Math.sqrt(sum / samples.length);
      }
      if (elementSource) {
        energy += level * level * (LEVEL_MS / 1000);
        on.stats(energy, 0, level);
      }
    }

    function measureElement() {
      // The captured stream has its audio track only once the element plays.
      if (!element || elementSource || !ctx) return;
      const stream = element.captureStream ? element.captureStream() :
        (element.mozCaptureStream ? element.mozCaptureStream() : null);
      if (!stream || !stream.getAudioTracks().length) return;
      try {
        elementSource = ctx.createMediaStreamSource(stream);
      } catch (e) {
        return; // a stream from another origin cannot be measured; it still plays
      }
      elementSource.connect(analyser);
    }

    function onElementPlay() {
      resume();
      measureElement();
    }

    return {
      get level() { return level; },
      get context() { return ctx; },

      // Make the context now (best during a tap: browsers start it running then).
      prepare: function () {
        if (ctx) return;
        const Context = window.AudioContext || window.webkitAudioContext;
        if (!Context) return;
        ctx = new Context();
        analyser = ctx.createAnalyser();
        analyser.fftSize = 2048;
        samples = new Float32Array(analyser.fftSize);
        ctx.addEventListener("statechange", resume);
        document.addEventListener("visibilitychange", onVisible);
        ["pointerdown", "keydown", "touchend"].forEach(function (type) {
          document.addEventListener(type, resume, true);
        });
      },

      open: function () {
        wanted = true;
        this.prepare();
        resume();
        if (ctx && !timer) timer = setInterval(tick, LEVEL_MS);
      },

      addTrack: function (track) {
        if (!ctx) return;
        const source = ctx.createMediaStreamSource(new MediaStream([track]));
        source.connect(analyser);
        trackSources.push(source);
      },

      dropTracks: function () {
        trackSources.forEach(function (s) { s.disconnect(); });
        trackSources = [];
      },

      addElement: function (el) {
        element = el;
        el.addEventListener("play", onElementPlay);
        el.addEventListener("playing", onElementPlay);
        measureElement();
      },

      dropElement: function () {
        if (element) {
          element.removeEventListener("play", onElementPlay);
          element.removeEventListener("playing", onElementPlay);
        }
        if (elementSource) elementSource.disconnect();
        element = null;
        elementSource = null;
      },

      resume: resume,

      close: function () {
        wanted = false;
        clearInterval(timer);
        timer = null;
        this.dropTracks();
        this.dropElement();
        level = 0;
        energy = 0;
        // Kept for the next Listen (browsers limit how many a page may make), idle.
        if (ctx && ctx.state === "running") ctx.suspend().catch(function () { /* closed */ });
      },
    };
  }

  window.SpacesSession = { create: createSession };
  window.SpacesMeter = { create: createMeter };
})();
