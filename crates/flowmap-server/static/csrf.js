// A signed-in browser proves its requests come from flowmap's own pages with the session's
// CSRF token, which the sign-in put in the `flowmap_csrf` cookie: it is added to every form
// that changes something, and offered to other scripts (the map editor's preview).
(function () {
  var match = document.cookie.match(/(?:^|;\s*)flowmap_csrf=([^;]+)/);
  if (!match) return;
  var token = decodeURIComponent(match[1]);
  window.flowmapCsrf = token;
  var forms = document.querySelectorAll("form");
  for (var i = 0; i < forms.length; i++) {
    var form = forms[i];
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post") continue;
    var action = form.getAttribute("action") || window.location.pathname;
    var separator = action.indexOf("?") < 0 ? "?" : "&";
    form.setAttribute("action", action + separator + "csrf=" + encodeURIComponent(token));
  }
})();
