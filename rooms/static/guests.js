// The guests panel the host and co-hosts run the room from: requests to speak with
// Approve and Decline, the speakers with their controls, and the listeners. Each
// button sends one protocol message (docs/rooms-protocol.md) through `send`.
// Needs people.js, loaded before it.
(function () {
  "use strict";

  const People = window.SpacesPeople;

  function actionButton(send, text, message, extraClass) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "button-small" + (extraClass ? " " + extraClass : "");
    b.textContent = text;
    b.addEventListener("click", function () { send(message); });
    return b;
  }

  // Fill a list and show its empty state ("No requests to speak") when there is nobody.
  function fill(panel, selector, items) {
    const list = panel.querySelector(selector);
    list.replaceChildren.apply(list, items);
    panel.querySelector(selector + "-empty").hidden = items.length > 0;
  }

  function invitedTag() {
    const tag = document.createElement("span");
    tag.className = "player-tag";
    tag.textContent = "invited";
    return tag;
  }

  // Draw the panel from a `state` message; `isHost`: only the host acts on co-hosts.
  function render(panel, msg, isHost, send) {
    const act = function (text, message, extraClass) {
      return actionButton(send, text, message, extraClass);
    };
    fill(panel, ".player-requests", (msg.requests || []).map(function (p) {
      const li = People.row(p, p.invited ? invitedTag() : null);
      li.append(act("Approve " + p.name, { type: "approve", peer_id: p.peer_id }, "button-primary"),
        act("Decline " + p.name, { type: "decline", peer_id: p.peer_id }));
      return li;
    }));
    fill(panel, ".player-speakers", (msg.speakers || []).filter(function (p) {
      return p.role === "speaker" || (isHost && p.role === "cohost");
    }).map(function (p) {
      const li = People.row(p);
      const who = { peer_id: p.peer_id };
      if (!p.muted) li.append(act("Mute " + p.name, Object.assign({ type: "mute", muted: true }, who)));
      li.append(act("Move " + p.name + " to listeners",
        Object.assign({ type: "set_role", role: "listener" }, who)));
      if (p.role === "speaker") {
        li.append(act("Make " + p.name + " co-host", Object.assign({ type: "set_role", role: "cohost" }, who)));
      }
      li.append(act("Remove " + p.name, Object.assign({ type: "remove" }, who), "button-danger"));
      return li;
    }));
    fill(panel, ".player-listener-list", (msg.listeners || []).map(function (p) {
      const li = People.row(p);
      li.append(act("Remove " + p.name, { type: "remove", peer_id: p.peer_id }, "button-danger"));
      return li;
    }));
  }

  window.SpacesGuests = { render: render };
})();
