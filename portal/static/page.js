// Small enhancements for every page: live relative times, copy and share buttons,
// and sort menus that apply on change. Every page reads fine without this script.
(function () {
  "use strict";

  function ago(date) {
    var seconds = Math.round((Date.now() - date.getTime()) / 1000);
    var future = seconds < 0;
    seconds = Math.abs(seconds);
    if (seconds < 5) { return "just now"; }
    var amount;
    if (seconds < 60) { amount = seconds + " s"; }
    else if (seconds < 3600) { amount = Math.floor(seconds / 60) + " min"; }
    else if (seconds < 86400) { amount = Math.floor(seconds / 3600) + " h"; }
    else { amount = Math.floor(seconds / 86400) + " d"; }
    return future ? "in " + amount : amount + " ago";
  }

  function refreshTimes() {
    document.querySelectorAll("time[data-ago]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) { return; }
      el.textContent = (el.getAttribute("data-prefix") || "") + ago(date);
      el.title = date.toLocaleString();
      // A scheduled start that has passed: the space is late, not "starting 45 s ago".
      var starts = el.closest("[data-starts]");
      if (starts && date.getTime() < Date.now()) {
        starts.removeAttribute("data-starts");
        starts.replaceChildren("The host has not started yet (it was due ", el, ")");
      }
    });
  }

  function announce(message) {
    var status = document.querySelector("[data-copy-status]");
    if (status) { status.textContent = message; }
  }

  function setupCopy(button) {
    var target = document.querySelector(button.getAttribute("data-copy"));
    if (!target || !navigator.clipboard) { return; }
    button.hidden = false;
    var label = button.textContent;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(target.value).then(function () {
        button.textContent = "Copied";
        announce("Copied to the clipboard");
        setTimeout(function () { button.textContent = label; }, 2000);
      }, function () {
        target.select();
        announce("Press Ctrl+C to copy");
      });
    });
  }

  function setupShare(button) {
    if (!navigator.share) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      // The URL is already at the end of the text; passing it twice duplicates it in posts.
      navigator.share({
        title: button.getAttribute("data-share-title"),
        text: button.getAttribute("data-share-text")
      }).catch(function () { /* the person closed the share sheet */ });
    });
  }

  function enhance(root) {
    root.querySelectorAll("[data-copy]").forEach(setupCopy);
    root.querySelectorAll("[data-share]").forEach(setupShare);
    root.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      // requestSubmit fires "submit", so nav.js can keep the player going.
      select.addEventListener("change", function () {
        if (select.form.requestSubmit) select.form.requestSubmit(); else select.form.submit();
      });
    });
  }

  refreshTimes();
  setInterval(refreshTimes, 5000);
  enhance(document);
  // nav.js swapped in a new <main>: enhance what it brought.
  document.addEventListener("spaces:navigated", function () {
    refreshTimes();
    enhance(document.getElementById("main"));
  });
})();
