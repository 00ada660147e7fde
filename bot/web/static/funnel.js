/* The funnel page's charts. The numbers come from the page's JSON block (#funnel-data); the
   same numbers are in the tables under each chart, for screen readers and for copying. */
(function () {
  "use strict";

  var source = document.getElementById("funnel-data");
  if (!source || typeof window.Chart === "undefined") {
    return; // without the chart library the tables still say everything
  }
  var data = JSON.parse(source.textContent);

  // Okabe–Ito: told apart also with colour blindness
  var PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
                 "#999999", "#882255"];
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  Chart.defaults.font.size = 16;
  Chart.defaults.color = "#0b0c0c";
  if (reduceMotion) {
    Chart.defaults.animation = false;
  }

  function grouped(canvasId, series) {
    var canvas = document.getElementById(canvasId);
    if (!canvas || !series.length) {
      if (canvas) {
        canvas.parentNode.hidden = true;
      }
      return;
    }
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.steps,
        datasets: series.map(function (s, i) {
          var colour = PALETTE[i % PALETTE.length];
          return { label: s.label, data: s.data, backgroundColor: colour, borderColor: colour, borderWidth: 1 };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "Antal samtal" } } },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  grouped("chart-language", data.by_language);
  grouped("chart-channel", data.by_channel);

  var dropoff = document.getElementById("chart-dropoff");
  if (dropoff) {
    new Chart(dropoff, {
      type: "bar",
      data: {
        labels: data.dropoff.map(function (row) { return row.label; }),
        datasets: [{ label: "Slutade efter frågan", data: data.dropoff.map(function (row) { return row.count; }),
                     backgroundColor: PALETTE[5], borderColor: PALETTE[5], borderWidth: 1 }]
      },
      options: {
        indexAxis: "y",
        responsive: true,
        maintainAspectRatio: false,
        scales: { x: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "Antal samtal" } } },
        plugins: { legend: { display: false } }
      }
    });
  }
})();
