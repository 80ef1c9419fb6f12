// Run page: draw the status, progress and curves from the status JSON, and poll it while the run is active.
(function () {
  "use strict";
  const page = document.getElementById("run-page");
  const initial = document.getElementById("run-status-data");
  if (!page || !initial) return;
  const $ = function (id) { return document.getElementById(id); };

  function text(id, value) { const el = $(id); if (el) el.textContent = value; }
  function show(id, visible) { const el = $(id); if (el) el.hidden = !visible; }
  function num(v, digits) { return v === null || v === undefined ? "—" : Number(v).toFixed(digits); }
  function duration(s) {
    if (s === null || s === undefined) return "—";
    s = Math.round(s);
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  }
  function lr(v) {
    if (v === null || v === undefined) return "—";
    return v >= 0.001 ? String(Number(Number(v).toPrecision(3))) : Number(v).toExponential(2);
  }
  function pct(v) { return v === null || v === undefined ? null : Math.round(v * 1000) / 10; }

  function lineChart(id, yTitle, datasets, extra) {
    const el = $(id);
    if (!el || !window.Chart) return null;
    return new Chart(el, {
      type: "line",
      data: { labels: [], datasets: datasets.map(function (d) {
        return Object.assign({ data: [], pointRadius: 2, tension: 0.2, spanGaps: true, borderWidth: 2 }, d);
      }) },
      options: Object.assign({ animation: false, maintainAspectRatio: false, interaction: { mode: "index", intersect: false },
        scales: { x: { title: { display: true, text: "epoch" } }, y: { title: { display: true, text: yTitle } } } }, extra || {}),
    });
  }
  const charts = {
    loss: lineChart("loss-chart", "loss", [
      { label: "train", borderColor: "#2456d6", backgroundColor: "#2456d6" },
      { label: "validation", borderColor: "#d9822b", backgroundColor: "#d9822b" }]),
    accuracy: lineChart("accuracy-chart", "accuracy %", [
      { label: "train", borderColor: "#2456d6", backgroundColor: "#2456d6" },
      { label: "validation", borderColor: "#d9822b", backgroundColor: "#d9822b" }]),
    lr: lineChart("lr-chart", "learning rate", [{ label: "learning rate", borderColor: "#1a7f4b", backgroundColor: "#1a7f4b" }],
      { plugins: { legend: { display: false } } }),
  };
  function setSeries(chart, labels, series) {
    if (!chart) return;
    chart.data.labels = labels;
    series.forEach(function (values, i) { chart.data.datasets[i].data = values; });
    chart.update("none");
  }

  function drawCurves(epochs) {
    const labels = epochs.map(function (e) { return e.epoch; });
    setSeries(charts.loss, labels, [epochs.map(function (e) { return e.train_loss; }), epochs.map(function (e) { return e.val_loss; })]);
    setSeries(charts.accuracy, labels, [epochs.map(function (e) { return pct(e.train_accuracy); }),
      epochs.map(function (e) { return pct(e.val_accuracy); })]);
    setSeries(charts.lr, labels, [epochs.map(function (e) { return e.lr; })]);
    show("loss-empty", !epochs.length);
    show("accuracy-empty", !epochs.length);
    const body = document.querySelector("#epochs-table tbody");
    body.textContent = "";
    epochs.slice().reverse().forEach(function (e) {
      const tr = document.createElement("tr");
      [e.epoch, num(e.train_loss, 4), num(pct(e.train_accuracy), 1) + "%", num(e.val_loss, 4),
        e.val_accuracy === null ? "—" : num(pct(e.val_accuracy), 1) + "%", lr(e.lr), num(e.images_per_s, 0)]
        .forEach(function (v) { const td = document.createElement("td"); td.className = "num"; td.textContent = v; tr.appendChild(td); });
      body.appendChild(tr);
    });
  }

  function drawProgress(data) {
    const p = data.progress || {};
    let phase = data.status_label;
    if (data.status === "running" && p.phase_label) {
      phase = p.phase_label + (p.phase === "cache" && p.to_decode ? ": " + p.decoded + " of " + p.to_decode + " images decoded" : "");
      if (data.cancel_requested) phase += " (stopping: cancel requested)";
    }
    text("phase-text", phase);
    const bar = $("progress-bar");
    // The bar is the whole run's progress and only moves forward; while images are decoded into the
    // cache it stays at the start and the phase text counts them (a bar filling twice reads as done).
    const fraction = p.phase === "cache" ? 0 : p.fraction || 0;
    bar.querySelector(".bar").style.width = (fraction * 100).toFixed(1) + "%";
    bar.setAttribute("aria-valuenow", Math.round(fraction * 100));
    const epoch = p.epoch || (data.epochs || []).length;  // a finished run may keep no progress snapshot
    text("p-epoch", p.epochs ? epoch + " / " + p.epochs : "—");
    text("p-step", p.steps ? p.step + " / " + p.steps : "—");
    text("p-speed", num(p.images_per_s, 0));
    text("p-eta", data.status === "running" ? duration(p.eta_s) : "—");
    text("p-lr", lr(p.lr));
    text("p-loss", num(p.loss, 4));
    text("attempt-text", data.attempts > 1 ? "attempt " + data.attempts : "");
  }

  function drawResults(data) {
    const list = $("results-list");
    list.textContent = "";
    (data.evaluations || []).forEach(function (e) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = e.url;
      a.textContent = (e.version ? e.version + " · " : "") + e.split;
      const note = document.createElement("span");
      note.className = "muted";
      note.textContent = " " + (e.status === "succeeded" ? "top-1 " + num(pct(e.top1), 1) + "%" : e.status);
      li.appendChild(a);
      li.appendChild(note);
      list.appendChild(li);
    });
    show("results-card", (data.evaluations || []).length > 0);
    const weights = $("weights-link");
    if (data.weights_url) weights.href = data.weights_url;
    show("weights-link", Boolean(data.weights_url));
  }

  function drawHealth(data) {
    const list = $("health-list");
    if (!list) return;
    list.textContent = "";
    (data.health || []).forEach(function (w) {
      const li = document.createElement("li");
      li.className = "health-warning";
      li.dataset.code = w.code;
      const message = document.createElement("strong");
      message.className = "health-message";
      message.textContent = w.message;
      const cause = document.createElement("span");
      cause.className = "health-cause";
      cause.textContent = " " + w.cause;
      li.appendChild(message);
      li.appendChild(cause);
      if (w.change) {
        const change = document.createElement("span");
        change.className = "health-change";
        change.textContent = " " + w.change + ".";
        li.appendChild(change);
      }
      list.appendChild(li);
    });
    show("health-card", (data.health || []).length > 0);
    show("rerun-suggested-form", Boolean(data.can_rerun_suggested));
  }

  function render(data) {
    const pill = $("run-status");
    pill.className = "status " + data.status;
    pill.textContent = data.status.charAt(0).toUpperCase() + data.status.slice(1);
    pill.title = data.status_label;
    drawProgress(data);
    drawCurves(data.epochs || []);
    drawResults(data);
    show("cancel-form", data.can_cancel);
    show("resume-form", data.can_resume);
    show("evaluate-link", Boolean(data.evaluate_url));
    show("model-card-link", Boolean(data.model_card_url));
    drawHealth(data);
    text("error-text", data.error || "");
    show("error-card", Boolean(data.error));
    text("traceback-text", data.traceback || "");
    show("traceback-box", Boolean(data.traceback));
    const warnings = $("warnings-list");
    warnings.textContent = "";
    (data.warnings || []).forEach(function (w) { const li = document.createElement("li"); li.textContent = w; warnings.appendChild(li); });
    show("warnings-card", (data.warnings || []).length > 0);
    const t = data.timings || {};
    text("run-device", data.device || "—");
    text("run-worker", data.worker || "—");
    const shown = data.shown_times || {};  // drawn by the server: the page's one format and time zone
    text("run-started", shown.started_at || "—");
    text("run-finished", shown.finished_at || "—");
    text("run-waited", duration(t.waited_s));
    text("run-train-time", data.train_time_text || "—");  // worded by the server: every attempt's epochs
    text("run-best-epoch", data.best_epoch || "—");
    text("run-timings", data.timings_text || "—");  // worded by the server: each attempt's phases
  }

  const first = JSON.parse(initial.textContent);
  render(first);
  if (first.is_active) {
    let afterEnd = 0;
    Lux.poll(page.dataset.statusUrl, function (data) {
      render(data);
      // Poll a few more times after the run ends, in case its last rows land just after the status changes.
      if (!data.is_active && ++afterEnd > 3) return false;
    }, 1000);
  }
})();
