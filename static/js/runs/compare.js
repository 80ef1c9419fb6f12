// Compare and search pages: loss and accuracy curves of every run on the same axes.
// The legend names each run once (its validation line; the training line is dashed, same colour), and a click
// on a name hides or shows both of its lines: a legend entry per line crowded out the plot on a phone.
(function () {
  "use strict";
  const source = document.getElementById("compare-curves");
  if (!source || !window.Chart) return;
  const curves = JSON.parse(source.textContent);
  // A search has more members than the compare page's 4 runs: ten colours before any repeats.
  const colors = ["#2456d6", "#d9822b", "#1a7f4b", "#9b3fb5", "#c23b3b", "#0f8b8d", "#8c6d1f", "#d1478f",
    "#5b6b8c", "#6aa121"];
  const longest = curves.reduce(function (a, c) { return c.epoch.length > a.length ? c.epoch : a; }, []);

  function series(key, label, dashed, scale) {
    return curves.map(function (c, i) {
      return { label: c.label + " · " + label, data: c[key].map(function (v) { return v === null ? null : v * scale; }),
        borderColor: colors[i % colors.length], backgroundColor: colors[i % colors.length],
        borderDash: dashed ? [5, 4] : [], pointRadius: 2, spanGaps: true, tension: 0.2 };
    });
  }
  function chart(id, title, keys, scale) {
    const el = document.getElementById(id);
    if (!el) return;
    new Chart(el, {
      type: "line",
      data: { labels: longest, datasets: series(keys[0], "val", false, scale).concat(series(keys[1], "train", true, scale)) },
      options: { animation: false, maintainAspectRatio: false,
        plugins: { title: { display: true, text: title },
          subtitle: { display: true, text: "solid: validation · dashed: training" },
          legend: { labels: { boxWidth: 12, generateLabels: runLabels }, onClick: toggleRun } },
        scales: { x: { title: { display: true, text: "epoch" } } } },
    });
  }
  function runLabels(ch) {
    return Chart.defaults.plugins.legend.labels.generateLabels(ch)
      .filter(function (item) { return item.datasetIndex < curves.length; })
      .map(function (item) { item.text = curves[item.datasetIndex].label; return item; });
  }
  function toggleRun(event, item, legend) {
    const ch = legend.chart;
    const shown = !ch.isDatasetVisible(item.datasetIndex);
    [item.datasetIndex, item.datasetIndex + curves.length].forEach(function (i) { ch.setDatasetVisibility(i, shown); });
    ch.update();
  }
  chart("compare-loss", "Loss", ["val_loss", "train_loss"], 1);
  chart("compare-accuracy", "Accuracy %", ["val_accuracy", "train_accuracy"], 100);
})();
