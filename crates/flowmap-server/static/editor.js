// Live preview for the map editor: re-renders the picture and the numbers, or shows the
// validation errors, a moment after typing stops. Saving works without it.
(function () {
  var text = document.getElementById("map-text");
  var format = document.getElementById("map-format");
  var preview = document.getElementById("preview");
  if (!text || !preview) return;
  var timer = null;
  var sent = 0;
  function refresh() {
    var ticket = ++sent;
    var body = new URLSearchParams();
    body.set("text", text.value);
    body.set("format", format ? format.value : "yaml");
    var headers = {};
    if (window.flowmapCsrf) headers["X-CSRF-Token"] = window.flowmapCsrf;
    fetch("/maps/preview", { method: "POST", body: body, headers: headers })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        // Only the latest request may paint, so a slow answer never overwrites a newer one.
        if (ticket === sent) preview.innerHTML = html;
      });
  }
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }
  text.addEventListener("input", schedule);
  if (format) format.addEventListener("change", schedule);
})();
