// simjobs dashboard: the little that htmx and its WebSocket extension do not
// do. Pages are rendered by the server; the live feed (/ui/live) sends HTML
// fragments that replace elements by id (hx-swap-oob).
(function () {
  "use strict";

  // Reconnect soon after the server comes back: at most 5 s between tries.
  htmx.config.wsReconnectDelay = function (retry) {
    return Math.min(5000, 250 * Math.pow(2, retry)) * (0.5 + Math.random() / 2);
  };

  // Every (re)connection asks for the events after the last one applied
  // (?since=), names the server process it came from (&boot=), and on a
  // job page where its log left off (&log_offset=).
  var createWebSocket = htmx.createWebSocket;
  htmx.createWebSocket = function (url) {
    var u = new URL(url, location.href);
    var seq = document.getElementById("live-seq");
    if (seq) {
      u.searchParams.set("since", seq.dataset.seq);
      u.searchParams.set("boot", seq.dataset.boot);
    }
    var log = document.getElementById("log-offset");
    if (log) {
      u.searchParams.set("log_offset", log.dataset.offset);
    }
    return createWebSocket(u.toString());
  };

  // The connection indicator in the header.
  function live(state, text) {
    var el = document.getElementById("live");
    if (!el) return;
    el.dataset.state = state;
    el.querySelector(".live-text").textContent = text;
  }
  document.addEventListener("htmx:wsConnecting", function () { live("connecting", "Connecting…"); });
  document.addEventListener("htmx:wsOpen", function () { live("live", "Live"); });
  document.addEventListener("htmx:wsClose", function () { live("lost", "Reconnecting…"); });

  // A request htmx could not complete (refused, session over, server
  // gone) says so at the top of the page instead of doing nothing. The
  // answer is read as text by an inert parser: nothing in it runs.
  function flash(text) {
    var el = document.getElementById("flash");
    if (!el) return;
    el.textContent = text;
    el.hidden = !text;
    if (text) el.scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("htmx:beforeRequest", function () { flash(""); });
  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail.xhr, text = xhr.responseText || "";
    try {
      text = JSON.parse(text).error || text;
    } catch (_) {
      text = new DOMParser().parseFromString(text, "text/html").body.textContent;
    }
    text = text.replace(/\s+/g, " ").trim();
    flash((text || "The request failed") + " (HTTP " + xhr.status + ")");
  });
  document.addEventListener("htmx:sendError", function () {
    flash("The server cannot be reached; try again when it is back.");
  });

  // A row inserted by the feed (a new job) replaces an older copy of itself
  // rather than appearing twice.
  document.addEventListener("htmx:oobBeforeSwap", function (e) {
    var frag = e.detail.fragment;
    if (!frag || !frag.querySelectorAll || e.detail.target.id === (frag.firstElementChild && frag.firstElementChild.id)) return;
    frag.querySelectorAll("tr[id]").forEach(function (row) {
      var old = document.getElementById(row.id);
      if (old) old.remove();
    });
  });

  document.addEventListener("htmx:wsAfterMessage", function () {
    var seq = document.getElementById("live-seq");
    if (seq && seq.hasAttribute("data-reload")) {
      location.reload();
      return;
    }
    follow();
    document.querySelectorAll("tbody[data-empty]").forEach(function (tb) {
      var empty = tb.querySelector(".empty-row");
      if (empty && tb.rows.length > 1) empty.remove();
    });
  });

  // The log view keeps showing its end while "Follow" is checked.
  function follow() {
    var box = document.getElementById("follow");
    var log = document.getElementById("log");
    if (box && log && box.checked) log.scrollTop = log.scrollHeight;
  }
  document.addEventListener("DOMContentLoaded", follow);
  document.addEventListener("change", function (e) {
    if (e.target.id === "follow") follow();
    // "Select all" in the jobs table.
    if (e.target.id === "select-all") {
      document.querySelectorAll("input[name=id][form=bulk]").forEach(function (b) {
        if (!b.disabled) b.checked = e.target.checked;
      });
    }
  });

  // The project picker fills the project path field.
  document.addEventListener("click", function (e) {
    var pick = e.target.closest("[data-pick]");
    if (!pick) return;
    var input = document.getElementById(pick.dataset.target || "project_path");
    if (input) {
      input.value = pick.dataset.pick;
      input.focus();
    }
  });

  // Elapsed times of running jobs tick by themselves.
  setInterval(function () {
    var now = Date.now();
    document.querySelectorAll("[data-started]").forEach(function (el) {
      el.textContent = duration(now - Number(el.dataset.started));
    });
  }, 1000);

  function duration(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    function pad(n) { return (n < 10 ? "0" : "") + n; }
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + pad(s % 60) + "s";
    if (s < 86400) return Math.floor(s / 3600) + "h " + pad(Math.floor(s % 3600 / 60)) + "m";
    return Math.floor(s / 86400) + "d " + Math.floor(s % 86400 / 3600) + "h";
  }
})();
