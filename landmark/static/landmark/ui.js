/* Landmark's small page helpers, no build step (loaded by base.html, deferred):
 *
 * - The theme: light, dark or the system's. The choice lives in the "theme" cookie,
 *   which the server reads to put data-theme on <html> before the first paint (no
 *   flash); the radio buttons in the Settings menu set it and apply it at once.
 * - Keyboard shortcuts with a help sheet ("?"): "g f" My focus, "g o" OKRs, "g k" KPIs,
 *   "/" the search box. Never while typing in a field. docs/interface.md. */
(function () {
  "use strict";

  var THEMES = ["light", "dark", "system"];
  var YEAR = 60 * 60 * 24 * 365;

  function currentTheme() {
    var found = document.cookie.match(/(?:^|;\s*)theme=(light|dark|system)(?:;|$)/);
    return found ? found[1] : "system";
  }

  function applyTheme(theme) {
    var root = document.documentElement;
    if (theme === "light" || theme === "dark") root.setAttribute("data-theme", theme);
    else root.removeAttribute("data-theme");
    var secure = location.protocol === "https:" ? "; secure" : "";
    document.cookie = "theme=" + theme + "; path=/; max-age=" + YEAR + "; samesite=lax" + secure;
    document.dispatchEvent(new CustomEvent("landmark:theme", { detail: theme }));
  }

  function initThemeChoice() {
    document.querySelectorAll(".theme-choice").forEach(function (box) {
      var theme = currentTheme();
      box.querySelectorAll('input[name="theme"]').forEach(function (input) {
        input.checked = input.value === theme;
        input.addEventListener("change", function () {
          if (input.checked && THEMES.indexOf(input.value) >= 0) applyTheme(input.value);
        });
      });
      box.hidden = false;
    });
  }

  // Shortcuts ------------------------------------------------------------------

  var GO = [
    { key: "f", label: "My focus", path: "/" },
    { key: "o", label: "OKRs", path: "/okrs/" },
    { key: "k", label: "KPIs", path: "/kpis/" }
  ];
  var pendingG = 0;
  var sheet = null;

  function typing(target) {
    if (!target || !(target instanceof Element)) return false;
    if (target.isContentEditable) return true;
    var tag = target.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag !== "INPUT") return false;
    var type = (target.getAttribute("type") || "text").toLowerCase();
    return ["checkbox", "radio", "button", "submit", "reset", "range", "color", "file"].indexOf(type) < 0;
  }

  function signedIn() {
    return document.querySelector(".topbar nav") !== null;
  }

  function row(keys, what) {
    var tr = document.createElement("tr");
    var th = document.createElement("th");
    th.scope = "row";
    keys.forEach(function (k, i) {
      if (i) th.appendChild(document.createTextNode(" then "));
      var kbd = document.createElement("kbd");
      kbd.textContent = k;
      th.appendChild(kbd);
    });
    var td = document.createElement("td");
    td.textContent = what;
    tr.appendChild(th);
    tr.appendChild(td);
    return tr;
  }

  function buildSheet() {
    var dialog = document.createElement("dialog");
    dialog.className = "shortcuts";
    dialog.setAttribute("aria-labelledby", "shortcuts-title");
    var head = document.createElement("div");
    head.className = "shortcuts-head";
    var h2 = document.createElement("h2");
    h2.id = "shortcuts-title";
    h2.textContent = "Keyboard shortcuts";
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "Close";
    close.addEventListener("click", function () { dialog.close(); });
    head.appendChild(h2);
    head.appendChild(close);
    var table = document.createElement("table");
    var body = document.createElement("tbody");
    if (signedIn()) {
      GO.forEach(function (g) { body.appendChild(row(["g", g.key], "Go to " + g.label)); });
    }
    body.appendChild(row(["/"], "Search (when the page has a search box)"));
    body.appendChild(row(["?"], "Show this help"));
    body.appendChild(row(["Esc"], "Close this help or a menu"));
    table.appendChild(body);
    var note = document.createElement("p");
    note.className = "meta";
    note.textContent = "Shortcuts are off while you type in a field.";
    dialog.appendChild(head);
    dialog.appendChild(table);
    dialog.appendChild(note);
    document.body.appendChild(dialog);
    return dialog;
  }

  function openSheet() {
    if (!sheet) sheet = buildSheet();
    if (!sheet.open) sheet.showModal();
  }

  function focusSearch() {
    var box = document.getElementById("search");
    if (!box) return false;
    var closed = box.closest("details:not([open])");
    if (closed) closed.open = true;
    box.focus();
    if (typeof box.select === "function") box.select();
    return true;
  }

  function closeMenus() {
    document.querySelectorAll(".topbar details[open]").forEach(function (d) { d.open = false; });
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape") { closeMenus(); return; }
    if (typing(event.target)) return;
    if (sheet && sheet.open) return;
    var key = event.key;
    if (pendingG && Date.now() - pendingG < 1500) {
      pendingG = 0;
      var target = GO.filter(function (g) { return g.key === key.toLowerCase(); })[0];
      if (target && signedIn()) {
        event.preventDefault();
        window.location.assign(target.path);
      }
      return;
    }
    pendingG = 0;
    if (key === "?") {
      event.preventDefault();
      openSheet();
    } else if (key === "/") {
      if (focusSearch()) event.preventDefault();
    } else if (key === "g" && signedIn()) {
      pendingG = Date.now();
    }
  });

  // A table that scrolls sideways inside its box (on a phone) can be reached and
  // scrolled with the keyboard: it takes focus when it actually scrolls.
  function scrollableTables() {
    document.querySelectorAll("table.table, .table-wrap").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1 && getComputedStyle(box).overflowX !== "visible";
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.dataset.scrollFocus = "1";
      } else if (!scrolls && box.dataset.scrollFocus) {
        box.removeAttribute("tabindex");
        delete box.dataset.scrollFocus;
      }
    });
  }

  function init() {
    initThemeChoice();
    scrollableTables();
  }

  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(scrollableTables, 150);
  });
  document.addEventListener("htmx:afterSettle", scrollableTables);

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
