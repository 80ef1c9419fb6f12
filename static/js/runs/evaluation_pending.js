// A pending evaluation's page: poll its status and reload once it has succeeded or failed.
(function () {
  "use strict";
  const box = document.getElementById("evaluation-pending");
  const state = document.getElementById("evaluation-state");
  if (!box || !state || state.classList.contains("failed")) return;
  Lux.poll(box.dataset.statusUrl, function (data) {
    if (data.status === "succeeded" || data.status === "failed") { window.location.reload(); return false; }
    state.textContent = data.status;
  }, 1500);
})();
