// While an export is queued or running, poll the run's export states and reload when one finishes.
(function () {
  "use strict";
  const card = document.getElementById("exports");
  if (!card) return;
  const busy = () => Array.from(card.querySelectorAll(".cl-export"))
    .filter((row) => row.dataset.state === "queued" || row.dataset.state === "running").map((row) => row.dataset.format);
  if (!busy().length) return;
  Lux.poll(card.dataset.statusUrl, (states) => {
    const waiting = busy().filter((fmt) => states[fmt] && (states[fmt].state === "queued" || states[fmt].state === "running"));
    if (waiting.length < busy().length) { window.location.reload(); return false; }
    return true;
  }, 1000);
})();
