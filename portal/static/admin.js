// Admin pages: before a destructive action (its button carries data-confirm), open the
// page's <dialog> naming what will happen; only "confirm" sends the form, marked
// confirmed=yes. Escape or Cancel closes it and nothing is sent. Without this script
// the server answers such a form with a page that asks the same question.
(function () {
  "use strict";

  let pending = null;  // {form, button} waiting for the admin's answer

  function fill(id, text) {
    const node = document.getElementById(id);
    if (node) node.textContent = text;
  }

  // "{domain}" in a question stands for what the admin typed in that field.
  function subject(text, form) {
    return text.replace(/\{([a-z_]+)\}/g, function (whole, name) {
      const input = form.elements.namedItem(name);
      return input && "value" in input && input.value.trim() ? input.value.trim() : "this";
    });
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    const button = event.submitter;
    if (!(form instanceof HTMLFormElement) || !button || !button.dataset.confirm) return;
    if (form.querySelector("input[name=confirmed]")) return;  // the dialog said yes
    const dialog = document.getElementById("confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") return;  // the server asks
    event.preventDefault();
    pending = { form: form, button: button };
    const reason = form.elements.namedItem("reason");
    fill("confirm-question", subject(button.dataset.confirm, form));
    fill("confirm-consequence", button.dataset.consequence || "");
    fill("confirm-reason", reason && "value" in reason ? reason.value.trim() : "");
    fill("confirm-go", button.dataset.confirmButton || "Confirm");
    dialog.returnValue = "";
    dialog.showModal();
  }, true);

  document.addEventListener("close", function (event) {
    const dialog = event.target;
    if (!(dialog instanceof HTMLDialogElement) || dialog.id !== "confirm-dialog") return;
    const asked = pending;
    pending = null;
    if (!asked) return;
    if (dialog.returnValue !== "confirm") {
      asked.button.focus();  // back where the admin was; nothing was sent
      return;
    }
    const yes = document.createElement("input");
    yes.type = "hidden";
    yes.name = "confirmed";
    yes.value = "yes";
    asked.form.appendChild(yes);
    asked.form.requestSubmit(asked.button);
  }, true);

  // Coming back with the history buttons shows the page as it was left: unconfirmed.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("input[name=confirmed]").forEach(function (input) {
      if (!input.closest(".confirm-page")) input.remove();
    });
  });
})();
