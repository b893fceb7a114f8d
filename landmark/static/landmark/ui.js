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

/* The KPI picker (templates/kpis/kpi_picker.html) as an ARIA combobox, once JavaScript
 * runs: the search box is the combobox, the list of KPIs its listbox (several may be
 * chosen on an objective, one on a key result). Typing filters (htmx); Down and Up move
 * through the options (aria-activedescendant: the focus stays in the box), Enter picks
 * the active one (or, with none active, saves the form as before), Escape closes the
 * list, Down or typing opens it again. The checkboxes or radio buttons stay in the
 * form, hidden, and carry the choice; a line under the box says what is chosen.
 * Without JavaScript the plain checkboxes and the Find button work as they did. */
(function () {
  "use strict";

  function parts(picker) {
    return {
      input: picker.querySelector(".picker-search input"),
      list: picker.querySelector(".picker-options"),
      notes: picker.querySelector(".picker-notes"),
      chosen: picker.querySelector(".picker-chosen"),
      multiple: picker.getAttribute("data-multiple") === "true",
    };
  }

  function options(picker) {
    return Array.prototype.slice.call(picker.querySelectorAll(".picker-options [role=option]"));
  }

  function sync(picker) {
    var p = parts(picker);
    var names = [];
    options(picker).forEach(function (opt) {
      var box = opt.querySelector("input");
      opt.setAttribute("aria-selected", box.checked ? "true" : "false");
      if (box.checked && box.value) names.push(opt.querySelector("span").textContent);
    });
    p.chosen.textContent = names.length ? "Chosen: " + names.join(", ") : "No KPI chosen";
  }

  function enhance(picker) {
    var p = parts(picker);
    if (!p.input || !p.list || !p.notes || !p.chosen) return;
    p.input.setAttribute("role", "combobox");
    p.input.setAttribute("aria-autocomplete", "list");
    p.input.setAttribute("aria-controls", p.list.id);
    p.input.setAttribute("aria-describedby", p.chosen.id);
    p.input.setAttribute("aria-expanded", p.list.hidden ? "false" : "true");
    p.list.setAttribute("role", "listbox");
    p.list.setAttribute("aria-label", "KPIs");
    p.list.removeAttribute("aria-live");
    if (p.multiple) p.list.setAttribute("aria-multiselectable", "true");
    p.list.querySelectorAll("label.pick").forEach(function (opt) {
      opt.setAttribute("role", "option");
      var box = opt.querySelector("input");
      box.hidden = true; // still sent with the form
      box.tabIndex = -1;
    });
    // A listbox holds options only: its notes ("More KPIs match…") go beside it.
    p.notes.textContent = "";
    p.list.querySelectorAll(".picker-note").forEach(function (note) { p.notes.appendChild(note); });
    p.input.removeAttribute("aria-activedescendant");
    p.chosen.hidden = false;
    picker.classList.add("enhanced");
    sync(picker);
  }

  function enhanceAll() {
    document.querySelectorAll(".kpi-picker").forEach(enhance);
  }

  function active(picker) {
    return picker.querySelector(".picker-options [role=option].active");
  }

  function setActive(picker, opt) {
    var p = parts(picker);
    options(picker).forEach(function (o) { o.classList.toggle("active", o === opt); });
    if (opt) {
      p.input.setAttribute("aria-activedescendant", opt.id);
      opt.scrollIntoView({ block: "nearest" });
    } else {
      p.input.removeAttribute("aria-activedescendant");
    }
  }

  function open(picker) {
    var p = parts(picker);
    p.list.hidden = false;
    p.input.setAttribute("aria-expanded", "true");
  }

  function close(picker) {
    var p = parts(picker);
    setActive(picker, null);
    p.list.hidden = true;
    p.input.setAttribute("aria-expanded", "false");
  }

  function move(picker, step) {
    var all = options(picker);
    if (!all.length) return;
    var index = all.indexOf(active(picker));
    var next = index < 0 ? (step > 0 ? 0 : all.length - 1) : (index + step + all.length) % all.length;
    setActive(picker, all[next]);
  }

  function choose(picker, opt) {
    var box = opt.querySelector("input");
    box.checked = box.type === "checkbox" ? !box.checked : true;
    box.dispatchEvent(new Event("change", { bubbles: true }));
    sync(picker);
    if (!parts(picker).multiple) close(picker);
  }

  // Capture: before the page's shortcuts (ui.js closes menus on Escape).
  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches(".kpi-picker.enhanced input[role=combobox]")) return;
    var picker = input.closest(".kpi-picker");
    var expanded = input.getAttribute("aria-expanded") === "true";
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!expanded) open(picker);
      if (!event.altKey) move(picker, event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Enter") {
      var opt = expanded && active(picker);
      if (opt) {
        event.preventDefault();
        choose(picker, opt);
      }
    } else if (event.key === "Escape" && expanded) {
      event.preventDefault();
      event.stopPropagation();
      close(picker);
    }
  }, true);

  document.addEventListener("input", function (event) {
    var picker = event.target.closest && event.target.closest(".kpi-picker.enhanced");
    if (picker && event.target.matches("input[role=combobox]")) open(picker);
  });

  document.addEventListener("click", function (event) {
    var picker = event.target.closest && event.target.closest(".kpi-picker.enhanced");
    if (!picker) return;
    var opt = event.target.closest("[role=option]");
    if (opt) {
      event.preventDefault();
      choose(picker, opt);
      setActive(picker, opt);
    } else if (event.target.matches("input[role=combobox]")) {
      open(picker);
    }
  });

  document.addEventListener("htmx:afterSettle", enhanceAll);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", enhanceAll);
  else enhanceAll();
})();
