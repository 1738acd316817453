// Host and account pages: the schedule in the browser's time zone, the language the
// browser speaks, a handle suggested from the name, and promoted links' outcomes as they
// come in. Every form works without this script (times are then UTC).
(function () {
  "use strict";

  var POLL_MS = 1500;
  var POLL_FOR_MS = 10 * 60 * 1000;

  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      return "";
    }
  }

  function setupZone() {
    var field = document.getElementById("room-tz");
    var zone = browserZone();
    if (!field || !zone) { return; }
    field.value = zone;
    document.querySelectorAll("[data-zone-label]").forEach(function (el) {
      el.textContent = "(your time, " + zone + ")";
    });
    document.querySelectorAll("[data-zone-note]").forEach(function (el) {
      el.textContent = "Times are in your time zone, " + zone + ".";
    });
  }

  function setupLanguage() {
    var select = document.getElementById("room-lang");
    if (!select || select.getAttribute("data-default-language") !== "true") { return; }
    var primary = (navigator.language || "").split("-")[0].toLowerCase();
    var known = Array.prototype.some.call(select.options, function (option) {
      return option.value === primary;
    });
    if (known) { select.value = primary; }
  }


  function suggestHandle(name) {
    var handle = name.toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
      .replace(/[^a-z0-9_]+/g, "_").replace(/_+/g, "_").replace(/^_|_$/g, "");
    handle = handle.slice(0, 26).replace(/_$/, "");
    // Too short to be a handle: left empty, the server then makes one of the name.
    return handle.length >= 3 ? handle : "";
  }

  function setupHandle() {
    var handle = document.querySelector("input[data-suggest-from]");
    if (!handle) { return; }
    var source = document.getElementById(handle.getAttribute("data-suggest-from"));
    if (!source) { return; }
    var edited = handle.value !== "";
    handle.addEventListener("input", function () { edited = handle.value !== ""; });
    source.addEventListener("input", function () {
      if (!edited) { handle.value = suggestHandle(source.value); }
    });
  }

  function showOutcome(item, body) {
    var text = item.querySelector(".outcome-text");
    if (!text) { return; }
    text.replaceChildren(body.text);
    if (body.spaces && body.spaces.length) {
      text.append(": ");
      body.spaces.forEach(function (space, index) {
        var link = document.createElement("a");
        link.href = space.url;
        link.textContent = space.title;
        if (index) { text.append(", "); }
        text.append(link);
      });
    }
    item.className = "outcome outcome-" + body.state;
  }

  function poll(item, started) {
    if (!item.isConnected) { return; }  // the page moved on
    var url = item.getAttribute("data-status-url");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (body) {
        showOutcome(item, body);
        if (body.settled) {
          item.removeAttribute("data-status-url");
        } else if (Date.now() - started < POLL_FOR_MS) {
          window.setTimeout(function () { poll(item, started); }, POLL_MS);
        }
      })
      .catch(function () {
        if (Date.now() - started < POLL_FOR_MS) {
          window.setTimeout(function () { poll(item, started); }, POLL_MS * 4);
        }
      });
  }

  function setupOutcomes() {
    var started = Date.now();
    document.querySelectorAll("[data-status-url]").forEach(function (item) {
      window.setTimeout(function () { poll(item, started); }, POLL_MS);
    });
  }

  function setup() {
    setupZone();
    setupLanguage();
    setupHandle();
    setupOutcomes();
  }

  // Once when first run (a full load, or nav.js loading it for the page it swapped in),
  // and again for every page nav.js swaps in after that.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
  document.addEventListener("spaces:navigated", setup);
})();
