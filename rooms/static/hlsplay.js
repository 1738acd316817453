// Play a room's HLS stream (GET /hls/<id>/index.m3u8) in a media element: the
// browser's own HLS where it has it (Safari, iOS, recent Chrome), else hls.js
// (vendor/hls.light.min.js, loaded the first time it is needed). Used by media.js when
// WebRTC cannot connect, or when the room has more listeners than the server serves
// over WebRTC. The stream is a second or two of audio per segment, a few seconds
// behind the room.
(function () {
  "use strict";

  const HLS_JS = "/static/rooms/vendor/hls.light.min.js";
  const NATIVE_TYPE = "application/vnd.apple.mpegurl";
  // Live edge settings for one-second segments: start two segments behind the newest
  // (enough to ride out a late playlist refresh), catch up by playing a little faster
  // rather than by jumping, and jump only when five segments behind.
  const HLS_CONFIG = {
    liveSyncDurationCount: 2,
    liveMaxLatencyDurationCount: 5,
    maxLiveSyncPlaybackRate: 1.25,
    backBufferLength: 10,
    // A worker would be built from a blob: URL, which the page's CSP does not allow.
    enableWorker: false,
    lowLatencyMode: false, // plain HLS: the server writes no partial segments
    manifestLoadingMaxRetry: 6,
    levelLoadingMaxRetry: 6,
    fragLoadingMaxRetry: 6,
  };
  // Network trouble is retried this many times in a row before giving up.
  const MAX_RECOVERIES = 5;

  let loading = null;

  function loadHlsJs() {
    if (window.Hls) return Promise.resolve(window.Hls);
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        const script = document.createElement("script");
        script.src = HLS_JS;
        script.async = true;
        script.onload = function () { resolve(window.Hls); };
        script.onerror = function () {
          loading = null;
          reject(new Error("the HLS player could not be loaded"));
        };
        document.head.appendChild(script);
      });
    }
    return loading;
  }

  function native(el) {
    return !!el.canPlayType && el.canPlayType(NATIVE_TYPE) !== "";
  }

  // Start playing `url` in `el`; resolves to a handle with live() (go back to the live
  // edge) and stop(). `on.error(text)` is told when the stream cannot be played; the
  // caller then calls stop().
  async function play(el, url, on) {
    let hls = null;
    let stopped = false;
    if (native(el)) {
      watchNative(el, url, on, function () { return stopped; });
      el.src = url;
    } else {
      const Hls = await loadHlsJs();
      if (!Hls || !Hls.isSupported()) {
        throw new Error("this browser can play neither WebRTC nor HLS audio");
      }
      hls = new Hls(HLS_CONFIG);
      watch(hls, Hls, url, on);
      hls.loadSource(url);
      hls.attachMedia(el);
    }
    return {
      native: !hls,
      live: function () { goLive(el, hls); },
      stop: function () {
        stopped = true;
        if (hls) hls.destroy();
        hls = null;
        el.pause();
        el.removeAttribute("src");
        el.load(); // drops the buffered audio and stops the playlist refreshes
      },
    };
  }

  function watchNative(el, url, on, stopped) {
    // A playlist not written yet, or a dropped network: load it again a little later.
    let recoveries = 0;
    el.addEventListener("playing", function () { recoveries = 0; });
    el.addEventListener("error", function () {
      if (stopped()) return;
      recoveries += 1;
      if (recoveries > MAX_RECOVERIES) {
        on.error("The room's stream stopped (" + (el.error ? el.error.message || el.error.code : "error") + ").");
        return;
      }
      setTimeout(function () {
        if (stopped()) return;
        el.src = url;
        el.play().catch(function () { /* told by the next error */ });
      }, 1000 * recoveries);
    });
  }

  function watch(hls, Hls, url, on) {
    let recoveries = 0;
    hls.on(Hls.Events.FRAG_BUFFERED, function () { recoveries = 0; });
    hls.on(Hls.Events.ERROR, function (_event, info) {
      if (!info.fatal) return;
      recoveries += 1;
      // on.error's caller stops the stream (and so destroys hls).
      if (recoveries > MAX_RECOVERIES) {
        on.error("The room's stream stopped (" + info.details + ").");
      } else if (info.type === Hls.ErrorTypes.NETWORK_ERROR) {
        // A room that has just started has no playlist for a second or two (a 404,
        // which hls.js does not retry): ask again a little later.
        setTimeout(function () {
          if (!hls.media) return; // destroyed meanwhile
          if (/^manifest/.test(info.details)) hls.loadSource(url);
          else hls.startLoad();
        }, 1000 * recoveries);
      } else if (info.type === Hls.ErrorTypes.MEDIA_ERROR) {
        hls.recoverMediaError();
      } else {
        on.error("The room's stream cannot be played here (" + info.details + ").");
      }
    });
  }

  function goLive(el, hls) {
    // After a pause, what was buffered is old: listeners come back to what is said now.
    let edge = hls ? hls.liveSyncPosition : null;
    if (edge == null && el.seekable && el.seekable.length) {
      edge = el.seekable.end(el.seekable.length - 1) - 2;
    }
    if (edge != null && isFinite(edge) && edge > el.currentTime) el.currentTime = edge;
  }

  window.SpacesHls = { play: play, native: native };
})();
