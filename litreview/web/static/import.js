// Polls an import's status while it runs; reloads the page (which shows the report) when done.
(function () {
  "use strict";
  var box = document.getElementById("import-job");
  if (!box) return;
  var state = box.getAttribute("data-state");
  if (state !== "queued" && state !== "running") return;
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("import-progress");
  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (s) {
        if (bar) {
          if (s.total) { bar.max = s.total; bar.value = s.done; } else { bar.removeAttribute("value"); }
        }
        var stage = document.getElementById("import-stage");
        if (stage && s.stage) stage.textContent = s.stage + (s.total ? " " + s.done + " of " + s.total : "");
        if (s.state === "queued" || s.state === "running") {
          setTimeout(poll, 500);
        } else {
          window.location.reload();
        }
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 300);
})();

// The import form: one "database or source" box per chosen file, in the files' order
// (the server pairs them by position); without this script, one source for all files.
(function () {
  "use strict";
  var input = document.getElementById("import-files");
  var table = document.getElementById("file-sources");
  if (!input || !table) return;
  var body = table.querySelector("tbody");
  function rows() {
    while (body.firstChild) body.removeChild(body.firstChild);
    var files = input.files || [];
    for (var i = 0; i < files.length; i++) {
      var tr = document.createElement("tr");
      var name = document.createElement("td");
      name.textContent = files[i].name;  // text, never markup
      var cell = document.createElement("td");
      var box = document.createElement("input");
      box.name = "file_source";
      box.maxLength = 500;
      box.setAttribute("list", "known-sources");
      box.setAttribute("aria-label", "Database or source of " + files[i].name);
      box.placeholder = "e.g. Scopus";
      cell.appendChild(box);
      tr.appendChild(name);
      tr.appendChild(cell);
      body.appendChild(tr);
    }
    table.hidden = files.length === 0;
  }
  input.addEventListener("change", rows);
  rows();
})();
