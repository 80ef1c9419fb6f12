// A job's page polls its status while it runs: the bar, the counts, images/s and the time left move live;
// when the job ends the page reloads once to show its results.
(function () {
  "use strict";
  const card = document.getElementById("job-progress");
  if (!card || card.dataset.active !== "1") return;
  const bar = document.getElementById("job-bar");
  const counts = document.getElementById("job-counts");
  const rate = document.getElementById("job-rate");
  const pill = document.getElementById("job-status-pill");
  const wait = document.getElementById("job-wait");
  const fmt = (n) => Number(n).toLocaleString();

  function eta(seconds) {
    if (seconds === null || seconds === undefined) return "";
    if (seconds < 90) return "about " + Math.max(1, Math.round(seconds)) + " s left";
    return "about " + Math.round(seconds / 60) + " min left";
  }

  Lux.poll(card.dataset.statusUrl, (s) => {
    bar.style.width = (100 * s.fraction).toFixed(1) + "%";
    bar.parentElement.setAttribute("aria-valuenow", Math.round(100 * s.fraction));
    counts.textContent = fmt(s.done) + " of " + fmt(s.total) + " images" + (s.errors ? " · " + fmt(s.errors) + " could not be read" : "");
    rate.textContent = (s.images_per_s ? s.images_per_s.toFixed(1) + " images/s" : "") +
      (s.eta_s && !s.finished ? " · " + eta(s.eta_s) : "");
    pill.textContent = s.status;
    pill.className = "status " + s.status;
    if (wait && s.status !== "queued") wait.hidden = true;
    if (s.finished) { window.location.reload(); return false; }
    return true;
  }, 700);
})();
