// Keyboard on the conflicts page: one conflict is current (outlined); n and p move,
// i, m and e resolve it with its form's buttons (a key only presses a button, so the
// page works the same with a mouse and without JavaScript). Excluding where a reason is
// required: e with no reason chosen moves to the reasons; a number picks one and
// excludes, the arrows move and Enter excludes; Esc goes back. Keys never fire while
// typing in a text field.
(function () {
  "use strict";
  var busy = false;
  var items = Array.prototype.slice.call(document.querySelectorAll("article.conflict"));
  if (!items.length) return;
  var at = 0;

  function current() { return items[at]; }

  function show(i, focus) {
    if (i < 0 || i >= items.length) return;
    items[at].classList.remove("current");
    at = i;
    items[at].classList.add("current");
    if (focus) {
      items[at].focus({ preventScroll: true });
      items[at].scrollIntoView({ block: "start", behavior: "instant" });
    }
  }

  // Start at the first conflict of the stage in the address (#full_text), else the first.
  var start = 0;
  if (window.location.hash) {
    var section = document.getElementById(window.location.hash.slice(1));
    var first = section && section.querySelector("article.conflict");
    if (first) start = items.indexOf(first);
  }
  show(start, false);
  items.forEach(function (item, i) {
    item.addEventListener("focusin", function () { show(i, false); });
  });

  function button(article, key) {
    return article.querySelector("form.resolve button[data-key='" + key + "']");
  }

  function press(article, key) {
    var b = button(article, key);
    if (!b || busy) return;
    busy = true;
    b.click();
  }

  function listed(article) {
    return Array.prototype.slice.call(
      article.querySelectorAll("fieldset.reasons input[type=radio]")
    ).filter(function (r) { return r.value !== ""; });
  }

  function reasonChosen(article) {
    var text = article.querySelector("input.reason-text");
    if (text) return text.value.trim() !== "";
    return listed(article).some(function (r) { return r.checked; });
  }

  function required(article) {
    return article.getAttribute("data-reason-required") === "true";
  }

  function needed(article, shown) {
    var note = article.querySelector(".reason-needed");
    if (note) note.hidden = !shown;
  }

  function toReasons(article) {
    var text = article.querySelector("input.reason-text");
    if (text) { text.focus(); needed(article, true); return; }
    var all = listed(article);
    if (!all.length) return;
    (all.filter(function (r) { return r.checked; })[0] || all[0]).focus();
    needed(article, true);
  }

  function exclude(article) {
    if (!button(article, "e")) return;
    if (required(article) && !reasonChosen(article)) { toReasons(article); return; }
    press(article, "e");
  }

  window.addEventListener("pageshow", function () { busy = false; });

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
    var t = ev.target;
    var article = current();
    var key = ev.key;
    if (t && t.tagName === "INPUT" && t.type === "radio" && t.name === "reason") {
      article = t.closest("article.conflict");
      if (key >= "1" && key <= "9") {
        var all = listed(article), n = parseInt(key, 10);
        if (n <= all.length) { all[n - 1].checked = true; press(article, "e"); }
      } else if (key === "Enter") {
        t.checked = true;  // never the form's first button (include)
        press(article, "e");
      } else if (key === "Escape") {
        t.blur(); needed(article, false); article.focus({ preventScroll: true });
      } else if (key === "t") {
        needed(article, false); article.querySelector("input.note").focus();
      } else {
        return;
      }
      ev.preventDefault();
      return;
    }
    if (t && t.classList && t.classList.contains("reason-text")) {
      article = t.closest("article.conflict");
      if (key === "Enter") { ev.preventDefault(); if (reasonChosen(article)) press(article, "e"); }
      else if (key === "Escape") { ev.preventDefault(); t.blur(); needed(article, false); }
      return;
    }
    var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" ||
                        t.tagName === "SELECT" || t.isContentEditable);
    if (typing) {
      if (key === "Escape") {
        t.blur();
        var around = t.closest("article.conflict");
        if (around) around.focus({ preventScroll: true });
        ev.preventDefault();
      }
      return;
    }
    if (key >= "1" && key <= "9") {
      var reasons = listed(article), k = parseInt(key, 10);
      if (k <= reasons.length) { reasons[k - 1].checked = true; needed(article, false); }
      ev.preventDefault();
      return;
    }
    switch (key) {
      case "n": case "j": show(at + 1, true); break;
      case "p": case "k": show(at - 1, true); break;
      case "i": press(article, "i"); break;
      case "m": press(article, "m"); break;
      case "e": exclude(article); break;
      case "r": toReasons(article); break;
      case "t": var note = article.querySelector("input.note"); if (note) note.focus(); break;
      default: return;
    }
    ev.preventDefault();
  });
})();
