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
