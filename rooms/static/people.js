// People in a room as the player shows them: round avatars with initials on a colour
// chosen from the name, names linking to profiles, role labels, muted marks, the
// speaking ring and reactions floating up from an avatar. Everything is built with
// DOM calls and textContent, so names and links from other people stay inert text.
(function () {
  "use strict";

  const PALETTE_SIZE = 10; // .avatar-0 ... .avatar-9 in player.css
  const ROLES = { host: "Host", cohost: "Co-host", speaker: "Speaker", listener: "Listener" };
  const SVG = "http://www.w3.org/2000/svg";
  const SPEAKING = 0.04; // audio level above which someone counts as talking

  // "Ada Lovelace" gives "AL"; "Guest 12" gives "G" (numbers make poor initials).
  function initials(name) {
    const words = String(name || "?").trim().split(/\s+/).filter(Boolean);
    const first = Array.from(words[0] || "?")[0] || "?";
    const lastWord = words.length > 1 ? Array.from(words[words.length - 1]) : [];
    const last = lastWord.length && /\p{L}/u.test(lastWord[0]) ? lastWord[0] : "";
    return (first + last).toUpperCase();
  }

  function colour(name) {
    let hash = 0;
    const text = String(name || "");
    for (let i = 0; i < text.length; i++) hash = (hash * 31 + text.charCodeAt(i)) >>> 0;
    return hash % PALETTE_SIZE;
  }

  // Only plain web addresses become links; anything else (javascript:, data:) stays text.
  function profileUrl(value) {
    if (typeof value !== "string" || !/^https?:\/\//i.test(value)) return "";
    try {
      const url = new URL(value);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : "";
    } catch (e) {
      return "";
    }
  }

  function nameElement(person, tag) {
    const el = document.createElement(tag || "span");
    el.className = "player-name";
    const href = profileUrl(person.profile);
    if (href) {
      const a = document.createElement("a");
      a.href = href;
      a.target = "_blank";
      a.rel = "noopener";
      a.textContent = person.name || "Someone";
      el.appendChild(a);
    } else {
      el.textContent = person.name || "Someone";
    }
    return el;
  }

  function mutedMark() {
    const mark = document.createElement("span");
    mark.className = "player-muted";
    mark.setAttribute("role", "img");
    mark.setAttribute("aria-label", "muted");
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const body = document.createElementNS(SVG, "rect");
    [["x", "9"], ["y", "3"], ["width", "6"], ["height", "11"], ["rx", "3"], ["fill", "currentColor"]]
      .forEach(function (pair) { body.setAttribute(pair[0], pair[1]); });
    const lines = document.createElementNS(SVG, "path");
    [["d", "M5 11a7 7 0 0 0 14 0M12 18v3M4 4l16 16"], ["fill", "none"], ["stroke", "currentColor"],
      ["stroke-width", "2.5"], ["stroke-linecap", "round"]]
      .forEach(function (pair) { lines.setAttribute(pair[0], pair[1]); });
    svg.append(body, lines);
    mark.appendChild(svg);
    return mark;
  }

  // The round face: initials, a muted mark, and room for floating reactions.
  function face(person) {
    const wrap = document.createElement("span");
    wrap.className = "player-face";
    const circle = document.createElement("span");
    circle.className = "player-avatar avatar-" + colour(person.name);
    circle.setAttribute("aria-hidden", "true");
    circle.textContent = initials(person.name);
    wrap.appendChild(circle);
    if (person.muted && person.role && person.role !== "listener") wrap.appendChild(mutedMark());
    return wrap;
  }

  // A person on stage or in the audience: face, name, and (on stage) the role.
  function tile(person, withRole) {
    const li = document.createElement("li");
    li.className = "player-person";
    if (person.peer_id) li.dataset.peerId = person.peer_id;
    li.append(face(person), nameElement(person));
    if (withRole) {
      const role = document.createElement("span");
      role.className = "player-role";
      role.textContent = ROLES[person.role] || "Speaker";
      li.appendChild(role);
    }
    return li;
  }

  // A row of the guests panel: small face, name and role, then the given buttons.
  function row(person, extra) {
    const li = document.createElement("li");
    li.className = "player-row";
    if (person.peer_id) li.dataset.peerId = person.peer_id;
    const who = document.createElement("span");
    who.className = "player-row-who";
    who.appendChild(nameElement(person));
    const role = document.createElement("span");
    role.className = "player-role";
    role.textContent = ROLES[person.role] || "";
    who.appendChild(role);
    if (person.muted && person.role !== "listener") {
      const muted = document.createElement("span");
      muted.className = "player-role";
      muted.textContent = "muted";
      who.appendChild(muted);
    }
    if (extra) who.appendChild(extra);
    li.append(face(Object.assign({}, person, { muted: false })), who);
    return li;
  }

  // Show a talker's level: a ring that grows with it, and is-speaking above a threshold.
  function setLevel(li, level) {
    const value = Math.max(0, Math.min(1, Number(level) || 0));
    const speaking = value > SPEAKING;
    li.classList.toggle("is-speaking", speaking);
    li.dataset.speaking = speaking ? "true" : "false";
    li.style.setProperty("--ring", (speaking ? Math.round(value * 6) : 0) + "px");
  }

  // An emoji rising from the person's face; it removes itself once it has faded.
  function floatReaction(li, emoji) {
    const wrap = li.querySelector(".player-face") || li;
    const bubble = document.createElement("span");
    bubble.className = "player-float";
    bubble.setAttribute("aria-hidden", "true");
    bubble.textContent = emoji;
    wrap.appendChild(bubble);
    li.dataset.reaction = emoji;
    setTimeout(function () {
      bubble.remove();
      if (!li.querySelector(".player-float")) delete li.dataset.reaction;
    }, 3200);
  }

  window.SpacesPeople = { initials: initials, colour: colour, profileUrl: profileUrl,
    tile: tile, row: row, setLevel: setLevel, floatReaction: floatReaction, ROLES: ROLES };
})();
