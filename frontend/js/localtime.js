// Times in the reader's time zone. The server writes every time as
// <time datetime="RFC 3339"> read in its own zone; this rewrites them in
// the browser's zone, says so in their title, and replaces the page's note
// on time zones (data-tz). Content swapped in later (htmx, the live feed)
// is rewritten too.
(function () {
  "use strict";
  var zone = "your time zone";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || zone;
  } catch (e) { /* an old browser: the generic name */ }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function show(d) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }
  function offset(d) {
    var m = -d.getTimezoneOffset(), sign = m < 0 ? "-" : "+";
    m = Math.abs(m);
    return "UTC" + sign + pad(Math.floor(m / 60)) + ":" + pad(m % 60);
  }

  function localize() {
    var now = new Date();
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      if (el.dataset.local === el.getAttribute("datetime")) return;
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d.getTime())) return;
      el.textContent = show(d);
      el.title = zone + " (" + offset(d) + "), your browser's time zone";
      el.dataset.local = el.getAttribute("datetime");
    });
    document.querySelectorAll("[data-tz]").forEach(function (el) {
      el.textContent = "Times are in " + zone + " (" + offset(now) + "), your browser's time zone.";
      el.dataset.tzDone = zone;
    });
  }
  document.addEventListener("DOMContentLoaded", localize);
  document.addEventListener("htmx:afterSettle", localize);
  document.addEventListener("htmx:oobAfterSwap", localize);
  document.addEventListener("htmx:wsAfterMessage", localize);
})();
