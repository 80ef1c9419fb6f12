// The Pretrained weights page: while a download runs, poll the files' state and move its bar, with an ETA.
(function () {
  "use strict";
  const card = document.getElementById("weights-card");
  if (!card || card.dataset.downloading !== "1") return;
  const started = {}; // filename -> {t, done} when this page first saw it downloading, for the ETA
  const mb = (n) => (n / 1e6).toFixed(1) + " MB";

  function eta(f) {
    const d = f.download;
    if (!d.bytes_total || d.bytes_done <= 0) return "";
    const first = started[f.filename] || (started[f.filename] = { t: Date.now(), done: d.bytes_done });
    const rate = (d.bytes_done - first.done) / ((Date.now() - first.t) / 1000);
    if (!(rate > 0)) return "";
    const left = (d.bytes_total - d.bytes_done) / rate;
    return ", about " + (left < 60 ? Math.ceil(left) + " s" : Math.ceil(left / 60) + " min") + " left";
  }

  function show(f) {
    const row = card.querySelector('tr[data-filename="' + CSS.escape(f.filename) + '"]');
    if (!row) return;
    const part = (role) => row.querySelector('[data-role="' + role + '"]');
    const d = f.download, running = d.status === "queued" || d.status === "running";
    part("progress").hidden = !running;
    if (running) {
      const percent = d.percent || 0;
      part("bar").style.width = Math.min(100, percent) + "%";
      part("progress").setAttribute("aria-valuenow", Math.round(percent));
      part("progress-label").textContent = d.status === "queued" ? "waiting for a worker…"
        : mb(d.bytes_done) + (d.bytes_total ? " of " + mb(d.bytes_total) : "") + eta(f);
    } else part("progress-label").textContent = "";
    part("error").hidden = !d.error || running;
    part("error").textContent = d.error;
  }

  Lux.poll(card.dataset.statusUrl, function (s) {
    s.files.forEach(show);
    const busy = s.files.some((f) => f.download.status === "queued" || f.download.status === "running");
    if (!busy) setTimeout(() => window.location.reload(), 500); // sizes, checksums and buttons come from the server
    return busy;
  }, 1000);
})();
