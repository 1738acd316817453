// Copy buttons of a space page's embed codes. The buttons are hidden in the HTML (there
// is nothing to press without this script) and shown here; a press copies the code with
// the Clipboard API, or, where that is missing or refused, selects it for Ctrl+C.
// Either way the outcome is said in the section's live region and on the button.
(function () {
  "use strict";

  var RESET_MS = 2000;

  function announce(button, message) {
    var section = button.closest("section");
    var status = section && section.querySelector("[data-embed-status]");
    if (status) {
      // Emptied first so the same words said twice are announced twice.
      status.textContent = "";
      setTimeout(function () { status.textContent = message; }, 50);
    }
  }

  function copied(button) {
    button.textContent = "Copied";
    announce(button, "Copied");
    clearTimeout(button.embedTimer);
    button.embedTimer = setTimeout(function () { button.textContent = "Copy"; }, RESET_MS);
  }

  function selectOnly(button, field) {
    field.focus();
    field.select();
    var done = false;
    try {
      done = document.execCommand("copy");
    } catch (error) { /* an older browser without it: the selection stays for Ctrl+C */ }
    if (done) copied(button);
    else announce(button, "The code is selected: press Ctrl+C (or ⌘C) to copy it");
  }

  function copy(button) {
    var field = document.getElementById(button.getAttribute("data-embed-copy"));
    if (!field) return;
    if (!navigator.clipboard || !window.isSecureContext) {
      selectOnly(button, field);
      return;
    }
    navigator.clipboard.writeText(field.value).then(
      function () { copied(button); },
      function () { selectOnly(button, field); }
    );
  }

  function showButtons(root) {
    root.querySelectorAll("button[data-embed-copy]").forEach(function (button) {
      button.hidden = false;
    });
  }

  // One listener for the whole document: pages swapped in by nav.js need no setup.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-embed-copy]");
    if (button) copy(button);
  });

  showButtons(document);
  document.addEventListener("spaces:navigated", function () {
    var main = document.getElementById("main");
    if (main) showButtons(main);
  });
})();
