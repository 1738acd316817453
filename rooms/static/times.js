// Human times in the viewer's own time zone and language: "3 minutes ago",
// "Tue 8 Dec, 18:00". The server writes ISO 8601 UTC into <time datetime> with a
// readable UTC text; these functions rewrite it where scripts run.
(function () {
  "use strict";

  const UNITS = [
    ["year", 365 * 24 * 3600], ["month", 30 * 24 * 3600], ["week", 7 * 24 * 3600],
    ["day", 24 * 3600], ["hour", 3600], ["minute", 60], ["second", 1],
  ];

  function parse(iso) {
    if (!iso) return null;
    const date = new Date(iso);
    return isNaN(date.getTime()) ? null : date;
  }

  // "3 minutes ago", "in 2 hours": the largest unit that fits, seconds only under a minute.
  function relative(date, now) {
    const seconds = Math.round((date.getTime() - (now || Date.now())) / 1000);
    const size = Math.abs(seconds);
    let unit = "second";
    let value = seconds;
    for (let i = 0; i < UNITS.length; i++) {
      if (size >= UNITS[i][1]) {
        unit = UNITS[i][0];
        value = Math.round(seconds / UNITS[i][1]);
        break;
      }
    }
    if (unit === "second") value = Math.round(seconds / 10) * 10;
    if (typeof Intl === "object" && Intl.RelativeTimeFormat) {
      return new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }).format(value, unit);
    }
    const plural = Math.abs(value) === 1 ? unit : unit + "s";
    return value < 0 ? -value + " " + plural + " ago" : "in " + value + " " + plural;
  }

  // "Tue 8 Dec, 18:00" (with the year when it is not this year), in the viewer's zone.
  function absolute(date) {
    const options = { weekday: "short", day: "numeric", month: "short",
      hour: "2-digit", minute: "2-digit" };
    if (date.getFullYear() !== new Date().getFullYear()) options.year = "numeric";
    try {
      return new Intl.DateTimeFormat(undefined, options).format(date);
    } catch (e) {
      return date.toLocaleString();
    }
  }

  function full(date) {
    try {
      return new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" }).format(date);
    } catch (e) {
      return date.toString();
    }
  }

  // Fill one <time datetime> element: text by its data-style, the full date as a tooltip.
  function render(el) {
    const date = parse(el.getAttribute("datetime"));
    if (!date) return;
    el.textContent = el.dataset.style === "relative" ? relative(date) : absolute(date);
    el.title = full(date);
  }

  // A new <time> element for `iso`, already rendered.
  function element(iso, style) {
    const el = document.createElement("time");
    el.setAttribute("datetime", iso);
    el.dataset.style = style || "absolute";
    el.textContent = iso;
    render(el);
    return el;
  }

  function renderAll(scope) {
    (scope || document).querySelectorAll("time[datetime]").forEach(render);
  }

  window.SpacesTimes = { parse: parse, relative: relative, absolute: absolute,
    element: element, render: render, renderAll: renderAll };
})();
