// Keyboard shortcuts of the screening page. Every action is a button or link on the page;
// a key only presses it, so the page works the same with a mouse and without JavaScript.
(function () {
  "use strict";
  var busy = false;

  function byId(id) { return document.getElementById(id); }

  function press(id) {
    var el = byId(id);
    if (!el || busy) return false;
    busy = true;  // one decision per key press, even when keys repeat
    el.click();
    return true;
  }

  function submitForm(id) {
    var form = byId(id);
    if (!form || busy) return false;
    busy = true;
    form.requestSubmit ? form.requestSubmit() : form.submit();
    return true;
  }

  function follow(id) {
    var link = byId(id);
    if (!link || busy) return false;
    busy = true;
    window.location.assign(link.href);
    return true;
  }

  function toggle(id) {
    var el = byId(id);
    if (el) el.hidden = !el.hidden;
  }

  function reasonChosen() {
    var reason = byId("reason");
    return reason && reason.value.trim() !== "";
  }

  function exclude() {
    var screen = byId("screen");
    var required = screen && screen.getAttribute("data-reason-required") === "true";
    if (required && !reasonChosen()) {
      var warn = byId("reason-needed");
      if (warn) warn.hidden = false;
      var reason = byId("reason");
      if (reason) reason.focus();
      return;
    }
    press("decide-exclude");
  }

  function pickReason(n) {
    var reason = byId("reason");
    if (!reason || reason.tagName !== "SELECT") return;
    if (n < reason.options.length) {
      reason.selectedIndex = n;
      var warn = byId("reason-needed");
      if (warn) warn.hidden = true;
    }
  }

  var help = byId("help-toggle");
  if (help) help.addEventListener("click", function () { toggle("help"); });
  var criteria = byId("criteria-toggle");
  if (criteria) criteria.addEventListener("click", function () { toggle("criteria"); });

  // Reset the guard when the page is shown again from the back/forward cache.
  window.addEventListener("pageshow", function () { busy = false; });

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
    var t = ev.target;
    var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" ||
                        t.tagName === "SELECT" || t.isContentEditable);
    if (typing) {
      if (ev.key === "Escape") { t.blur(); ev.preventDefault(); }
      return;
    }
    var key = ev.key;
    if (key >= "1" && key <= "9") { pickReason(parseInt(key, 10)); ev.preventDefault(); return; }
    switch (key) {
      case "i": press("decide-include"); break;
      case "m": press("decide-maybe"); break;
      case "e": exclude(); break;
      case "s": submitForm("skip-form"); break;
      case "u": submitForm("undo-form"); break;
      case "n": follow("next-link"); break;
      case "p": follow("prev-link"); break;
      case "c": toggle("criteria"); break;
      case "t": var note = byId("note"); if (note) note.focus(); break;
      case "?": toggle("help"); break;
      default: return;
    }
    ev.preventDefault();
  });
})();
