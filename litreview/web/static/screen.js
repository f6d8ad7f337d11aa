// Keyboard shortcuts of the screening page. Every action is a button, link or field on
// the page; a key only presses it, so the page works the same with a mouse and without
// JavaScript. Keys never fire while typing in a text field (Esc leaves it).
//
// Excluding where a reason is required: `e` with no reason chosen moves the focus to
// the reasons (a radio group, or a free-text field when the review lists none); there a
// number key picks that reason and excludes, the arrows move and Enter excludes with the
// one chosen, `t` goes to the note, and Esc goes back to the page's keys.
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

  function radios() {
    var box = byId("reasons");
    return box ? Array.prototype.slice.call(box.querySelectorAll("input[type=radio]")) : [];
  }

  // The listed reasons (not the "no reason" choice), in the order of their numbers.
  function listed() {
    return radios().filter(function (r) { return r.value !== ""; });
  }

  function reasonChosen() {
    var text = byId("reason-text");
    if (text) return text.value.trim() !== "";
    return listed().some(function (r) { return r.checked; });
  }

  function required() {
    var screen = byId("screen");
    return screen && screen.getAttribute("data-reason-required") === "true";
  }

  function showNeeded(shown) {
    var note = byId("reason-needed");
    if (note) note.hidden = !shown;
    var box = byId("reasons");
    if (box) box.classList.toggle("choosing", shown);
  }

  // Move the focus to the reasons: the chosen one, else the first.
  function toReasons() {
    var text = byId("reason-text");
    if (text) { text.focus(); text.select(); showNeeded(true); return; }
    var all = listed();
    if (!all.length) return;
    var chosen = all.filter(function (r) { return r.checked; })[0] || all[0];
    chosen.focus();
    showNeeded(true);
  }

  function exclude() {
    if (required() && !reasonChosen()) { toReasons(); return; }
    press("decide-exclude");
  }

  function pickReason(n) {
    var all = listed();
    if (n < 1 || n > all.length) return false;
    all[n - 1].checked = true;
    return true;
  }

  function leave(el) {
    el.blur();
    showNeeded(false);
  }

  var help = byId("help-toggle");
  if (help) help.addEventListener("click", function () { toggle("help"); });
  var criteria = byId("criteria-toggle");
  if (criteria) criteria.addEventListener("click", function () { toggle("criteria"); });

  // Reset the guard when the page is shown again from the back/forward cache.
  window.addEventListener("pageshow", function () { busy = false; });

  // Inside the reasons: numbers pick and exclude, Enter excludes with the one chosen.
  function inReasons(ev, t) {
    var key = ev.key;
    if (key >= "1" && key <= "9") {
      if (pickReason(parseInt(key, 10))) press("decide-exclude");
    } else if (key === "Enter") {
      // The focused reason is the one chosen. (Left to itself, Enter would submit the
      // form with its first button, include: never that.)
      t.checked = true;
      press("decide-exclude");
    } else if (key === "e") {
      if (reasonChosen() || !required()) press("decide-exclude");
    } else if (key === "Escape") {
      leave(t);
    } else if (key === "t") {
      var note = byId("note");
      if (note) { showNeeded(false); note.focus(); }
    } else {
      return;  // arrows, space and Tab do what they do in a radio group
    }
    ev.preventDefault();
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
    var t = ev.target;
    if (t && t.tagName === "INPUT" && t.type === "radio" && t.name === "reason") {
      inReasons(ev, t);
      return;
    }
    if (t && t.id === "reason-text") {
      if (ev.key === "Enter") { ev.preventDefault(); if (reasonChosen()) press("decide-exclude"); }
      else if (ev.key === "Escape") { ev.preventDefault(); leave(t); }
      return;
    }
    var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" ||
                        t.tagName === "SELECT" || t.isContentEditable);
    if (typing) {
      if (ev.key === "Escape") { t.blur(); ev.preventDefault(); }
      return;
    }
    var key = ev.key;
    if (key >= "1" && key <= "9") {
      if (pickReason(parseInt(key, 10))) showNeeded(false);
      ev.preventDefault();
      return;
    }
    switch (key) {
      case "i": press("decide-include"); break;
      case "m": press("decide-maybe"); break;
      case "e": exclude(); break;
      case "r": toReasons(); break;
      case "s": submitForm("skip-form"); break;
      case "u": submitForm("undo-form"); break;
      case "n": follow("next-link"); break;
      case "p": follow("prev-link"); break;
      case "c": toggle("criteria"); break;
      case "t": var note = byId("note"); if (note) note.focus(); break;
      case "?": toggle("help"); break;
      case "Escape": showNeeded(false); break;
      default: return;
    }
    ev.preventDefault();
  });
})();
