// Typeahead for the search box: an ARIA 1.2 combobox with a listbox of suggestions.
// The form works without this script; it only adds suggestions while typing.
(function () {
  "use strict";

  var DELAY_MS = 150;

  function setup(input) {
    var url = input.getAttribute("data-suggest-url");
    if (!url || !window.fetch) { return; }
    var listId = input.id + "-suggestions";
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggestions");
    list.hidden = true;
    input.parentNode.appendChild(list);

    var status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    input.parentNode.appendChild(status);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);

    var timer = null;
    var controller = null;
    var active = -1;
    var items = [];

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      items.forEach(function (li, i) { li.setAttribute("aria-selected", String(i === index)); });
      active = index;
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function choose(index) {
      input.value = items[index].textContent;
      close();
      // requestSubmit fires "submit", so nav.js can keep the player going.
      if (input.form.requestSubmit) input.form.requestSubmit(); else input.form.submit();
    }

    function show(suggestions) {
      list.textContent = "";
      items = suggestions.map(function (text, i) {
        var li = document.createElement("li");
        li.id = listId + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.textContent = text;  // text only: suggestions are crawled, untrusted strings
        // mousedown, not click: the input's blur would close the list first.
        li.addEventListener("mousedown", function (event) { event.preventDefault(); choose(i); });
        list.appendChild(li);
        return li;
      });
      active = -1;
      // A late answer after the person left the field (or submitted) opens nothing.
      if (items.length && document.activeElement === input) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        status.textContent = items.length + (items.length === 1 ? " suggestion" : " suggestions") +
          ", use up and down arrows to choose";
      } else {
        close();
        status.textContent = "";
      }
    }

    function fetchSuggestions() {
      var q = input.value.trim();
      if (controller) { controller.abort(); }
      if (!q) { show([]); return; }
      controller = new AbortController();
      fetch(url + "?q=" + encodeURIComponent(q), {
        signal: controller.signal,
        headers: { "Accept": "application/json" }
      })
        .then(function (response) { return response.ok ? response.json() : { suggestions: [] }; })
        .then(function (data) { show((data.suggestions || []).slice(0, 8)); })
        .catch(function () { /* aborted or offline: the plain form still works */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(fetchSuggestions, DELAY_MS);
    });

    input.addEventListener("keydown", function (event) {
      var open = !list.hidden && items.length > 0;
      if (event.key === "ArrowDown") {
        if (!open) { fetchSuggestions(); return; }
        event.preventDefault();
        highlight((active + 1) % items.length);
      } else if (event.key === "ArrowUp" && open) {
        event.preventDefault();
        highlight(active <= 0 ? items.length - 1 : active - 1);
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault();
        choose(active);
      } else if (event.key === "Escape") {
        if (open) { event.preventDefault(); close(); } else { input.value = ""; }
      } else if (event.key === "Tab") {
        close();
      }
    });

    input.addEventListener("blur", close);
    // The search is on its way: suggestions still pending would cover the results.
    if (input.form) {
      input.form.addEventListener("submit", function () {
        clearTimeout(timer);
        if (controller) { controller.abort(); }
        close();
      });
    }
  }

  document.querySelectorAll("input[data-suggest-url]").forEach(setup);
})();

// The search page's filters: on narrow screens a drawer under a "Filters" button, so
// the results come first. Without this script the filters follow the results.
(function () {
  "use strict";

  function toggleFor(element) {
    return element && element.closest("[data-search-layout]") &&
      element.closest("[data-search-layout]").querySelector(".filters-toggle");
  }

  function setOpen(button, open) {
    const panel = document.getElementById(button.getAttribute("aria-controls"));
    button.setAttribute("aria-expanded", String(open));
    if (panel) panel.classList.toggle("is-open", open);
  }

  function setup() {
    document.querySelectorAll("[data-search-layout]").forEach(function (layout) {
      const button = layout.querySelector(".filters-toggle");
      if (!button || layout.classList.contains("has-drawer")) return;
      layout.classList.add("has-drawer");
      button.hidden = false;
    });
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest && event.target.closest(".filters-toggle");
    if (!button) return;
    setOpen(button, button.getAttribute("aria-expanded") !== "true");
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented) return;
    const panel = event.target.closest && event.target.closest(".filters.is-open");
    const button = toggleFor(panel);
    if (!button || button.offsetParent === null) return;
    event.preventDefault();
    setOpen(button, false);
    button.focus();
  });

  setup();
  // nav.js swapped in a new page: it may be a search page.
  document.addEventListener("spaces:navigated", setup);
})();
