// The Data checks page: show the threshold while the slider moves, and follow a running check job.
(function () {
  "use strict";
  const slider = document.getElementById("threshold");
  const shown = document.getElementById("threshold-value");
  if (slider && shown) slider.addEventListener("input", function () { shown.textContent = slider.value; });

  const job = document.getElementById("check-job");
  if (!job || job.dataset.active !== "true" || !window.Lux) return;
  const bar = document.getElementById("job-bar");
  const count = document.getElementById("job-count");
  const status = document.getElementById("job-status");
  window.Lux.poll(job.dataset.statusUrl, function (data) {
    const check = data.check;
    if (!check) return false;
    if (status) status.textContent = check.status;
    if (bar && check.total) bar.style.width = Math.min(100, (100 * check.done) / check.total) + "%";
    if (count) count.textContent = check.done + " / " + check.total + (check.kind === "labels" ? " folds" : " images");
    if (check.status === "succeeded" || check.status === "failed") {
      window.location.reload();  // the groups and counts on the page come from the hashes just filled in
      return false;
    }
    return true;
  }, 1000);
})();
