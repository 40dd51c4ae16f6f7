// Progressive enhancement only: without this script every case and table is shown as is.
(function () {
  "use strict";

  // Contents: highlight the section or subsection being read.
  var links = {};
  document.querySelectorAll("nav.toc a[href^='#']").forEach(function (a) {
    links[a.getAttribute("href").slice(1)] = a;
  });
  var targets = Object.keys(links).map(function (id) { return document.getElementById(id); })
    .filter(Boolean);
  function highlight() {
    var current = null;
    targets.forEach(function (el) {
      if (el.getBoundingClientRect().top < 80) { current = el; }
    });
    document.querySelectorAll("nav.toc a.current").forEach(function (a) { a.classList.remove("current"); });
    if (current) {
      var a = links[current.id];
      a.classList.add("current");
      var section = current.closest("section");
      if (section && links[section.id] && section.id !== current.id) { links[section.id].classList.add("current"); }
    }
  }
  window.addEventListener("scroll", highlight, { passive: true });
  highlight();

  // Sortable tables: click a header; cells may carry the raw value in data-sort.
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var body = table.tBodies[0];
    if (!body || !table.tHead) { return; }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      th.tabIndex = 0;
      th.title = "sort";
      function sort() {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        function key(row) {
          var cell = row.cells[column];
          var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
          var number = parseFloat(String(raw).replace(/[,%+]/g, ""));
          return isNaN(number) ? String(raw).trim().toLowerCase() : number;
        }
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          var order = x < y ? -1 : x > y ? 1 : 0;
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
    });
  });

  // Case explorer: filter by true class, predicted class and group; toggle methods.
  var form = document.getElementById("explorer-controls");
  var cards = Array.prototype.slice.call(document.querySelectorAll("#cases-grid article.case"));
  var count = document.getElementById("explorer-count");
  function apply() {
    var want = { true: form.elements["true"].value, pred: form.elements.pred.value,
                 group: form.elements.group.value };
    var shown = 0;
    cards.forEach(function (card) {
      var ok = Object.keys(want).every(function (k) { return !want[k] || card.dataset[k] === want[k]; });
      card.hidden = !ok;
      if (ok) { shown += 1; }
    });
    var hidden = {};
    form.querySelectorAll("input[name=view]").forEach(function (box) { hidden[box.value] = !box.checked; });
    document.querySelectorAll("[data-view]").forEach(function (el) {
      if (el.dataset.view in hidden) { el.hidden = hidden[el.dataset.view]; }
    });
    count.textContent = shown + " of " + cards.length + " cases";
  }
  if (form) {
    form.hidden = false;
    form.addEventListener("change", apply);
    form.addEventListener("reset", function () { setTimeout(apply, 0); });
    apply();
    // Evidence links under a finding filter the explorer to the class it names.
    document.querySelectorAll("a[data-filter-pred]").forEach(function (a) {
      a.addEventListener("click", function () {
        form.reset();
        form.elements.pred.value = a.dataset.filterPred;
        apply();
      });
    });
  }

  // Enlarge: a click on an image or map opens it large with the case's probabilities.
  var dialog = document.getElementById("case-zoom");
  if (dialog && typeof dialog.showModal === "function") {
    var body = dialog.querySelector(".zoom-body");
    cards.forEach(function (card) {
      card.querySelectorAll(".view img").forEach(function (img) {
        img.addEventListener("click", function () {
          body.textContent = "";
          var figure = img.closest("figure").cloneNode(true);
          figure.className = "zoom-view";
          body.appendChild(figure);
          body.appendChild(card.querySelector(".case-info").cloneNode(true));
          dialog.showModal();
        });
      });
    });
    dialog.addEventListener("click", function (e) { if (e.target === dialog) { dialog.close(); } });
  }
})();
