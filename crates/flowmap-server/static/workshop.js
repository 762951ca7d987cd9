// A live workshop page: joins with the link's code, keeps this browser's workshop key,
// draws the workshop from GET /api/v1/workshops/{id} and redraws it after every event of
// the event stream. All user text goes through textContent, never through HTML.
(function () {
  var root = document.getElementById("workshop");
  if (!root) return;
  var id = root.getAttribute("data-id");
  var storageKey = "flowmap-workshop-" + id;
  var PHASES = ["mandate", "brainstorm", "group", "vote", "outcome", "map"];

  function $(x) { return document.getElementById(x); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function storeKey(key) { try { localStorage.setItem(storageKey, key); } catch (e) {} }
  function readKey() { try { return localStorage.getItem(storageKey); } catch (e) { return null; } }

  var hash = window.location.hash;
  if (hash.indexOf("#key=") === 0) {
    storeKey(decodeURIComponent(hash.slice(5)));
    history.replaceState(null, "", window.location.pathname);
  }

  var joinForm = $("join-form");
  if (joinForm) {
    joinForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var code = new URLSearchParams(window.location.search).get("code") || "";
      fetch("/api/v1/workshops/" + id + "/participants", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name: $("join-name").value, join: code })
      }).then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) throw new Error(body.error || r.statusText);
          storeKey(body.participant_key);
          window.location.href = "/workshops/" + id;
        });
      }).catch(function (err) {
        var e = $("join-error"); e.textContent = err.message; e.hidden = false;
      });
    });
    return;
  }

  var key = readKey();
  if (!key) { $("ws-nokey").hidden = false; return; }
  $("ws-main").hidden = false;

  var state = null, offset = 0, after = null, loading = false, again = false, mapShown = null;
  var minutesChosen = "5", closeArmed = false;

  function api(method, path, body) {
    var opts = { method: method, headers: { Authorization: "Bearer " + key } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch("/api/v1/workshops/" + id + path, opts).then(function (r) {
      if (r.status === 204) return null;
      return r.json().then(function (b) {
        if (!r.ok) throw new Error(b.diagnostics ? b.diagnostics.join("\n") : (b.error || r.statusText));
        return b;
      });
    });
  }
  function showError(err) {
    var e = $("ws-error");
    if (!err) { e.hidden = true; return; }
    e.textContent = err.message || String(err); e.hidden = false;
  }
  function act(promise) { return promise.then(function () { showError(null); }, showError); }

  function load() {
    if (loading) { again = true; return; }
    loading = true;
    var asked = Date.now();
    api("GET", "").then(function (s) {
      offset = s.server_time - (asked + Date.now()) / 2;
      state = s;
      render();
      if (after === null) { after = s.version; listen(); }
    }, showError).then(function () {
      loading = false;
      if (again) { again = false; load(); }
    });
  }

  // Server-sent events read with fetch, so the key travels in a header, not the URL.
  function listen() {
    fetch("/api/v1/workshops/" + id + "/events?after=" + after, {
      headers: { Authorization: "Bearer " + key, Accept: "text/event-stream" }
    }).then(function (r) {
      if (!r.ok || !r.body) throw new Error("event stream: " + r.status);
      var reader = r.body.getReader(), decoder = new TextDecoder(), buffer = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) throw new Error("event stream ended");
          buffer += decoder.decode(chunk.value, { stream: true });
          var parts = buffer.split("\n\n");
          buffer = parts.pop();
          var changed = false;
          parts.forEach(function (block) {
            block.split("\n").forEach(function (line) {
              if (line.indexOf("id:") === 0) { after = parseInt(line.slice(3), 10); changed = true; }
            });
          });
          if (changed) load();
          return pump();
        });
      }
      return pump();
    }).catch(function () {
      // Reconnect and catch up from the last event seen; a full reload repaints.
      setTimeout(function () { load(); listen(); }, 1000);
    });
  }

  function facilitator() { return state && state.you.role === "facilitator"; }
  function canEdit(note) { return facilitator() || note.mine; }

  function noteCard(note) {
    var card = el("div", "ws-note");
    card.setAttribute("data-note", note.id);
    card.appendChild(el("div", "ws-note-text", note.text));
    var meta = el("div", "ws-note-meta", note.author_name);
    card.appendChild(meta);
    var phase = state.phase;
    var editable = canEdit(note) && (phase === "brainstorm" || phase === "group");
    if (editable) {
      var edit = el("button", "link", "edit");
      edit.type = "button";
      edit.addEventListener("click", function () {
        var text = window.prompt("Note", note.text);
        if (text !== null) act(api("PATCH", "/notes/" + note.id, { text: text }));
      });
      var del = el("button", "link", "delete");
      del.type = "button";
      del.addEventListener("click", function () { act(api("DELETE", "/notes/" + note.id)); });
      meta.appendChild(edit); meta.appendChild(del);
    }
    if (phase === "group" && canEdit(note)) {
      var input = el("input", "ws-category");
      input.setAttribute("list", "ws-categories");
      input.placeholder = "category";
      input.value = note.category || "";
      input.addEventListener("change", function () {
        act(api("PATCH", "/notes/" + note.id, { category: input.value }));
      });
      card.appendChild(input);
    }
    return card;
  }

  function renderBoard() {
    var board = $("ws-notes");
    board.textContent = "";
    var phase = state.phase;
    if (phase === "mandate") return;
    var grouped = phase !== "brainstorm";
    var groups = {};
    var order = [];
    state.notes.forEach(function (n) {
      var c = grouped ? (n.category || "") : "";
      if (!(c in groups)) { groups[c] = []; order.push(c); }
      groups[c].push(n);
    });
    order.sort();
    var list = $("ws-categories") || el("datalist");
    list.id = "ws-categories";
    list.textContent = "";
    state.categories.forEach(function (c) { var o = el("option"); o.value = c; list.appendChild(o); });
    board.appendChild(list);
    if (!grouped) {
      state.notes.forEach(function (n) { board.appendChild(noteCard(n)); });
      return;
    }
    order.forEach(function (c) {
      var column = el("div", "ws-column");
      if (grouped) {
        var head = el("h3", null, c === "" ? "Not sorted yet" : c);
        column.appendChild(head);
        if (phase === "vote" && c !== "" && state.you.role === "participant") {
          column.appendChild(voteControl(c));
        }
      }
      groups[c].forEach(function (n) { column.appendChild(noteCard(n)); });
      board.appendChild(column);
    });
  }

  function myDots() {
    var used = 0, votes = state.you.votes || {};
    Object.keys(votes).forEach(function (c) { used += votes[c]; });
    return used;
  }

  function voteControl(category) {
    var box = el("div", "ws-vote");
    box.setAttribute("data-category", category);
    var mine = (state.you.votes || {})[category] || 0;
    var minus = el("button", null, "−"); minus.type = "button";
    var count = el("span", "ws-vote-count", mine);
    var plus = el("button", null, "+"); plus.type = "button";
    plus.className = "ws-vote-plus";
    minus.disabled = mine === 0;
    plus.disabled = myDots() >= state.dots;
    minus.addEventListener("click", function () { act(api("POST", "/votes", { category: category, dots: mine - 1 })); });
    plus.addEventListener("click", function () { act(api("POST", "/votes", { category: category, dots: mine + 1 })); });
    box.appendChild(minus); box.appendChild(count); box.appendChild(plus);
    return box;
  }

  function outcomeTemplate() {
    var best = null;
    if (state.votes) {
      Object.keys(state.votes).forEach(function (c) {
        if (best === null || state.votes[c] > state.votes[best]) best = c;
      });
    }
    var y = function (s) { return JSON.stringify(String(s)); };
    var lines = ["outcome: " + y(best ? "Restate: " + best : "What we want to reach"),
      "mandate: " + y(state.mandate || "-"),
      "metric: lead_time", "baseline: 3d", "target: '<= 1d'",
      "deadline: " + new Date(Date.now() + 90 * 86400000).toISOString().slice(0, 10),
      "concerns:"];
    state.notes.forEach(function (n) {
      var c = n.category ? ", category: " + y(n.category) : "";
      var v = state.votes && n.category && state.votes[n.category] ? ", votes: " + state.votes[n.category] : "";
      lines.push("  - { text: " + y(n.text) + c + v + " }");
    });
    if (!state.notes.length) lines.pop();
    lines.push("benefits: []", "obstacles: []", "next_steps: []");
    return lines.join("\n") + "\n";
  }

  function syncText(area, doc, fallback) {
    if (document.activeElement === area || area.getAttribute("data-dirty") === "1") return;
    area.value = doc ? doc.text : fallback;
  }

  function refreshPreview() {
    var text = state.map ? state.map.text : null;
    if (text === mapShown) return;
    mapShown = text;
    fetch("/workshops/" + id + "/preview", { headers: { Authorization: "Bearer " + key } })
      .then(function (r) { return r.text(); })
      // The preview is the server's escaped HTML, as in the map editor.
      .then(function (html) { $("ws-preview").innerHTML = html; });
  }

  function tick() {
    var timer = $("ws-timer");
    if (!state || state.phase !== "brainstorm" || !state.countdown_ends) { timer.hidden = true; return; }
    var left = Math.max(0, Math.round((state.countdown_ends - (Date.now() + offset)) / 1000));
    timer.hidden = false;
    timer.setAttribute("data-seconds", left);
    var m = Math.floor(left / 60), s = left % 60;
    timer.textContent = m + ":" + (s < 10 ? "0" : "") + s;
    timer.className = "ws-timer" + (left === 0 ? " done" : "");
  }

  function renderPhases() {
    var nav = $("ws-phases");
    nav.hidden = !facilitator() || state.phase === "closed";
    nav.textContent = "";
    if (nav.hidden) return;
    PHASES.forEach(function (p) {
      var b = el("button", p === state.phase ? "active" : "secondary", p);
      b.type = "button";
      b.setAttribute("data-phase", p);
      b.addEventListener("click", function () {
        var body = { phase: p };
        if (p === "brainstorm") {
          var minutes = parseFloat($("ws-minutes").value);
          if (minutes > 0) body.seconds = Math.round(minutes * 60);
        }
        act(api("POST", "/phase", body));
      });
      nav.appendChild(b);
      if (p === "brainstorm") {
        var label = el("label", "ws-minutes");
        var minutes = el("input");
        minutes.id = "ws-minutes"; minutes.type = "number"; minutes.min = "0.5"; minutes.step = "0.5";
        minutes.value = minutesChosen;
        minutes.addEventListener("change", function () { minutesChosen = minutes.value; });
        label.appendChild(minutes);
        label.appendChild(document.createTextNode(" min"));
        nav.appendChild(label);
      }
    });
    // Closing asks twice: the first click arms the button, the second closes.
    var close = el("button", "danger", closeArmed ? "Really close and save?" : "Close and save");
    close.type = "button";
    close.id = "ws-close";
    close.addEventListener("click", function () {
      if (!closeArmed) { closeArmed = true; renderPhases(); return; }
      closeArmed = false;
      act(api("POST", "/close"));
    });
    nav.appendChild(close);
  }

  function render() {
    var s = state, phase = s.phase;
    document.title = s.title + " · flowmap";
    $("ws-title").textContent = s.title;
    $("ws-phase").textContent = phase;
    $("ws-you").textContent = s.you.role === "facilitator" ? "you facilitate" : "you are " + s.you.name;
    $("ws-count").textContent = s.participants.length + " joined · " + s.notes.length + " notes";
    root.className = "workshop " + (facilitator() ? "projector" : "phone") + " phase-" + phase;
    var join = $("ws-join");
    join.hidden = !s.join_url;
    if (s.join_url) { $("ws-join-url").textContent = s.join_url; $("ws-join-url").href = s.join_url; }
    renderPhases();
    // The map phase gives the screen to the map; the notes stay in the state.
    var mapping = phase === "map";
    $("ws-mandate").hidden = mapping;
    $("ws-notes").hidden = mapping;
    $("ws-mandate-text").textContent = s.mandate || "(no mandate written)";
    $("ws-brainstorm").hidden = !(phase === "brainstorm" || phase === "group");
    $("ws-vote").hidden = phase !== "vote";
    if (phase === "vote") {
      $("ws-dots").textContent = s.you.role === "participant"
        ? "Your dots: " + (s.dots - myDots()) + " of " + s.dots + " left"
        : "Participants are placing their dots; leaving this phase reveals the tally.";
    }
    renderBoard();
    var tally = $("ws-tally"), list = $("ws-tally-list");
    tally.hidden = !s.votes || mapping;
    list.textContent = "";
    if (s.votes) {
      Object.keys(s.votes).sort(function (a, b) { return s.votes[b] - s.votes[a] || (a < b ? -1 : 1); })
        .forEach(function (c) {
          var li = el("li", null, c + " — " + s.votes[c]);
          li.setAttribute("data-category", c);
          li.setAttribute("data-dots", s.votes[c]);
          list.appendChild(li);
        });
    }
    $("ws-outcome").hidden = !(phase === "outcome" || phase === "closed");
    $("ws-map").hidden = !(phase === "map" || phase === "closed");
    syncText($("outcome-text"), s.outcome, outcomeTemplate());
    syncText($("map-text"), s.map, "name: " + s.stream + "\nsteps:\n  - id: code\n    name: Code\n    process: 1d..3d\n");
    var closed = phase === "closed";
    ["outcome-text", "map-text", "outcome-save", "map-save"].forEach(function (x) { $(x).disabled = closed; });
    if (phase === "map" || closed) refreshPreview();
    $("ws-closed").hidden = !closed;
    if (closed) {
      var saved = [];
      if (s.saved.outcome) saved.push("outcome " + s.saved.outcome.id + " version " + s.saved.outcome.version);
      if (s.saved.map) saved.push("map " + s.saved.map.id + " version " + s.saved.map.version);
      $("ws-saved").textContent = saved.length ? "Saved " + saved.join(" and ") + "." : "Nothing was saved.";
    }
    tick();
  }

  function saver(area, button, status, path) {
    area.addEventListener("input", function () { area.setAttribute("data-dirty", "1"); });
    button.addEventListener("click", function () {
      status.textContent = "saving…";
      api("PUT", path, { format: "yaml", text: area.value }).then(function () {
        area.setAttribute("data-dirty", "0");
        status.textContent = "saved";
        showError(null);
      }, function (err) { status.textContent = ""; showError(err); });
    });
  }
  saver($("outcome-text"), $("outcome-save"), $("outcome-status"), "/outcome");
  saver($("map-text"), $("map-save"), $("map-status"), "/map");

  function download(what) {
    fetch("/workshops/" + id + "/export/" + what, { headers: { Authorization: "Bearer " + key } })
      .then(function (r) {
        if (!r.ok) throw new Error("no " + what + " to download");
        var name = (r.headers.get("Content-Disposition") || "").split("filename=\"")[1] || what;
        return r.blob().then(function (b) {
          var a = el("a"); a.href = URL.createObjectURL(b); a.download = name.replace(/"$/, "");
          document.body.appendChild(a); a.click(); a.remove();
        });
      }).catch(showError);
  }
  $("export-outcome").addEventListener("click", function () { download("outcome"); });
  $("export-map").addEventListener("click", function () { download("map"); });

  $("note-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var input = $("note-text");
    if (!input.value.trim()) return;
    var text = input.value;
    input.value = "";
    act(api("POST", "/notes", { text: text }));
  });

  setInterval(tick, 250);
  load();
})();
