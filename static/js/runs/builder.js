// Build your own network: edit a layer list and show each layer's shape as the engine computes it.
(function () {
  "use strict";
  const form = document.getElementById("builder-form");
  if (!form) return;
  // The settings each layer type takes, with what a new layer starts with.
  const KINDS = {
    conv: { label: "Convolution", fields: [["channels", 32, 1], ["kernel", 3, 1], ["stride", 1, 1], ["padding", 1, 1]] },
    relu: { label: "ReLU", fields: [] },
    maxpool: { label: "Max-pool", fields: [["kernel", 2, 1], ["stride", 2, 1]] },
    avgpool: { label: "Average-pool", fields: [["kernel", 2, 1], ["stride", 2, 1]] },
    batchnorm: { label: "Batch-norm", fields: [] },
    dropout: { label: "Dropout", fields: [["p", 0.5, 0.05]] },
    flatten: { label: "Flatten", fields: [] },
    globalavgpool: { label: "Global average pool", fields: [] },
    linear: { label: "Fully-connected", fields: [["features", 128, 1]] },
  };
  const rowsEl = document.getElementById("layer-rows");
  const status = document.getElementById("builder-status");
  const sizeInput = form.elements.image_size;
  const classesInput = document.getElementById("preview-classes");
  const specInput = form.elements.spec;
  let spec = JSON.parse(document.getElementById("initial-spec").textContent || "[]");
  let timer = null, sequence = 0;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function shapeText(shape) {
    if (!shape) return "—";
    return shape.length === 3 ? shape[0] + " × " + shape[1] + " × " + shape[2] : shape[0] + " features";
  }
  function fmt(n) { return n === null || n === undefined ? "—" : Number(n).toLocaleString("en-US"); }

  function layerRow(layer, i) {
    const kind = KINDS[layer.type] || { label: layer.type, fields: [] };
    const tr = el("tr", { "data-index": i + 1, class: "layer" });
    tr.appendChild(el("td", { class: "num" }, String(i + 1)));
    const typeCell = el("td");
    const select = el("select", { "aria-label": "Type of layer " + (i + 1), "data-role": "type" });
    Object.keys(KINDS).forEach(function (k) {
      const opt = el("option", { value: k }, KINDS[k].label);
      if (k === layer.type) opt.selected = true;
      select.appendChild(opt);
    });
    typeCell.appendChild(select);
    tr.appendChild(typeCell);
    const cell = el("td", { class: "settings-cell" });
    const settings = el("div", { class: "settings" });
    cell.appendChild(settings);
    kind.fields.forEach(function (f) {
      const label = el("label", { class: "setting" });
      label.appendChild(document.createTextNode(f[0] + " "));
      const input = el("input", { type: "number", step: f[2], min: f[0] === "padding" ? 0 : f[0] === "p" ? 0 : 1,
        "data-field": f[0], "aria-label": f[0] + " of layer " + (i + 1) });
      input.value = layer[f[0]] === undefined ? "" : layer[f[0]];
      label.appendChild(input);
      settings.appendChild(label);
    });
    if (!kind.fields.length) settings.appendChild(el("span", { class: "muted small" }, "no settings"));
    tr.appendChild(cell);
    const shapeCell = el("td", { class: "shape" });
    shapeCell.appendChild(el("span", { "data-role": "shape" }, "…"));
    shapeCell.appendChild(el("span", { class: "formula", "data-role": "formula" }));
    tr.appendChild(shapeCell);
    tr.appendChild(el("td", { class: "num", "data-role": "params" }, "…"));
    const moves = el("td", { class: "row-actions" });
    [["up", "↑", "Move layer " + (i + 1) + " up"], ["down", "↓", "Move layer " + (i + 1) + " down"],
      ["remove", "✕", "Remove layer " + (i + 1)]].forEach(function (b) {
      const button = el("button", { type: "button", "data-action": b[0], title: b[2], "aria-label": b[2] }, b[1]);
      if ((b[0] === "up" && i === 0) || (b[0] === "down" && i === spec.length - 1)) button.disabled = true;
      moves.appendChild(button);
    });
    tr.appendChild(moves);
    return tr;
  }

  function render() {
    rowsEl.textContent = "";
    spec.forEach(function (layer, i) { rowsEl.appendChild(layerRow(layer, i)); });
    fillPositions();
    schedule(0);
  }

  function showReport(report) {
    const byIndex = {};
    (report.layers || []).forEach(function (row) { byIndex[row.index] = row; });
    rowsEl.querySelectorAll(".error-row").forEach(function (r) { r.remove(); });
    Array.from(rowsEl.querySelectorAll("tr.layer")).forEach(function (tr) {
      const row = byIndex[Number(tr.dataset.index)];
      tr.classList.remove("has-error");
      tr.querySelector("[data-role=shape]").textContent = row ? shapeText(row.out_shape) : "—";
      // How a convolution or pool's output side is worked out, with this layer's own numbers.
      tr.querySelector("[data-role=formula]").textContent = row && row.formula ? row.formula : "";
      tr.querySelector("[data-role=params]").textContent = row ? fmt(row.params) : "—";
    });
    const head = byIndex[spec.length + 1];
    document.getElementById("head-index").textContent = String(spec.length + 1);
    document.getElementById("head-shape").textContent = head ? shapeText(head.out_shape) : "—";
    document.getElementById("head-params").textContent = head ? fmt(head.params) : "—";
    if (head) document.getElementById("head-label").textContent = head.label;
    document.getElementById("total-params").textContent = report.ok ? fmt(report.total_params) : "—";
    const error = report.error;
    if (report.ok || !error) {
      status.className = "builder-status ok";
      status.textContent = "The network fits: " + fmt(report.total_params) + " parameters.";
      return;
    }
    const bad = error.layer && rowsEl.querySelector('tr.layer[data-index="' + error.layer + '"]');
    status.className = "builder-status field-error";
    status.textContent = bad ? "Layer " + error.layer + " does not fit: see the message under it." : error.message;
    if (bad) {
      bad.classList.add("has-error");
      const msg = el("tr", { class: "error-row" });
      const td = el("td", { colspan: "6", class: "field-error", role: "alert" }, error.message);
      msg.appendChild(td);
      bad.after(msg);
    }
  }

  function check() {
    const mine = ++sequence;
    const body = { spec: spec, image_size: Number(sizeInput.value) || 0, num_classes: Number(classesInput.value) || 0 };
    document.getElementById("input-shape").textContent = "3 × " + sizeInput.value + " × " + sizeInput.value;
    Lux.fetch(form.dataset.shapesUrl, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) { return r.json(); })
      .then(function (report) { if (mine === sequence) showReport(report); })
      .catch(function () { status.textContent = "Could not reach the server to check the shapes."; });
  }
  // Wait for a pause in typing so each keystroke does not cost a request.
  function schedule(delay) { clearTimeout(timer); timer = setTimeout(check, delay === undefined ? 250 : delay); }

  rowsEl.addEventListener("input", function (e) {
    const tr = e.target.closest("tr.layer");
    if (!tr || !e.target.dataset.field) return;
    const layer = spec[Number(tr.dataset.index) - 1];
    const raw = e.target.value;
    if (raw === "") delete layer[e.target.dataset.field];
    else layer[e.target.dataset.field] = Number(raw);
    schedule();
  });
  rowsEl.addEventListener("change", function (e) {
    if (e.target.dataset.role !== "type") return;
    const i = Number(e.target.closest("tr.layer").dataset.index) - 1;
    spec[i] = newLayer(e.target.value);
    render();
  });
  rowsEl.addEventListener("click", function (e) {
    const button = e.target.closest("button[data-action]");
    if (!button) return;
    const i = Number(button.closest("tr.layer").dataset.index) - 1;
    const action = button.dataset.action;
    if (action === "remove") spec.splice(i, 1);
    else {
      const j = action === "up" ? i - 1 : i + 1;
      if (j < 0 || j >= spec.length) return;
      const moved = spec[i]; spec[i] = spec[j]; spec[j] = moved;
    }
    render();
  });
  function newLayer(type) {
    const layer = { type: type };
    KINDS[type].fields.forEach(function (f) { layer[f[0]] = f[1]; });
    return layer;
  }
  const addType = document.getElementById("add-type");
  const addWhere = document.getElementById("add-where");
  Object.keys(KINDS).forEach(function (k) { addType.appendChild(el("option", { value: k }, KINDS[k].label)); });
  // Where a new layer goes: at the end (the usual), at the top, or right after any layer.
  function fillPositions() {
    const kept = addWhere.value || "end";
    addWhere.textContent = "";
    addWhere.appendChild(el("option", { value: "end" }, "at the end"));
    addWhere.appendChild(el("option", { value: "0" }, "at the top"));
    spec.forEach(function (layer, i) {
      const label = (KINDS[layer.type] || { label: layer.type }).label;
      addWhere.appendChild(el("option", { value: String(i + 1) }, "after layer " + (i + 1) + " (" + label + ")"));
    });
    addWhere.value = Array.from(addWhere.options).some(function (o) { return o.value === kept; }) ? kept : "end";
  }
  document.getElementById("add-layer").addEventListener("click", function () {
    const where = addWhere.value === "end" ? spec.length : Number(addWhere.value);
    spec.splice(where, 0, newLayer(addType.value));
    if (addWhere.value !== "end") addWhere.value = String(where + 1);  // the next one goes after the new layer
    render();
  });
  sizeInput.addEventListener("input", function () { schedule(); });
  classesInput.addEventListener("input", function () { schedule(); });
  form.addEventListener("submit", function () { specInput.value = JSON.stringify(spec); });
  render();
})();
