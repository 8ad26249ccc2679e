// The interactive topic map: plotly.js (served by paperscope from the plotly package), one trace per topic.
(function () {
  "use strict";
  function draw(box) {
    if (!window.Plotly || !window.fetch) return;  // the static SVG (or nothing) stays
    fetch(box.dataset.mapUrl, { headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (!data.points || !data.points.length) return;
        var labels = {};
        data.topics.forEach(function (t) { labels[t.id] = t.label + (t.emerging ? " (emerging)" : ""); });
        var groups = {};
        data.points.forEach(function (p) {
          var key = p[1] === null ? "outliers" : String(p[1]);
          var g = groups[key] || (groups[key] = { x: [], y: [], text: [], customdata: [], symbol: [] });
          g.x.push(p[2]); g.y.push(p[3]); g.text.push(p[4]); g.customdata.push(p[0]);
          g.symbol.push(p[5] ? "circle-open" : "circle");
        });
        // SVG markers for small maps (crisp, no WebGL needed); WebGL beyond a few thousand points.
        var kind = data.points.length > 5000 ? "scattergl" : "scatter";
        var traces = Object.keys(groups).map(function (key) {
          var g = groups[key];
          return { type: kind, mode: "markers", name: key === "outliers" ? "no topic" : labels[key] || key,
                   x: g.x, y: g.y, text: g.text, customdata: g.customdata, hovertemplate: "%{text}<extra>%{fullData.name}</extra>",
                   marker: { size: 6, symbol: g.symbol, opacity: key === "outliers" ? 0.35 : 0.8,
                             color: key === "outliers" ? "#999" : undefined } };
        });
        var dark = getComputedStyle(document.body).backgroundColor === "rgb(22, 24, 27)";
        var colour = dark ? "#e6e6e3" : "#1d1f21";
        box.innerHTML = "";
        Plotly.newPlot(box, traces, {
          margin: { l: 10, r: 10, t: 10, b: 10 }, showlegend: traces.length <= 40,
          paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", font: { color: colour },
          xaxis: { visible: false }, yaxis: { visible: false }, hovermode: "closest",
          legend: { orientation: "h" }
        }, { responsive: true, displaylogo: false });
        box.on("plotly_click", function (event) {
          var point = event.points && event.points[0];
          if (point) window.location.href = "/papers/" + encodeURI(point.customdata);
        });
        box.dataset.ready = "true";
      });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".topic-map[data-map-url]").forEach(draw);
  });
})();
