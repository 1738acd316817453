// Move between portal pages without unloading the document, so the player dock
// (dock.js) keeps playing: same-origin links, GET forms and POST forms fetch the next
// page and swap in its <main>, title and account links, push a history entry, move
// focus to the new page's heading, and restore scroll on back and forward.
// A page that needs stylesheets or scripts this document lacks gets them (page-assets.js):
// stylesheets before the swap (no flash of unstyled content), scripts in order after it.
// Page scripts follow one convention: set up the page once when they first
// run, and again on every "spaces:navigated" event, which fires after each swap and
// before the new page's own scripts are loaded (so those run their first set-up on it).
// Anything out of the ordinary (another origin, modifier keys, new tabs, downloads,
// file uploads in GET forms, non-HTML answers) is left to the browser.
(function () {
  "use strict";

  const assets = window.SpacesPageAssets;
  if (!window.fetch || !window.DOMParser || !history.pushState || !window.FormData ||
      !assets) return;
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

  // ----- Swapping the page in ------------------------------------------------------------

  function replaceChrome(doc) {
    document.title = doc.title;
    const description = doc.querySelector('meta[name="description"]');
    const ours = document.querySelector('meta[name="description"]');
    if (description && ours) ours.content = description.content;
    // Account links carry per-page bits (unread counts, the sign-in return address, the
    // sign-out form's CSRF token), and so does the menu button (the unread count).
    ["account-nav", "menu-unread"].forEach(function (id) {
      const fresh = doc.getElementById(id);
      const old = document.getElementById(id);
      if (fresh && old) old.replaceWith(document.adoptNode(fresh));
    });
    const query = doc.getElementById("site-q");
    const box = document.getElementById("site-q");
    if (query && box) box.value = query.value;
  }

  // Put the fetched page in place: its <main>, or null if it is not a portal page we
  // can swap into, or if another navigation started meanwhile (`current` says).
  async function swap(doc, current) {
    const next = doc.getElementById("main");
    if (!next || !document.getElementById("main")) return null;
    const sheets = assets.sheetsOf(doc);
    await assets.prepareSheets(sheets);
    if (!current()) return null;
    replaceChrome(doc);
    // DOMParser parses with scripting off, so <noscript> content (the plain player
    // iframe) comes out as live elements; this page runs scripts, so drop it.
    next.querySelectorAll("noscript").forEach(function (n) { n.remove(); });
    const main = document.adoptNode(next);
    document.getElementById("main").replaceWith(main);
    assets.applySheets(sheets);
    return main;
  }

  // Focus the new page's heading and scroll as a page load would: to the remembered
  // position (back, forward), the fragment's target, or the top. A form answered with
  // its errors asks for the first wrong field instead: focused, and in view with its error.
  function focusAndScroll(url, scroll) {
    const main = document.getElementById("main");
    const field = !scroll && main.querySelector("[autofocus]:not(dialog [autofocus])");
    const target = url.hash && document.getElementById(decodeURIComponent(url.hash.slice(1)));
    if (scroll) window.scrollTo(scroll[0], scroll[1]);
    else if (target && !field) target.scrollIntoView();
    else window.scrollTo(0, 0);
    if (field) {
      field.focus();
      const ids = (field.getAttribute("aria-describedby") || "").split(/\s+/);
      const error = ids[0] && document.getElementById(ids[0]);
      if (error) error.scrollIntoView({ block: "nearest" });
      return;
    }
    const heading = main.querySelector("h1");
    if (heading && !heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
    (heading || main).focus({ preventScroll: true });
  }

  // A sent form whose answer cannot be shown here: say so in the page, keep the audio.
  function sayFormFailed(text) {
    const main = document.getElementById("main");
    const note = document.createElement("p");
    note.className = "notice notice-error flash";
    note.setAttribute("role", "alert");
    note.textContent = text;
    main.prepend(note);
    main.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }

  async function fetchPage(url, post, signal) {
    const init = { signal: signal, credentials: "same-origin", headers: { Accept: "text/html" } };
    if (post) { init.method = "POST"; init.body = post; }
    const response = await fetch(url, init);
    const type = response.headers.get("Content-Type") || "";
    const attachment = /attachment/i.test(response.headers.get("Content-Disposition") || "");
    const html = type.startsWith("text/html") && !attachment &&
      new URL(response.url).origin === location.origin;
    return { response: response, text: html ? await response.text() : null };
  }

  // push: a new history entry (link, form); otherwise the entry exists (back/forward).
  // post: the body of a POST form (FormData or URLSearchParams), else null.
  async function go(href, push, scroll, post) {
    if (controller) controller.abort();
    clearTimeout(scrollTimer);
    const from = [window.scrollX, window.scrollY];
    const mine = controller = new AbortController();
    const current = function () { return controller === mine; };
    const wanted = new URL(href, location.href);
    document.documentElement.setAttribute("aria-busy", "true");
    let got = null;
    try {
      got = await fetchPage(wanted.href, post, mine.signal);
      const doc = got.text === null ? null : new DOMParser().parseFromString(got.text, "text/html");
      const main = doc && await swap(doc, current);
      if (!current()) return;
      if (!main) { fallBack(wanted.href, push, post, got.response); return; }
      // Scripts already here set the new page up now; the page's own scripts when they
      // first run. The address changes once they have: the page is then ready.
      document.dispatchEvent(new CustomEvent("spaces:navigated", { detail: { url: got.response.url } }));
      await assets.runScripts(doc, main);
      // Redirects (after a form, sign-in, canonical addresses) land where the server chose.
      const landed = new URL(got.response.url);
      landed.hash = post ? "" : wanted.hash;
      if (push) {
        // The entry we leave keeps its position; the new one starts at the top.
        history.replaceState(withState({ scroll: from }), "");
        history.pushState(withState({ scroll: null }), "", landed.href);
      } else if (landed.href !== location.href) history.replaceState(history.state, "", landed.href);
      shown = landed.pathname + landed.search;
      focusAndScroll(landed, scroll);
    } catch (error) {
      if (error.name !== "AbortError" && current()) fallBack(wanted.href, push, post, null);
    } finally {
      if (current()) {
        controller = null;
        document.documentElement.removeAttribute("aria-busy");
      }
    }
  }

  function fallBack(href, push, post, response) {
    if (!post) {
      if (push) location.assign(href);
      else location.replace(href);
    } else if (response && response.redirected) {
      // The form did its work; show where the server sent it, as the browser would.
      location.assign(response.url);
    } else {
      // Sending it again by hand could do the work twice: say what happened instead.
      sayFormFailed(response
        ? "Your form was sent, but the answer cannot be shown here. Reload the page to see where things stand."
        : "Your form may not have been sent: Spaces could not be reached. Check your connection, then try again.");
    }
  }

  // ----- What starts a navigation ---------------------------------------------------------

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
    go(url.href, true, null, null);
  });

  // The body a POST form sends, encoded as its enctype says; null for what we leave alone.
  function postBody(form, data, enctype) {
    if (enctype === "multipart/form-data") return data;  // fetch writes the boundary
    if (enctype !== "application/x-www-form-urlencoded") return null;  // text/plain
    const params = new URLSearchParams();
    for (const [name, value] of data) {
      params.append(name, typeof value === "string" ? value : value.name);
    }
    return params;
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (event.defaultPrevented || !(form instanceof HTMLFormElement)) return;
    const submitter = event.submitter || null;
    const attr = function (name, formName) {
      return (submitter && submitter.getAttribute(formName)) || form.getAttribute(name) || "";
    };
    const method = (attr("method", "formmethod") || "get").toLowerCase();
    if (method !== "get" && method !== "post") return;  // "dialog" and the unknown
    const target = attr("target", "formtarget");
    if (target && target !== "_self") return;
    const action = new URL(attr("action", "formaction") || location.href, location.href);
    if (action.origin !== location.origin || !/^https?:$/.test(action.protocol)) return;
    const data = submitter ? new FormData(form, submitter) : new FormData(form);
    if (method === "post") {
      const enctype = (attr("enctype", "formenctype") || "application/x-www-form-urlencoded")
        .toLowerCase();
      const body = postBody(form, data, enctype);
      if (!body) return;
      event.preventDefault();
      go(action.href, true, null, body);
      return;
    }
    const params = new URLSearchParams();
    for (const [name, value] of data) {
      if (typeof value !== "string") return;  // a file: let the browser handle it
      params.append(name, value);
    }
    // A GET form replaces the action's query with its fields, as browsers do.
    action.search = params.toString();
    action.hash = "";
    event.preventDefault();
    go(action.href, true, null, null);
  });

  window.addEventListener("popstate", function (event) {
    const state = event.state || {};
    if (location.pathname + location.search === shown) {
      // Only the fragment changed; the browser scrolls to it.
      return;
    }
    go(location.href, false, state.scroll || null, null);
  });
})();
