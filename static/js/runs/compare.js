// Compare page: loss and accuracy curves of every run on the same axes.
(function () {
  "use strict";
  const source = document.getElementById("compare-curves");
  if (!source || !window.Chart) return;
  const curves = JSON.parse(source.textContent);
  const colors = ["#2456d6", "#d9822b", "#1a7f4b", "#9b3fb5"];
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
        plugins: { title: { display: true, text: title }, legend: { labels: { boxWidth: 12 } } },
        scales: { x: { title: { display: true, text: "epoch" } } } },
    });
  }
  chart("compare-loss", "Loss", ["val_loss", "train_loss"], 1);
  chart("compare-accuracy", "Accuracy %", ["val_accuracy", "train_accuracy"], 100);
})();
