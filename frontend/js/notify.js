// Desktop notifications when one of my jobs or sweeps ends, and my running jobs in
// the page title. The live feed sends #mine (frontend/mine.templ) with the
// count of the viewer's running jobs and the viewer's jobs that just ended;
// nobody else's jobs reach the page. Permission is asked only when the
// button is pressed; the same button then switches notifications off and
// on again (remembered in localStorage).
(function () {
  "use strict";

  var KEY = "simjobs.notifications";
  var baseTitle = document.title;

  function supported() { return "Notification" in window; }
  function switchedOn() { return localStorage.getItem(KEY) !== "off"; }

  function render() {
    var b = document.getElementById("notify-toggle");
    if (!b) return;
    if (!supported()) {
      b.hidden = true;
      return;
    }
    b.hidden = false;
    b.disabled = false;
    b.dataset.state = Notification.permission === "granted" ? (switchedOn() ? "on" : "off") : Notification.permission === "denied" ? "blocked" : "ask";
    switch (Notification.permission) {
      case "denied":
        b.textContent = "Notifications blocked";
        b.title = "The browser blocks notifications from this site; allow them in its site settings";
        b.disabled = true;
        b.setAttribute("aria-pressed", "false");
        break;
      case "granted":
        b.textContent = switchedOn() ? "Notifications on" : "Notifications off";
        b.title = switchedOn() ? "Stop desktop notifications" : "Show a desktop notification when one of your jobs ends";
        b.setAttribute("aria-pressed", String(switchedOn()));
        break;
      default:
        b.textContent = "Notify me";
        b.title = "Show a desktop notification when one of your jobs ends";
        b.setAttribute("aria-pressed", "false");
    }
  }

  // The button asks for permission (the only place that does), then
  // switches notifications off and on.
  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("#notify-toggle");
    if (!b || !supported()) return;
    if (b.dataset.state === "ask") {
      Promise.resolve(Notification.requestPermission()).then(function () {
        localStorage.setItem(KEY, "on");
        render();
      });
      return;
    }
    if (Notification.permission === "granted") {
      localStorage.setItem(KEY, switchedOn() ? "off" : "on");
      render();
    }
  });

  function show(job, status, code) {
    if (!supported() || Notification.permission !== "granted" || !switchedOn()) return;
    var body = "Job " + job + " " + status + (code ? " (exit code " + code + ")" : "");
    try {
      var n = new Notification("simjobs: job " + status, { body: body, tag: "simjobs-" + job });
      n.addEventListener("click", function () {
        window.focus();
        location.href = "/ui/jobs/" + encodeURIComponent(job);
      });
    } catch (_) {
      // Some browsers allow notifications only from a service worker.
    }
  }

  function showSweep(sweep) {
    if (!supported() || Notification.permission !== "granted" || !switchedOn()) return;
    try {
      var n = new Notification("simjobs: sweep ended", { body: "Sweep " + sweep + " ended: every job is done", tag: "simjobs-sweep-" + sweep });
      n.addEventListener("click", function () {
        window.focus();
        location.href = "/ui/sweeps/" + encodeURIComponent(sweep);
      });
    } catch (_) {
      // As above.
    }
  }

  // Applies what #mine says: the title's count, a notification per end.
  function apply() {
    var el = document.getElementById("mine");
    if (!el) return;
    var n = Number(el.dataset.running || 0);
    document.title = (n > 0 ? "(" + n + ") " : "") + baseTitle;
    el.querySelectorAll("[data-job]").forEach(function (j) {
      show(j.dataset.job, j.dataset.status, j.dataset.code);
      j.remove();
    });
    el.querySelectorAll("[data-sweep]").forEach(function (s) {
      showSweep(s.dataset.sweep);
      s.remove();
    });
  }

  document.addEventListener("htmx:wsAfterMessage", apply);
  document.addEventListener("DOMContentLoaded", function () {
    render();
    apply();
  });
})();
