// The import page: poll the import's status and move the progress bar until the worker finishes.
(function () {
  "use strict";
  const card = document.getElementById("import-card");
  if (!card || card.dataset.finished === "1") return;
  const el = (id) => document.getElementById(id);
  const fmt = (n) => Number(n).toLocaleString();
  let firstDone = null; // (time, done) when progress first seen, for the ETA

  function show(s) {
    el("import-bar").style.width = s.percent + "%";
    el("import-bar").parentElement.setAttribute("aria-valuenow", Math.round(s.percent));
    el("import-done").textContent = fmt(s.done) + " of " + fmt(s.total) + " files";
    for (const k of ["accepted", "duplicates", "conflicts", "rejected", "skipped"]) el("import-" + k).textContent = fmt(s[k]);
    const status = el("import-status");
    status.textContent = s.status;
    status.className = "status " + s.status;
    el("import-waiting").hidden = s.status !== "queued";
    if (s.error) { el("import-error").textContent = s.error; el("import-error").hidden = false; }
    if (s.status === "running" && s.done > 0 && s.total > s.done) {
      if (!firstDone) firstDone = { t: Date.now(), done: s.done };
      const rate = (s.done - firstDone.done) / ((Date.now() - firstDone.t) / 1000);
      if (rate > 0) {
        const left = (s.total - s.done) / rate;
        el("import-eta").textContent = "about " + (left < 60 ? Math.ceil(left) + " s" : Math.ceil(left / 60) + " min") + " left";
      }
    } else el("import-eta").textContent = "";
  }

  Lux.poll(card.dataset.statusUrl, function (s) {
    show(s);
    if (!s.finished) return true;
    el("import-next").hidden = false;
    card.classList.add("finished");
    // The per-file report is rendered by the server: reload once to show all of it.
    setTimeout(() => window.location.reload(), 800);
    return false;
  }, 1000);
})();
