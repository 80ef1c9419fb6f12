// Search page: the progress bar, and live progress while the search runs (reload when a member ends).
(function () {
  "use strict";
  const page = document.getElementById("search-page");
  const source = document.getElementById("search-status-data");
  if (!page || !source) return;
  const first = JSON.parse(source.textContent);
  const bar = document.querySelector("#search-bar .bar");

  function draw(state) {
    const share = state.members ? Math.round(100 * state.finished / state.members) : 0;
    if (bar) bar.style.width = share + "%";
    document.getElementById("search-bar").setAttribute("aria-valuenow", String(state.finished));
    document.getElementById("search-message").textContent = state.message;
    document.getElementById("search-finished").textContent = String(state.finished);
    document.getElementById("search-members").textContent = String(state.members);
  }

  function poll() {
    fetch(page.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) {
        if (!state) return;
        if (state.status !== first.status || state.finished !== first.finished || state.members !== first.members) {
          window.location.reload();  // a member ended or a rung started: the table and curves change
          return;
        }
        draw(state);
      })
      .catch(function () { /* a missed poll is retried at the next tick */ });
  }

  draw(first);
  if (first.status === "running") window.setInterval(poll, 3000);
})();
