// When to try connecting to the room again, and when to say the room cannot be reached.
//
// The player calls begin() when it wants to be connected (Listen pressed, or a working
// connection lost), failed() when an attempt did not work, and succeeded() once audio
// plays. Attempts go at once, then after a short, growing pause (capped so that audio is
// back within a few seconds of the network returning); a stalled attempt is abandoned.
// If nothing has played for UNREACHABLE_MS since begin(), `unreachable` is told once, and
// the attempts go on in the background.
(function () {
  "use strict";

  const DELAYS_MS = [250, 500, 1000, 1500];
  // Well inside the 10 s in which the listener must be told the room cannot be reached.
  const UNREACHABLE_MS = 8000;
  // Joining, negotiating and connecting take about a second on a working network; an
  // attempt still going after this is stuck (a socket that opened but never answers).
  const ATTEMPT_MS = 6000;

  // `attempt()` starts one try; `abandon()` tears down a try that stalled;
  // `unreachable()` says the room has not been reached for a while.
  function create(on) {
    let failures = 0;
    let waitTimer = null;
    let attemptTimer = null;
    let watchdog = null;
    let running = false;

    function clearTimers() {
      clearTimeout(waitTimer);
      clearTimeout(attemptTimer);
      waitTimer = null;
      attemptTimer = null;
    }

    function attempt() {
      clearTimers();
      if (!running) return;
      attemptTimer = setTimeout(function () {
        attemptTimer = null;
        on.abandon();
        failed();
      }, ATTEMPT_MS);
      on.attempt();
    }

    function failed() {
      if (!running || waitTimer) return; // already waiting for the next try
      clearTimeout(attemptTimer);
      attemptTimer = null;
      const base = DELAYS_MS[Math.min(failures, DELAYS_MS.length - 1)];
      failures += 1;
      // Spread many listeners' retries after a server restart; never past the cap.
      const delay = base >= 1000 ? base * (0.8 + 0.2 * Math.random()) : base;
      waitTimer = setTimeout(attempt, delay);
    }

    return {
      get running() { return running; },

      begin: function () {
        running = true;
        failures = 0;
        if (!watchdog) {
          watchdog = setTimeout(function () {
            watchdog = null;
            if (running) on.unreachable();
          }, UNREACHABLE_MS);
        }
        attempt();
      },

      failed: failed,

      // The network came back (the window's `online` event): do not wait out the pause.
      now: function () {
        if (running && waitTimer) {
          failures = 0;
          attempt();
        }
      },

      succeeded: function () {
        clearTimers();
        clearTimeout(watchdog);
        watchdog = null;
        failures = 0;
        running = false;
      },

      cancel: function () {
        clearTimers();
        clearTimeout(watchdog);
        watchdog = null;
        running = false;
      },
    };
  }

  window.SpacesReconnect = { create: create };
})();
