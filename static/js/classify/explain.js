// While the worker computes an explanation, poll its status and reload once it is ready.
(function () {
  "use strict";
  const wait = document.getElementById("explain-wait");
  if (!wait) return;
  const note = document.getElementById("explain-note");
  Lux.poll(wait.dataset.statusUrl, (s) => {
    if (s.finished) { window.location.reload(); return false; }
    if (note) { note.textContent = s.note || ""; note.hidden = !s.note; }  // e.g. no worker serves the queue
    return true;
  }, 500);
})();
