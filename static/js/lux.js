// Small helpers every page may use: CSRF-aware fetch, polling a JSON endpoint, bar widths and confirmations.
(function () {
  "use strict";
  function cookie(name) {
    const m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  }
  // fetch() with the CSRF header and same-origin credentials.
  function luxFetch(url, options) {
    const opts = Object.assign({ credentials: "same-origin", headers: {} }, options || {});
    if (opts.method && opts.method.toUpperCase() !== "GET") opts.headers["X-CSRFToken"] = cookie("csrftoken");
    return fetch(url, opts);
  }
  // Call onData(json) every intervalMs until it returns false; back off when the server errs.
  function poll(url, onData, intervalMs) {
    let delay = intervalMs || 1000;
    function tick() {
      luxFetch(url).then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (data) { delay = intervalMs || 1000; if (onData(data) !== false) setTimeout(tick, delay); })
        .catch(function () { delay = Math.min(delay * 2, 15000); setTimeout(tick, delay); });
    }
    tick();
  }
  // Size every [data-width] bar (a percentage): the policy forbids style="" attributes, not style set from a
  // script, and the value is read as a number so markup can never smuggle other CSS in.
  document.querySelectorAll("[data-width]").forEach(function (el) {
    const percent = parseFloat(el.dataset.width);
    if (isFinite(percent)) el.style.width = Math.min(100, Math.max(0, percent)) + "%";
  });
  // A form with data-confirm asks before it is sent (the policy forbids onsubmit="" handlers).
  document.addEventListener("submit", function (e) {
    const form = e.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) e.preventDefault();
  }, true);
  window.Lux = { fetch: luxFetch, poll: poll, cookie: cookie };
})();
