/* Dashboard charts (Chart.js, vendored in /static/vendor/chartjs). */
(function () {
  "use strict";
  function draw() {
    var raw = document.getElementById("dashboard-data");
    if (!raw || !window.Chart) return;
    var d = JSON.parse(raw.textContent);
    var C = window.Chart;
    C.defaults.font.family = '"PingFang SC","Microsoft YaHei","Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif';
    C.defaults.color = "#333";
    C.defaults.animation = false;
    var palette = ["#1f6feb", "#d97706", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#65a30d"];
    var names = JSON.parse(document.getElementById("type-names").textContent);  // classifiers.records
    var CT = names.call_types, PT = names.complaint_types;
    function stacked(id, series, names) {
      var keys = Object.keys(series);
      new C(document.getElementById(id), {type: "bar", data: {labels: d.weeks,
        datasets: keys.map(function (k, i) { return {label: names[k] || k, data: series[k], backgroundColor: palette[i % palette.length]}; })},
        options: {responsive: true, maintainAspectRatio: false, scales: {x: {stacked: true}, y: {stacked: true, beginAtZero: true, ticks: {precision: 0}}}}});
    }
    new C(document.getElementById("chart-grades"), {type: "doughnut",
      data: {labels: ["A", "B", "C"], datasets: [{data: [d.grades.A, d.grades.B, d.grades.C],
        backgroundColor: ["#16a34a", "#d97706", "#dc2626"]}]},
      options: {responsive: true, maintainAspectRatio: false, plugins: {legend: {position: "bottom"}}}});
    new C(document.getElementById("chart-trend"), {type: "line",
      data: {labels: d.weeks, datasets: [
        {label: "平均分", data: d.trend, borderColor: "#1f6feb", backgroundColor: "#1f6feb", spanGaps: true, yAxisID: "y"},
        {label: "通话量", data: d.counts, type: "bar", backgroundColor: "rgba(100,116,139,.3)", yAxisID: "y1"}]},
      options: {responsive: true, maintainAspectRatio: false, scales: {
        y: {suggestedMin: 60, suggestedMax: 100, title: {display: true, text: "分"}},
        y1: {position: "right", beginAtZero: true, grid: {drawOnChartArea: false}, ticks: {precision: 0}}}}});
    new C(document.getElementById("chart-failed"), {type: "bar",
      data: {labels: d.failed.map(function (f) { return f.code + " " + f.title; }),
             datasets: [{label: "不合格次数", data: d.failed.map(function (f) { return f.count; }), backgroundColor: "#dc2626"}]},
      options: {indexAxis: "y", responsive: true, maintainAspectRatio: false, plugins: {legend: {display: false}},
                scales: {x: {beginAtZero: true, ticks: {precision: 0}}}}});
    stacked("chart-calltypes", d.call_types, CT);
    stacked("chart-complainttypes", d.complaint_types, PT);
    if (d.monitors && d.monitors.length && document.getElementById("chart-monitors")) {
      new C(document.getElementById("chart-monitors"), {type: "line",
        data: {labels: d.weeks, datasets: d.monitors.map(function (m, i) {
          return {label: m.name, data: m.counts, borderColor: palette[i % palette.length],
                  backgroundColor: palette[i % palette.length]}; })},
        options: {responsive: true, maintainAspectRatio: false,
                  scales: {y: {beginAtZero: true, ticks: {precision: 0}}}}});
    }
    document.body.dataset.chartsReady = "1";
  }
  if (document.readyState === "complete") draw(); else window.addEventListener("load", draw);
})();
