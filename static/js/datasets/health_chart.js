// The health panel's bar chart: images per class, stacked by split.
(function () {
  "use strict";
  const canvas = document.getElementById("class-chart");
  const source = document.getElementById("class-chart-data");
  if (!canvas || !source || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  const colours = { train: "#2456d6", val: "#8a5cc2", test: "#1a9e63", unassigned: "#b8c0cf" };
  const datasets = data.series
    .filter((s) => s.counts.some((n) => n > 0))
    .map((s) => ({ label: s.label, data: s.counts, backgroundColor: colours[s.split] || "#999", borderRadius: 3, maxBarThickness: 56 }));
  new window.Chart(canvas, {
    type: "bar",
    data: { labels: data.labels, datasets: datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: { x: { stacked: true, grid: { display: false } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
      plugins: { legend: { position: "bottom" }, tooltip: { mode: "index", intersect: false } },
    },
  });
})();
