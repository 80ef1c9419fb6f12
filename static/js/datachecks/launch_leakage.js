// The launch form: say whether the chosen dataset or version has near-copies across its splits, as it changes.
(function () {
  "use strict";
  const slot = document.getElementById("launch-leakage-slot");
  const form = slot && slot.closest("form");
  if (!slot || !form || !window.Lux) return;
  const pickers = ["dataset", "version"].map(function (name) { return form.querySelector("[name=" + name + "]"); })
    .filter(Boolean);

  function show(data) {
    slot.replaceChildren();
    if (!data.warnings || !data.warnings.length) return;
    const box = document.createElement("div");
    box.className = "alert bad launch-leakage";
    box.id = "launch-leakage";
    box.setAttribute("role", "alert");
    const title = document.createElement("strong");
    title.textContent = data.title;
    const list = document.createElement("ul");
    data.warnings.forEach(function (w) { const li = document.createElement("li"); li.textContent = w; list.append(li); });
    const fix = document.createElement("p");
    fix.className = "small";
    const link = document.createElement("a");
    link.href = data.fix_url;
    link.textContent = "Fix the near-copies";
    fix.append(link, ", then launch on a new version.");
    box.append(title, list, fix);
    slot.append(box);
  }

  function refresh() {
    const query = new URLSearchParams();
    pickers.forEach(function (p) { if (p.value) query.set(p.name, p.value); });
    window.Lux.fetch(slot.dataset.url + "?" + query.toString())
      .then(function (r) { return r.ok ? r.json() : { warnings: [] }; })
      .then(show)
      .catch(function () {});
  }
  pickers.forEach(function (p) { p.addEventListener("change", refresh); });
})();
