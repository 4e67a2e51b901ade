/* The desk's registration screen (admin/appointments/appointment/change_form.html), improved
   step by step; without this file the screen works with a "Show free slots" button.
   - 事项: a type-to-search list over the matter <select> (↓ ↑ to move, Enter to choose).
   - Choosing a matter fetches its windows and free slots into the page: nothing typed is lost.
   - The 窗口 list shows that window's slots; picking a slot fills the window and the time.
   - In the slots, ← → move through the times (the radio group's own keys), ↑ ↓ change day. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    var screen = document.getElementById("register-screen");
    if (!screen) return;
    var picker = document.getElementById("slot-picker");
    var select = document.getElementById("id_matter");
    var refresh = document.getElementById("show-slots");
    // The first submit button is the one Enter presses: Save, once "Show free slots" is gone.
    if (refresh) refresh.remove();

    // --- the window list shows its window's slots; a slot fills window and time -----------
    function showWindow() {
      var windowSelect = document.getElementById("id_window");
      var chosen = windowSelect ? windowSelect.value : "";
      picker.querySelectorAll(".slot-window").forEach(function (group) {
        var on = group.dataset.window === chosen;
        group.hidden = !on;
        if (!on) {
          group.querySelectorAll("input:checked").forEach(function (r) { r.checked = false; });
        }
      });
    }
    function fillTime(radio) {
      var parts = radio.value.split("|");
      var start = parts[1] || "";
      document.getElementById("id_start_0").value = start.slice(0, 10);
      document.getElementById("id_start_1").value = start.slice(11, 16);
      var windowSelect = document.getElementById("id_window");
      if (windowSelect && windowSelect.value !== parts[0]) {
        windowSelect.value = parts[0];
        showWindow();
      }
    }
    screen.addEventListener("change", function (event) {
      if (event.target.id === "id_window") showWindow();
      else if (event.target.name === "slot") fillTime(event.target);
    });
    // ↑ ↓ move to the nearest time of the day before or after.
    picker.addEventListener("keydown", function (event) {
      var radio = event.target;
      if (radio.name !== "slot" || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
      var day = radio.closest(".day");
      var other = event.key === "ArrowUp" ? day.previousElementSibling : day.nextElementSibling;
      while (other && !other.classList.contains("day")) {
        other = event.key === "ArrowUp" ? other.previousElementSibling : other.nextElementSibling;
      }
      event.preventDefault();
      if (!other) return;
      var here = Array.prototype.indexOf.call(day.querySelectorAll("input"), radio);
      var there = other.querySelectorAll("input");
      var target = there[Math.min(here, there.length - 1)];
      target.checked = true;
      target.focus();
      fillTime(target);
    });
    ["id_start_0", "id_start_1"].forEach(function (id) {
      var input = document.getElementById(id);
      // A time typed by hand replaces the picked slot.
      input.addEventListener("input", function () {
        picker.querySelectorAll("input[name=slot]:checked").forEach(function (r) { r.checked = false; });
      });
    });
    showWindow();

    // --- choosing a matter loads its windows and slots ------------------------------------
    function loadSlots() {
      var windowSelect = document.getElementById("id_window");
      var params = new URLSearchParams({ matter: select.value, _slots: "1" });
      if (windowSelect && windowSelect.value) params.set("window", windowSelect.value);
      picker.setAttribute("aria-busy", "true");
      return fetch(picker.dataset.url + "?" + params.toString(), { credentials: "same-origin" })
        .then(function (response) { return response.text(); })
        .then(function (html) {
          // Tab may have moved into the old window list meanwhile: keep the keyboard there.
          var windowFocused = document.activeElement && document.activeElement.id === "id_window";
          var fresh = new DOMParser().parseFromString(html, "text/html");
          ["window-field", "slot-box"].forEach(function (id) {
            var part = fresh.getElementById(id);
            if (part) document.getElementById(id).replaceWith(document.importNode(part, true));
          });
          picker.removeAttribute("aria-busy");
          showWindow();
          if (windowFocused || document.activeElement === document.body) {
            document.getElementById("id_window").focus();
          }
        });
    }
    select.addEventListener("change", loadSlots);

    // --- 事项: type to search ---------------------------------------------------------------
    var label = document.querySelector("label[for=id_matter]");
    var box = document.createElement("div");
    box.className = "combobox";
    var input = document.createElement("input");
    input.type = "text";
    input.id = "matter-search";
    input.autocomplete = "off";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", "matter-options");
    input.placeholder = select.dataset.placeholder || "";
    var list = document.createElement("ul");
    list.id = "matter-options";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    box.appendChild(input);
    box.appendChild(list);
    select.parentNode.insertBefore(box, select);
    select.hidden = true;
    select.tabIndex = -1;
    label.htmlFor = "matter-search";
    var options = Array.prototype.filter.call(select.options, function (o) { return o.value; });
    if (select.value) input.value = select.options[select.selectedIndex].text;
    var active = -1;

    function shown() { return Array.prototype.slice.call(list.children); }
    function setActive(index) {
      var items = shown();
      active = Math.max(0, Math.min(index, items.length - 1));
      items.forEach(function (li, i) { li.setAttribute("aria-selected", i === active ? "true" : "false"); });
      if (items[active]) {
        input.setAttribute("aria-activedescendant", items[active].id);
        items[active].scrollIntoView({ block: "nearest" });
      }
    }
    function open() {
      var words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      list.innerHTML = "";
      options.forEach(function (option) {
        var text = option.text.toLowerCase();
        if (!words.every(function (w) { return text.indexOf(w) >= 0; })) return;
        var li = document.createElement("li");
        li.id = "matter-option-" + option.value;
        li.setAttribute("role", "option");
        li.dataset.value = option.value;
        li.textContent = option.text;
        list.appendChild(li);
      });
      list.hidden = list.children.length === 0;
      input.setAttribute("aria-expanded", list.hidden ? "false" : "true");
      setActive(0);
    }
    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
    function choose(li) {
      close();
      if (!li) return;
      input.value = li.textContent;
      if (select.value !== li.dataset.value) {
        select.value = li.dataset.value;
        select.dispatchEvent(new Event("change"));
      }
    }
    input.addEventListener("input", open);
    input.addEventListener("focus", function () { input.select(); });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (list.hidden) open();
        else setActive(active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Enter") {
        if (!list.hidden) {
          event.preventDefault(); // choose, do not submit
          choose(shown()[active]);
        }
      } else if (event.key === "Escape") {
        close();
      } else if (event.key === "Tab" && !list.hidden && input.value.trim()) {
        choose(shown()[active]);
      }
    });
    list.addEventListener("mousedown", function (event) {
      event.preventDefault();
      choose(event.target.closest("li"));
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  });
})();
