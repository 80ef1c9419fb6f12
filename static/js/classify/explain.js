// While the worker computes an explanation, poll its status and reload once it is ready.
(function () {
  "use strict";
  const wait = document.getElementById("explain-wait");
  if (!wait) return;
  Lux.poll(wait.dataset.statusUrl, (s) => {
    if (s.finished) { window.location.reload(); return false; }
    return true;
  }, 500);
})();
