// The "Your browsers" page: register the service worker, turn on push notifications in
// this browser (permission, then a push subscription posted to the portal), and say
// plainly what happened. `data-state` on the status line names the state shown.
(function () {
  "use strict";

  var SUBSCRIBE_TIMEOUT_MS = 20000;
  // The page's parts: set for each "Your browsers" page shown (see init, below).
  var section = null;
  var status = null;
  var button = null;
  var registration = null;

  var MESSAGES = {
    unsupported: "This browser cannot show push notifications. Try a current Chrome, Edge, Firefox or Safari.",
    insecure: "Notifications need a secure (https) connection to this site.",
    denied: "Notifications are blocked for this site: allow them in your browser's site settings, then reload this page.",
    dismissed: "Notifications are not allowed yet. Press the button again and choose “Allow”.",
    off: "Notifications are off on this browser.",
    working: "Turning on notifications…",
    subscribed: "This browser is on your list: notifications will reach it."
  };

  function show(state, text) {
    status.setAttribute("data-state", state);
    status.textContent = text || MESSAGES[state] || "";
    var problem = ["unsupported", "insecure", "denied", "failed", "error"].indexOf(state) >= 0;
    status.classList.toggle("notice-error", problem);
  }

  function keyBytes(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(base64 + "===".slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function sameKey(subscription) {
    var key = subscription.options && subscription.options.applicationServerKey;
    if (!key) return true;
    var ours = keyBytes(section.getAttribute("data-key"));
    var theirs = new Uint8Array(key);
    return ours.length === theirs.length && ours.every(function (b, i) { return b === theirs[i]; });
  }

  function listed(endpoint) {
    var found = false;
    document.querySelectorAll("[data-device-endpoint]").forEach(function (row) {
      var mine = row.getAttribute("data-device-endpoint") === endpoint;
      var badge = row.querySelector("[data-this-browser]");
      if (badge) {
        // Badges are always displayed, so the class comes only with the text.
        badge.hidden = !mine;
        badge.className = mine ? "badge badge-scheduled" : "";
        badge.textContent = mine ? "this browser" : "";
      }
      found = found || mine;
    });
    return found;
  }

  function withTimeout(promise, ms, message) {
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () { reject(new Error(message)); }, ms);
      promise.then(function (value) { clearTimeout(timer); resolve(value); },
        function (error) { clearTimeout(timer); reject(error); });
    });
  }

  // The list below comes from the server: fetch this page again and swap it in.
  async function refreshList() {
    try {
      var response = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
      var doc = new DOMParser().parseFromString(await response.text(), "text/html");
      var fresh = doc.getElementById("device-list");
      var old = document.getElementById("device-list");
      if (response.ok && fresh && old) old.replaceWith(document.adoptNode(fresh));
      watchRemovals();
    } catch (error) {
      // The status line already says the browser is on the list; a reload shows it.
    }
  }

  async function describeRefusal(response) {
    var type = response.headers.get("Content-Type") || "";
    if (type.indexOf("application/json") === 0) {
      var body = await response.json();
      if (body && body.error) return body.error;
    }
    if (response.redirected || response.status === 401) return "You are signed out. Sign in again, then come back to this page.";
    if (response.status === 400) return "This page has expired. Reload it and try again.";
    if (response.status === 429) return "Too many tries for now. Wait a while, then try again.";
    return "The site could not save this browser (error " + response.status + "). Try again in a moment.";
  }

  async function save(subscription) {
    var response = await fetch(section.getAttribute("data-post-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRF-Token": section.getAttribute("data-csrf")
      },
      body: JSON.stringify(subscription)
    });
    if (!response.ok || response.redirected) {
      show("error", await describeRefusal(response));
      return;
    }
    show("subscribed");
    button.hidden = true;
    await refreshList();
    listed(subscription.endpoint);
  }

  async function turnOn() {
    button.disabled = true;
    show("working");
    try {
      var permission = await Notification.requestPermission();
      if (permission === "denied") { show("denied"); button.hidden = true; return; }
      if (permission !== "granted") { show("dismissed"); return; }
      var subscription = await registration.pushManager.getSubscription();
      if (subscription && !sameKey(subscription)) {
        await subscription.unsubscribe();
        subscription = null;
      }
      if (!subscription) {
        try {
          subscription = await withTimeout(registration.pushManager.subscribe({
            userVisibleOnly: true,
            applicationServerKey: keyBytes(section.getAttribute("data-key"))
          }), SUBSCRIBE_TIMEOUT_MS, "the browser's push service did not answer in time");
        } catch (error) {
          show("failed", "This browser could not subscribe to notifications: " +
            (error && error.message ? error.message : String(error)) +
            ". Its push service may be unreachable or turned off; try again later or use another browser.");
          return;
        }
      }
      await save(subscription.toJSON());
    } catch (error) {
      show("error", "Something went wrong: " + (error && error.message ? error.message : String(error)) + ". Reload the page and try again.");
    } finally {
      button.disabled = false;
    }
  }

  // Removing this browser also ends its subscription, so the browser forgets it too.
  function watchRemovals() {
    document.querySelectorAll("[data-remove-device]").forEach(function (form) {
      form.addEventListener("submit", async function (event) {
        var row = form.closest("[data-device-endpoint]");
        if (!registration || !row || form.dataset.unsubscribed) return;
        event.preventDefault();
        try {
          var subscription = await registration.pushManager.getSubscription();
          if (subscription && subscription.endpoint === row.getAttribute("data-device-endpoint")) {
            await subscription.unsubscribe();
          }
        } catch (error) {
          // The server forgets it regardless; the browser's copy then simply lapses.
        }
        // Sent again as a submission of its own, so nav.js keeps the player going.
        form.dataset.unsubscribed = "true";
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      });
    });
  }

  async function start() {
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
      show(window.isSecureContext === false ? "insecure" : "unsupported");
      return;
    }
    try {
      await navigator.serviceWorker.register(section.getAttribute("data-worker-url"), { scope: "/" });
      registration = await navigator.serviceWorker.ready;
    } catch (error) {
      show("failed", "This browser could not start the site's notification helper: " + error.message + ". Reload the page to try again.");
      return;
    }
    section.setAttribute("data-worker", "ready");
    watchRemovals();
    var subscription = await registration.pushManager.getSubscription();
    if (subscription && sameKey(subscription) && listed(subscription.endpoint) &&
        Notification.permission === "granted") {
      show("subscribed");
      return;
    }
    if (Notification.permission === "denied") { show("denied"); return; }
    show("off");
    button.hidden = false;
    button.addEventListener("click", turnOn);
  }

  // Once when first run, and again for each page nav.js swaps in.
  function init() {
    section = document.querySelector("main [data-push]");
    if (!section) return;
    status = document.getElementById("push-status");
    button = document.getElementById("push-enable");
    registration = null;
    start();
  }

  init();
  document.addEventListener("spaces:navigated", init);
}());
