// simjobs upload control (submit page): a project dropped or chosen is sent
// to the server with the tus protocol (tus-js-client), so a dropped
// connection resumes where it stopped, and its path on the server fills
// the project field. Everything here runs from the bundle: no inline
// script, no eval (the team server's Content-Security-Policy).
(function () {
  "use strict";

  function csrfToken() {
    try {
      var h = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      return h["X-CSRF-Token"] || "";
    } catch (_) {
      return "";
    }
  }

  function sizeText(n) {
    var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + " " + u[i];
  }

  function projectName(name) {
    var lower = name.toLowerCase();
    return /\.aedt$/.test(lower) || /\.aedb\.zip$/.test(lower);
  }

  function setup(box) {
    var input = box.querySelector("input[type=file]");
    var zone = box.querySelector(".dropzone");
    var progress = box.querySelector(".upload-progress");
    var bar = box.querySelector("progress");
    var text = box.querySelector(".upload-text");
    var cancel = box.querySelector(".upload-cancel");
    var msg = box.querySelector(".upload-msg");
    var target = document.getElementById(box.dataset.uploadTarget);
    var current = null;

    function say(kind, s) {
      msg.textContent = s;
      msg.className = "upload-msg" + (kind ? " msg " + kind : "");
    }

    function start(file) {
      if (current) return;
      if (/\.aedb$/i.test(file.name)) {
        say("error", file.name + " is a folder: zip it first (" + file.name + ".zip), or send it with `simjobs upload " + file.name + "`, which zips it on the way.");
        return;
      }
      if (!projectName(file.name)) {
        say("error", file.name + " is not a project: send an .aedt file or a zipped .aedb folder (.aedb.zip).");
        return;
      }
      say("", "");
      progress.hidden = false;
      bar.value = 0;
      text.textContent = "0 of " + sizeText(file.size);
      box.dataset.state = "uploading";
      var up = new tus.Upload(file, {
        endpoint: box.dataset.uploadEndpoint,
        chunkSize: 64 * 1024 * 1024,
        retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
        removeFingerprintOnSuccess: true,
        metadata: { filename: file.name },
        headers: { "X-CSRF-Token": csrfToken() },
        onProgress: function (sent, total) {
          bar.value = total ? Math.floor((sent / total) * 100) : 0;
          text.textContent = sizeText(sent) + " of " + sizeText(total);
        },
        onSuccess: function (payload) {
          current = null;
          var res = payload && payload.lastResponse;
          var path = res && res.getHeader("Upload-Project-Path");
          progress.hidden = true;
          box.dataset.state = "done";
          if (path && target) {
            target.value = path;
            target.dispatchEvent(new Event("change", { bubbles: true }));
            say("ok", "Uploaded " + file.name + " (" + sizeText(file.size) + ").");
          } else {
            say("error", "The upload finished but the server did not say where the project is; upload it again.");
          }
        },
        onError: function (err) {
          current = null;
          progress.hidden = true;
          box.dataset.state = "error";
          var res = err && err.originalResponse;
          var body = res ? res.getBody() : "";
          say("error", "Upload failed: " + (body ? body.trim() : String(err && err.message || err)));
        },
      });
      current = up;
      // A file sent before (same name, size, date) continues where it stopped.
      up.findPreviousUploads().then(function (previous) {
        if (previous.length) up.resumeFromPreviousUpload(previous[0]);
        up.start();
      });
    }

    input.addEventListener("change", function () {
      if (input.files && input.files[0]) start(input.files[0]);
      input.value = "";
    });
    zone.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); }
    });
    ["dragenter", "dragover"].forEach(function (ev) {
      zone.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (ev) {
      zone.addEventListener(ev, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      var files = e.dataTransfer && e.dataTransfer.files;
      if (files && files[0]) start(files[0]);
    });
    cancel.addEventListener("click", function () {
      if (!current) return;
      var up = current;
      current = null;
      // true: the server forgets the partial upload too.
      up.abort(true).then(function () {}, function () {});
      progress.hidden = true;
      box.dataset.state = "cancelled";
      say("", "Upload cancelled.");
    });
  }

  function init() {
    if (typeof tus === "undefined" || !tus.isSupported) return;
    document.querySelectorAll("[data-upload-target]").forEach(function (box) {
      if (box.dataset.ready) return;
      box.dataset.ready = "1";
      box.hidden = false;
      setup(box);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
  document.addEventListener("htmx:load", init);

  // When the job on the page ends (the live feed changes its status), its
  // Results panel is read again once: the solver writes them at the end.
  document.addEventListener("htmx:wsAfterMessage", function () {
    var panel = document.getElementById("job-results");
    if (!panel || panel.dataset.ended !== "false" || panel.dataset.refreshing) return;
    if (!document.querySelector("#job-status .st-completed, #job-status .st-failed, #job-status .st-cancelled")) return;
    panel.dataset.refreshing = "1";
    htmx.ajax("GET", panel.dataset.url, { target: "#job-results", swap: "outerHTML" });
  });

  // The S-parameter chart shows the values under the pointer.
  document.addEventListener("mouseover", function (e) {
    var band = e.target.closest && e.target.closest("#sparam-chart .bands rect");
    var out = document.getElementById("sparam-readout");
    if (!band || !out) return;
    var t = band.querySelector("title");
    if (t) out.textContent = t.textContent.replace(/\n/g, " · ");
  });
})();
