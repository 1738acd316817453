// The header's menu on narrow screens: a disclosure button that shows and hides the
// site and account links. Escape or a click elsewhere closes it; so does moving to
// another page. On wide screens the links sit in the header and the button is hidden.
(function () {
  "use strict";

  const button = document.querySelector(".menu-button[aria-controls]");
  const menu = button && document.getElementById(button.getAttribute("aria-controls"));
  if (!button || !menu) return;

  function isOpen() {
    return button.getAttribute("aria-expanded") === "true";
  }

  function setOpen(open, returnFocus) {
    button.setAttribute("aria-expanded", String(open));
    menu.classList.toggle("is-open", open);
    if (!open && returnFocus) button.focus();
  }

  button.hidden = false;
  button.addEventListener("click", function () { setOpen(!isOpen(), false); });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !isOpen()) return;
    // Only when the menu is on screen: on wide screens it is just the header.
    if (button.offsetParent === null) return;
    event.preventDefault();
    setOpen(false, menu.contains(document.activeElement) || document.activeElement === button);
  });

  document.addEventListener("click", function (event) {
    if (!isOpen()) return;
    if (button.contains(event.target)) return;
    // A link inside the menu goes somewhere else: close behind it.
    if (!menu.contains(event.target) || event.target.closest("a")) setOpen(false, false);
  });

  // Tabbing past the last link leaves the menu: fold it away behind the person.
  menu.addEventListener("focusout", function (event) {
    const next = event.relatedTarget;
    if (isOpen() && next && !menu.contains(next) && next !== button) setOpen(false, false);
  });

  document.addEventListener("spaces:navigated", function () { setOpen(false, false); });
})();
