// The stylesheets and scripts of a page nav.js swaps in (see nav.js). Stylesheets the
// next page needs and this document lacks are fetched before the swap without applying
// (media "not all"), so nothing shows unstyled; at the swap the next page's stylesheets
// apply and only they (the others are switched off, and on again when a page lists
// them). Scripts the next page lists and this document never ran are run in order after
// the swap, then the scripts inside its <main>.
(function () {
  "use strict";

  const WAIT_MS = 4000;  // a stylesheet or script that takes longer is not worth the wait

  function atMost(promises) {
    if (!promises.length) return Promise.resolve();
    return Promise.race([Promise.all(promises),
      new Promise(function (resolve) { setTimeout(resolve, WAIT_MS); })]);
  }

  function isCode(script) {
    const type = (script.getAttribute("type") || "").trim().toLowerCase();
    return !type || type === "module" || /^(text|application)\/(x-)?(java|ecma)script$/.test(type);
  }

  function sheetsOf(doc) {
    return Array.from(doc.querySelectorAll('head link[rel~="stylesheet"][href]'))
      .map(function (link) { return { href: link.href, media: link.getAttribute("media") }; });
  }

  function ourSheets() {
    return Array.from(document.querySelectorAll('head link[rel~="stylesheet"][href]'));
  }

  // Fetch the stylesheets the next page needs and this document lacks, without
  // applying them yet (media "not all"); resolve when they are in, or after a while.
  function prepareSheets(wanted) {
    const have = new Set(ourSheets().map(function (link) { return link.href; }));
    const loads = wanted.filter(function (sheet) { return !have.has(sheet.href); })
      .map(function (sheet) {
        const link = document.createElement("link");
        link.rel = "stylesheet";
        link.media = "not all";
        link.dataset.navMedia = sheet.media || "";
        return new Promise(function (resolve) {
          link.onload = link.onerror = resolve;
          link.href = sheet.href;
          document.head.appendChild(link);
        });
      });
    return atMost(loads);
  }

  // At the swap: the next page's stylesheets apply, and only they.
  function applySheets(wanted) {
    const hrefs = new Set(wanted.map(function (sheet) { return sheet.href; }));
    ourSheets().forEach(function (link) {
      const on = hrefs.has(link.href);
      if (on && "navMedia" in link.dataset) {
        if (link.dataset.navMedia) link.media = link.dataset.navMedia;
        else link.removeAttribute("media");
        delete link.dataset.navMedia;
      }
      if (link.sheet) link.sheet.disabled = !on;
    });
  }

  function ran(script) {
    return new Promise(function (resolve) { script.onload = script.onerror = resolve; });
  }

  // Run the scripts the next page lists in its <head> and this document never ran, in
  // order, then those inside its <main> (parsed ones never run, so they are re-created);
  // resolve once the ones from files have run, or after a while.
  function runScripts(doc, main) {
    const have = new Set(Array.from(document.scripts).map(function (s) { return s.src; }));
    const loads = [];
    doc.querySelectorAll("head script[src]").forEach(function (old) {
      if (!isCode(old) || have.has(old.src)) return;
      const script = document.createElement("script");
      if (old.type) script.type = old.type;
      script.async = false;  // run in the order the page lists them
      script.src = old.src;
      loads.push(ran(script));
      document.head.appendChild(script);
    });
    main.querySelectorAll("script").forEach(function (old) {
      if (!isCode(old)) return;
      const script = document.createElement("script");
      Array.from(old.attributes).forEach(function (a) { script.setAttribute(a.name, a.value); });
      script.async = false;
      script.textContent = old.textContent;
      if (script.src) loads.push(ran(script));
      old.replaceWith(script);
    });
    return atMost(loads);
  }

  window.SpacesPageAssets = {
    sheetsOf: sheetsOf, prepareSheets: prepareSheets, applySheets: applySheets,
    runScripts: runScripts
  };
})();
