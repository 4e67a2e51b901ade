// The dashboard's trend charts (Chart.js, served from the project's own static files).
// The figures come from the page itself (json_script); the same numbers are in the table below
// the charts for screen readers and for anyone without JavaScript.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-series");
  if (!source || typeof Chart === "undefined") { return; }
  var s = JSON.parse(source.textContent);
  var common = {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    interaction: { mode: "index", intersect: false },
    plugins: { legend: { position: "bottom" } }
  };
  var charts = {};
  charts.bookings = new Chart(document.getElementById("chart-bookings"), {
    type: "bar",
    data: {
      labels: s.labels,
      datasets: [
        { label: s.text.bookings, data: s.bookings, backgroundColor: "#417690" },
        { label: s.text.no_shows, data: s.no_shows, backgroundColor: "#ba2121" }
      ]
    },
    options: Object.assign({}, common, { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } })
  });
  charts.rating = new Chart(document.getElementById("chart-rating"), {
    type: "line",
    data: {
      labels: s.labels,
      datasets: [
        { label: s.text.good_rate, data: s.good_rate, borderColor: "#2e7d32", backgroundColor: "#2e7d32", spanGaps: false, pointRadius: 3 }
      ]
    },
    options: Object.assign({}, common, { scales: { y: { min: 0, max: 100 } } })
  });
  // The browser test waits for this flag: both canvases have been drawn.
  document.documentElement.dataset.chartsDrawn = "true";
})();
