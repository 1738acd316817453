// Move between portal pages without unloading the document, so the player dock
// (dock.js) keeps playing: same-origin links and GET forms fetch the next page and
// swap in its <main>, title and account links, push a history entry, move focus to
// the new page's heading, and restore scroll on back and forward. Anything out of the
// ordinary (another origin, POST, modifier keys, new tabs, downloads, non-HTML,
// errors) is left to the browser as an ordinary page load.
(function () {
  "use strict";

  if (!window.fetch || !window.DOMParser || !history.pushState) return;

  let controller = null;
  // What <main> shows now, so hash-only history steps do not refetch it.
  let shown = location.pathname + location.search;

  function withState(extra) {
    return Object.assign({}, history.state, { spacesNav: true }, extra);
  }

  // We restore scroll ourselves: the browser cannot, since the document never changes.
  if ("scrollRestoration" in history) history.scrollRestoration = "manual";
  history.replaceState(withState({ scroll: [window.scrollX, window.scrollY] }), "");

  let scrollTimer = null;
  window.addEventListener("scroll", function () {
    // Keep the current entry's position fresh: by the time popstate fires it is too late.
    clearTimeout(scrollTimer);
    scrollTimer = setTimeout(function () {
      history.replaceState(withState({ scroll: [window.scrollX, window.scrollY] }), "");
    }, 150);
  }, { passive: true });

  function assets(doc) {
    return Array.from(doc.querySelectorAll("head script[src], head link[rel=stylesheet]"))
      .map(function (el) { return el.getAttribute("src") || el.getAttribute("href"); })
      .join(" ");
  }

  // Put the fetched page in place; false if it is not a page we can swap into.
  function swap(doc) {
    const next = doc.getElementById("main");
    const main = document.getElementById("main");
    // A page with other scripts or styles needs a real load to get them.
    if (!next || !main || next.querySelector("script") || assets(doc) !== assets(document)) {
      return false;
    }
    document.title = doc.title;
    const description = doc.querySelector('meta[name="description"]');
    const ours = document.querySelector('meta[name="description"]');
    if (description && ours) ours.content = description.content;
    // Account links carry per-page bits (unread counts, the sign-in return address),
    // and so does the menu button (the unread count).
    ["account-nav", "menu-unread"].forEach(function (id) {
      const fresh = doc.getElementById(id);
      const old = document.getElementById(id);
      if (fresh && old) old.replaceWith(document.adoptNode(fresh));
    });
    const query = doc.getElementById("site-q");
    const box = document.getElementById("site-q");
    if (query && box) box.value = query.value;
    // DOMParser parses with scripting off, so <noscript> content (the plain player
    // iframe) comes out as live elements; this page runs scripts, so drop it.
    next.querySelectorAll("noscript").forEach(function (n) { n.remove(); });
    main.replaceWith(document.adoptNode(next));
    return true;
  }

  function focusHeading() {
    const main = document.getElementById("main");
    const heading = main.querySelector("h1") || main;
    if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }

  function scrollTo(url, scroll) {
    const target = url.hash && document.getElementById(decodeURIComponent(url.hash.slice(1)));
    if (scroll) window.scrollTo(scroll[0], scroll[1]);
    else if (target) target.scrollIntoView();
    else window.scrollTo(0, 0);
  }

  // push: a new history entry (link, form); otherwise the entry exists (back/forward).
  async function go(href, push, scroll) {
    if (controller) controller.abort();
    clearTimeout(scrollTimer);
    if (push) history.replaceState(withState({ scroll: [window.scrollX, window.scrollY] }), "");
    const mine = controller = new AbortController();
    const wanted = new URL(href, location.href);
    document.documentElement.setAttribute("aria-busy", "true");
    let response, text;
    try {
      response = await fetch(wanted.href, { signal: mine.signal, credentials: "same-origin",
        headers: { Accept: "text/html" } });
      const type = response.headers.get("Content-Type") || "";
      const attachment = /attachment/i.test(response.headers.get("Content-Disposition") || "");
      if (!response.ok || !type.startsWith("text/html") || attachment ||
          new URL(response.url).origin !== location.origin) {
        throw new Error("not a portal page");
      }
      text = await response.text();
    } catch (error) {
      if (error.name !== "AbortError") fullLoad(wanted.href, push);
      return;
    } finally {
      if (controller === mine) {
        controller = null;
        document.documentElement.removeAttribute("aria-busy");
      }
    }
    if (!swap(new DOMParser().parseFromString(text, "text/html"))) {
      fullLoad(wanted.href, push);
      return;
    }
    // Redirects (sign-in, canonical addresses) land on the address the server chose.
    const landed = new URL(response.url);
    landed.hash = wanted.hash;
    if (push) history.pushState(withState({ scroll: null }), "", landed.href);
    else if (landed.href !== location.href) history.replaceState(history.state, "", landed.href);
    shown = landed.pathname + landed.search;
    document.dispatchEvent(new CustomEvent("spaces:navigated", { detail: { url: landed.href } }));
    focusHeading();
    scrollTo(landed, scroll);
  }

  function fullLoad(href, push) {
    if (push) location.assign(href);
    else location.replace(href);
  }

  function linkTarget(event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey ||
        event.shiftKey || event.altKey) return null;
    const link = event.target.closest && event.target.closest("a[href]");
    if (!(link instanceof HTMLAnchorElement) || link.hasAttribute("download")) return null;
    if (link.target && link.target !== "_self") return null;
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || !/^https?:$/.test(url.protocol)) return null;
    // A jump within this page is the browser's to make.
    if (url.hash && url.pathname + url.search === location.pathname + location.search) return null;
    return url;
  }

  document.addEventListener("click", function (event) {
    const url = linkTarget(event);
    if (!url) return;
    event.preventDefault();
    go(url.href, true, null);
  });

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (event.defaultPrevented || !(form instanceof HTMLFormElement)) return;
    const submitter = event.submitter || null;
    const attr = function (name, formName) {
      return (submitter && submitter.getAttribute(formName)) || form.getAttribute(name) || "";
    };
    if ((attr("method", "formmethod") || "get").toLowerCase() !== "get") return;
    const target = attr("target", "formtarget");
    if (target && target !== "_self") return;
    const action = new URL(attr("action", "formaction") || location.href, location.href);
    if (action.origin !== location.origin) return;
    const params = new URLSearchParams();
    const data = submitter ? new FormData(form, submitter) : new FormData(form);
    for (const [name, value] of data) {
      if (typeof value !== "string") return;  // a file: let the browser handle it
      params.append(name, value);
    }
    // A GET form replaces the action's query with its fields, as browsers do.
    action.search = params.toString();
    action.hash = "";
    event.preventDefault();
    go(action.href, true, null);
  });

  window.addEventListener("popstate", function (event) {
    const state = event.state || {};
    if (location.pathname + location.search === shown) {
      // Only the fragment changed; the browser scrolls to it.
      return;
    }
    go(location.href, false, state.scroll || null);
  });
})();
