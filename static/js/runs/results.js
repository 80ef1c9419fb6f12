// Results page: the row-normalised toggle, the per-class accuracy bars and the reliability diagram.
(function () {
  "use strict";
  const toggle = document.getElementById("normalise-toggle");
  const matrix = document.getElementById("confusion-matrix");
  if (toggle && matrix) {
    toggle.addEventListener("change", function () { matrix.classList.toggle("normalised", toggle.checked); });
  }
  const source = document.getElementById("results-data");
  if (!source || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  const pct = function (v) { return Math.round(v * 1000) / 10; };

  const bars = document.getElementById("per-class-chart");
  if (bars && data.per_class.length) {
    bars.parentElement.style.setProperty("--rows", data.per_class.length);  // one bar per class sets the height
    new Chart(bars, {
      type: "bar",
      data: {
        labels: data.per_class.map(function (r) { return r.name; }),
        datasets: [{ label: "Accuracy (recall) %", data: data.per_class.map(function (r) { return pct(r.accuracy); }),
          backgroundColor: data.per_class.map(function (r) { return r.accuracy < 0.5 ? "#d9534f" : r.accuracy < 0.8 ? "#e0a030" : "#3b8f5e"; }) }],
      },
      options: { indexAxis: "y", maintainAspectRatio: false, animation: false,
        scales: { x: { min: 0, max: 100, title: { display: true, text: "accuracy %" } }, y: { ticks: { autoSkip: false } } },
        plugins: { legend: { display: false } } },
    });
  }

  const rel = document.getElementById("reliability-chart");
  if (rel && data.reliability.length) {
    const labels = data.reliability.map(function (b) { return Math.round((b.lower + b.upper) * 50) + "%"; });
    new Chart(rel, {
      data: {
        labels: labels,
        datasets: [
          { type: "bar", label: "Accuracy in bin %", data: data.reliability.map(function (b) { return b.count ? pct(b.accuracy) : null; }), backgroundColor: "#2456d6aa" },
          { type: "line", label: "Perfect calibration", data: data.reliability.map(function (b) { return pct((b.lower + b.upper) / 2); }),
            borderColor: "#888", borderDash: [5, 4], pointRadius: 0, fill: false },
          { type: "line", label: "Mean confidence %", data: data.reliability.map(function (b) { return b.count ? pct(b.confidence) : null; }),
            borderColor: "#b3261e", pointRadius: 2, showLine: false },
        ],
      },
      options: { animation: false, maintainAspectRatio: false,
        scales: { y: { min: 0, max: 100, title: { display: true, text: "accuracy %" } }, x: { title: { display: true, text: "confidence" } } },
        plugins: { tooltip: { callbacks: { afterBody: function (items) { const b = data.reliability[items[0].dataIndex]; return b.count + " images"; } } } } },
    });
  }
})();
