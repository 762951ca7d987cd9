// The map editor: line numbers beside the text, a live preview a moment after typing
// stops, the last good picture kept while the text has a mistake, and problems that jump
// to their line when clicked. Saving works without any of it.
(function () {
  var text = document.getElementById("map-text");
  var format = document.getElementById("map-format");
  var body = document.getElementById("preview-body");
  var problems = document.getElementById("editor-problems");
  var stale = document.getElementById("stale-note");
  var gutter = document.getElementById("map-lines");
  if (!text || !body) return;

  function numberLines() {
    if (!gutter) return;
    var count = text.value.split("\n").length;
    var lines = [];
    for (var i = 1; i <= count; i++) lines.push(i);
    gutter.textContent = lines.join("\n") + "\n";
    gutter.scrollTop = text.scrollTop;
  }

  // Shows an answer of the preview: a picture replaces the one shown; problems go under
  // the editor and leave the last good picture in place, marked as such.
  function show(html) {
    var answer = document.createElement("div");
    answer.innerHTML = html;
    var errors = answer.querySelector("#map-errors");
    if (errors) {
      problems.replaceChildren(errors);
      if (body.querySelector("#map-picture")) {
        body.classList.add("stale");
        if (stale) stale.hidden = false;
      }
    } else {
      problems.replaceChildren();
      body.replaceChildren.apply(body, Array.prototype.slice.call(answer.childNodes));
      body.classList.remove("stale");
      if (stale) stale.hidden = true;
    }
  }

  // Selects line `line` (1-based) of the text and scrolls it into the middle.
  function goToLine(line) {
    var lines = text.value.split("\n");
    var n = Math.max(1, Math.min(line, lines.length));
    var start = 0;
    for (var i = 0; i < n - 1; i++) start += lines[i].length + 1;
    text.focus();
    text.setSelectionRange(start, start + lines[n - 1].length);
    var height = parseFloat(getComputedStyle(text).lineHeight) || 20;
    text.scrollTop = Math.max(0, (n - 1) * height - text.clientHeight / 3);
    numberLines();
  }

  var timer = null;
  var sent = 0;
  function refresh() {
    var ticket = ++sent;
    var form = new URLSearchParams();
    form.set("text", text.value);
    form.set("format", format ? format.value : "yaml");
    var headers = {};
    if (window.flowmapCsrf) headers["X-CSRF-Token"] = window.flowmapCsrf;
    fetch("/maps/preview", { method: "POST", body: form, headers: headers })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        // Only the latest request may paint, so a slow answer never overwrites a newer one.
        if (ticket === sent) show(html);
      });
  }
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.jump[data-line]") : null;
    if (!link) return;
    event.preventDefault();
    goToLine(parseInt(link.getAttribute("data-line"), 10));
  });
  text.addEventListener("input", function () { numberLines(); schedule(); });
  text.addEventListener("scroll", function () { if (gutter) gutter.scrollTop = text.scrollTop; });
  if (format) format.addEventListener("change", schedule);
  // A page shown again with problems (a refused save) lists them under the editor too.
  var initial = body.querySelector("#map-errors");
  if (initial) problems.replaceChildren(initial);
  numberLines();
})();
