// The portal's service worker, served at /sw.js so it covers the whole site. It shows
// the notifications the portal pushes (JSON: title, body, url, tag) and, on a click,
// brings the person to that page on this site, never anywhere else.
"use strict";

const ICON = "/static/favicon.svg";

self.addEventListener("install", function () {
  // A new version takes over at once: it holds no caches that could go stale.
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

// Return `url` made absolute if it is on this site; the home page otherwise.
function sameOrigin(url) {
  const home = self.location.origin + "/";
  try {
    const target = new URL(typeof url === "string" && url ? url : "/", self.location.origin);
    return target.origin === self.location.origin ? target.href : home;
  } catch (error) {
    return home;
  }
}

function readPayload(data) {
  if (!data) return {};
  try {
    const parsed = data.json();
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch (error) {
    return { body: data.text() };
  }
}

self.addEventListener("push", function (event) {
  const payload = readPayload(event.data);
  const title = typeof payload.title === "string" && payload.title ? payload.title : "Spaces";
  const options = {
    body: typeof payload.body === "string" ? payload.body : "",
    icon: ICON,
    data: { url: sameOrigin(payload.url) },
  };
  if (typeof payload.tag === "string" && payload.tag) {
    // A newer notice with the same tag replaces the old one, and still alerts.
    options.tag = payload.tag;
    options.renotify = true;
  }
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  const target = sameOrigin(event.notification.data && event.notification.data.url);
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (tabs) {
      // A tab already showing the page comes to the front. Any other portal tab is left
      // where it is (it may be playing a space) and the page opens in a new one.
      for (const tab of tabs) {
        if (tab.url === target && "focus" in tab) return tab.focus();
      }
      return self.clients.openWindow(target);
    })
  );
});
