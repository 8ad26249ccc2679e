// The interactive topic map: plotly.js (served by paperscope from the plotly package), one trace per topic,
// coloured by area. Labels are drawn on the map at the centres (datamapplot's way): the areas' labels and the
// largest topics' at the widest zoom, more topics' as one zooms in (the areas' give way past AREA_ZOOM), sized by
// topic size, each placed only where it overlaps no label already placed. The legend (areas that open into their
// topics) and the search box that highlights topics are part of the page (topics.html).
(function () {
  "use strict";
  var AREA_ZOOM = 2.5;  // zoom (widest span / current span) past which only topics are labelled
  var HUES = [212, 18, 135, 282, 42, 178, 330, 95, 250, 0, 60, 195];
  var FONT = "system-ui, -apple-system, \"Segoe UI\", Roboto, sans-serif";
  var PAD = 3;  // pixels kept free around every label
  var measurer = document.createElement("canvas").getContext("2d");

  function colours(data) {
    var byArea = {}, topicColour = {}, areaColour = {};
    data.areas.forEach(function (area, i) {
      areaColour[area.id] = "hsl(" + HUES[i % HUES.length] + ", 60%, 42%)";
      byArea[area.id] = [];
    });
    data.topics.forEach(function (t) { if (t.area in byArea) byArea[t.area].push(t); });
    data.areas.forEach(function (area, i) {
      var members = byArea[area.id].sort(function (a, b) { return b.size - a.size; });
      members.forEach(function (t, j) {
        var light = 34 + Math.round(30 * j / Math.max(1, members.length - 1));
        topicColour[t.id] = "hsl(" + HUES[i % HUES.length] + ", " + (70 - (j % 3) * 12) + "%, " + light + "%)";
      });
    });
    data.topics.forEach(function (t, i) {
      if (!(t.id in topicColour)) topicColour[t.id] = "hsl(" + HUES[i % HUES.length] + ", 60%, 45%)";
    });
    return { topic: topicColour, area: areaColour };
  }

  function lines(label) {  // one keyphrase per line; plotly reads annotation text as HTML
    return label.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").split(", ");
  }

  function measure(textLines, size, weight) {
    measurer.font = weight + " " + size + "px " + FONT;
    var width = 0;
    textLines.forEach(function (line) { width = Math.max(width, measurer.measureText(line).width); });
    return { w: width + 8, h: textLines.length * size * 1.3 + 6 };
  }

  function overlaps(a, b) {
    return a.x0 < b.x1 + PAD && b.x0 < a.x1 + PAD && a.y0 < b.y1 + PAD && b.y0 < a.y1 + PAD;
  }

  function TopicMap(box, data) {
    this.box = box;
    this.data = data;
    this.colour = colours(data);
    // A map of some topics' papers (a topic's page) labels only those topics, and no areas.
    var present = {};
    data.points.forEach(function (p) { present[p[1]] = true; });
    this.topics = data.topics.filter(function (t) { return present[t.id]; });
    this.areas = this.topics.length === data.topics.length ? data.areas : [];
    this.matched = null;  // topic ids the search highlights, or null
    this.focus = null;  // the area opened in the legend, or null
    this.placing = false;
    this.stale = false;
    var xs = data.points.map(function (p) { return p[2]; }), ys = data.points.map(function (p) { return p[3]; });
    this.full = { x: Math.max.apply(null, xs) - Math.min.apply(null, xs) || 1,
                  y: Math.max.apply(null, ys) - Math.min.apply(null, ys) || 1 };
    this.biggest = Math.max.apply(null, this.topics.map(function (t) { return t.size; }).concat([1]));
  }

  TopicMap.prototype.draw = function (svg) {
    var self = this, data = this.data, names = {};
    data.topics.forEach(function (t) { names[t.id] = t.label + (t.emerging ? " (emerging)" : ""); });
    var groups = {};
    data.points.forEach(function (p) {
      var key = p[1] === null ? "outliers" : String(p[1]);
      var g = groups[key] || (groups[key] = { x: [], y: [], text: [], customdata: [], symbol: [] });
      g.x.push(p[2]); g.y.push(p[3]); g.text.push(p[4]); g.customdata.push(p[0]);
      g.symbol.push(p[5] ? "circle-open" : "circle");
    });
    // SVG markers for small maps (crisp, no WebGL needed); WebGL beyond a few thousand points, unless plotly
    // finds no WebGL it can use (it then shows a notice instead of the points): SVG again.
    var kind = data.points.length > 5000 && !svg ? "scattergl" : "scatter";
    this.keys = Object.keys(groups);
    var traces = this.keys.map(function (key) {
      var g = groups[key];
      return { type: kind, mode: "markers", name: key === "outliers" ? "no topic" : names[key] || key,
               x: g.x, y: g.y, text: g.text, customdata: g.customdata,
               hovertemplate: "%{text}<extra>%{fullData.name}</extra>",
               marker: { size: data.points.length > 5000 ? 4 : 6, symbol: g.symbol, opacity: self.opacity(key),
                         color: key === "outliers" ? "#999" : self.colour.topic[key] } };
    });
    var dark = getComputedStyle(document.body).backgroundColor === "rgb(22, 24, 27)";
    this.ink = dark ? "#e6e6e3" : "#1d1f21";
    this.paper = dark ? "rgba(22, 24, 27, 0.78)" : "rgba(251, 251, 249, 0.8)";
    this.box.innerHTML = "";
    return Plotly.newPlot(this.box, traces, {
      margin: { l: 10, r: 10, t: 10, b: 10 }, showlegend: false,
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", font: { color: this.ink },
      xaxis: { visible: false }, yaxis: { visible: false }, hovermode: "closest", dragmode: "pan"
    }, { responsive: true, displaylogo: false, scrollZoom: true }).then(function () {
      if (kind === "scattergl" && self.box.querySelector(".no-webgl")) {
        Plotly.purge(self.box);
        return self.draw(true);
      }
      self.box.on("plotly_click", function (event) {
        var point = event.points && event.points[0];
        if (point) window.location.href = "/papers/" + encodeURI(point.customdata);
      });
      self.box.on("plotly_relayout", function (event) {
        var zoomed = Object.keys(event).some(function (key) { return key.indexOf("axis") >= 0; });
        if (!zoomed) return;  // the labels' own relayout
        if (self.placing) self.stale = true; else self.label();
      });
      return self.label();
    });
  };

  TopicMap.prototype.opacity = function (key) {
    if (this.matched) return this.matched.indexOf(Number(key)) >= 0 ? 0.95 : 0.06;
    return key === "outliers" ? 0.35 : 0.75;
  };

  TopicMap.prototype.zoom = function () {
    var layout = this.box._fullLayout, xr = layout.xaxis.range, yr = layout.yaxis.range;
    return Math.min(this.full.x / Math.abs(xr[1] - xr[0]), this.full.y / Math.abs(yr[1] - yr[0]));
  };

  // Candidate labels, most important first: searched topics, the areas (at a wide zoom), then topics by size.
  TopicMap.prototype.candidates = function () {
    var self = this, zoom = this.zoom(), out = [];
    var scale = Math.min(1.6, Math.pow(zoom, 0.25));
    var topics = this.topics.slice().sort(function (a, b) { return b.size - a.size; });
    function topicLabel(t, strong) {
      var size = Math.round((11 + 5 * Math.sqrt(t.size / self.biggest)) * scale);
      return { kind: "topic", id: t.id, x: t.x, y: t.y, text: lines(t.label), size: size,
               weight: strong ? "700" : "500", colour: self.colour.topic[t.id], strong: strong };
    }
    if (this.matched) {
      topics.filter(function (t) { return self.matched.indexOf(t.id) >= 0; })
        .forEach(function (t) { out.push(topicLabel(t, true)); });
    }
    if (zoom < AREA_ZOOM && this.focus === null && !this.matched) {
      this.areas.forEach(function (area) {
        out.push({ kind: "area", id: area.id, x: area.x, y: area.y, text: lines(area.label.toUpperCase()), size: 16,
                   weight: "700", colour: self.colour.area[area.id], strong: false });
      });
    }
    topics.forEach(function (t) {
      if (self.matched && self.matched.indexOf(t.id) >= 0) return;
      if (self.focus !== null && t.area !== self.focus) return;
      out.push(topicLabel(t, false));
    });
    if (this.focus !== null) {
      topics.forEach(function (t) { if (t.area !== self.focus) out.push(topicLabel(t, false)); });
    }
    return out;
  };

  // Greedy placement: each label at its centre, else just above, below or beside it, where it overlaps none
  // placed before.
  TopicMap.prototype.place = function () {
    var layout = this.box._fullLayout, size = layout._size, xr = layout.xaxis.range, yr = layout.yaxis.range;
    var placed = [], boxes = [];
    this.candidates().forEach(function (c) {
      var px = size.l + (c.x - xr[0]) / (xr[1] - xr[0]) * size.w;
      var py = size.t + (1 - (c.y - yr[0]) / (yr[1] - yr[0])) * size.h;
      if (px < size.l || px > size.l + size.w || py < size.t || py > size.t + size.h) return;
      var extent = measure(c.text, c.size, c.weight);
      var up = extent.h / 2 + 6, side = extent.w / 2 + 6;
      var shifts = [[0, 0], [0, -up], [0, up], [-side, 0], [side, 0], [-side, -up], [side, -up], [-side, up],
                    [side, up]];
      for (var i = 0; i < shifts.length; i++) {
        var cx = px + shifts[i][0], cy = py + shifts[i][1];
        var b = { x0: cx - extent.w / 2, x1: cx + extent.w / 2, y0: cy - extent.h / 2, y1: cy + extent.h / 2 };
        if (b.x0 < size.l || b.x1 > size.l + size.w || b.y0 < size.t || b.y1 > size.t + size.h) continue;
        if (boxes.some(function (o) { return overlaps(b, o); })) continue;
        boxes.push(b);
        placed.push({ label: c, xshift: shifts[i][0], yshift: -shifts[i][1] });
        return;
      }
    });
    return placed;
  };

  TopicMap.prototype.annotations = function (placed) {
    var self = this;
    return placed.map(function (p) {
      var c = p.label;
      return { x: c.x, y: c.y, xshift: p.xshift, yshift: p.yshift, text: c.text.join("<br>"), showarrow: false,
               xanchor: "center", yanchor: "middle", align: "center", borderpad: 2,
               bgcolor: self.paper, bordercolor: c.strong ? c.colour : "rgba(0,0,0,0)", borderwidth: c.strong ? 2 : 0,
               font: { family: FONT, size: c.size, weight: Number(c.weight),
                       color: c.kind === "area" ? c.colour : self.ink },
               name: c.kind + "-" + c.id };
    });
  };

  // Place the labels, draw them, then check what the browser drew: a label that still touches one drawn
  // before it or the map's edge (the text measured a little narrower than drawn) is dropped.
  TopicMap.prototype.label = function () {
    var self = this, placed = this.place();
    this.placing = true;
    return Plotly.relayout(this.box, { annotations: this.annotations(placed) }).then(function () {
      var drawn = Array.prototype.slice.call(self.box.querySelectorAll("g.annotation"));
      var rects = [], keep = [], frame = self.box.getBoundingClientRect();
      drawn.forEach(function (node) {
        var i = Number(node.getAttribute("data-index"));
        var r = node.getBoundingClientRect();
        var b = { x0: r.left, x1: r.right, y0: r.top, y1: r.bottom };
        if (r.left < frame.left || r.right > frame.right || r.top < frame.top || r.bottom > frame.bottom) return;
        if (rects.some(function (o) { return overlaps(b, o); })) return;
        rects.push(b);
        keep.push(placed[i]);
      });
      if (keep.length === placed.length) return null;
      return Plotly.relayout(self.box, { annotations: self.annotations(keep) });
    }).then(function () {
      self.placing = false;
      if (self.stale) {  // zoomed while the labels were being placed: place them for the new view
        self.stale = false;
        return self.label();
      }
      // How many times labels were placed: what a test waits on after a zoom or a search.
      self.box.dataset.placements = String(Number(self.box.dataset.placements || 0) + 1);
      self.box.dataset.ready = "true";
    });
  };

  TopicMap.prototype.restyle = function () {
    var self = this;
    return Plotly.restyle(this.box, { "marker.opacity": this.keys.map(function (k) { return self.opacity(k); }) });
  };

  TopicMap.prototype.search = function (query, status) {
    var q = query.trim().toLowerCase(), self = this;
    if (q.length < 2) {
      this.matched = null;
      status.textContent = "";
    } else {
      var areas = this.areas.filter(function (a) { return a.label.toLowerCase().indexOf(q) >= 0; })
        .map(function (a) { return a.id; });
      this.matched = this.topics.filter(function (t) {
        return areas.indexOf(t.area) >= 0 || t.label.toLowerCase().indexOf(q) >= 0 ||
          (t.keywords || []).some(function (k) { return k.toLowerCase().indexOf(q) >= 0; });
      }).map(function (t) { return t.id; });
      status.textContent = this.matched.length === 1 ? "1 topic matches" :
        this.matched.length ? this.matched.length + " topics match" : "No topic matches";
    }
    this.box.dataset.highlighted = (this.matched || []).join(",");
    document.querySelectorAll(".topic-legend [data-topic]").forEach(function (item) {
      item.classList.toggle("match", !!self.matched && self.matched.indexOf(Number(item.dataset.topic)) >= 0);
    });
    return this.restyle().then(function () { return self.label(); });
  };

  TopicMap.prototype.showArea = function (areaId) {
    this.focus = areaId;
    var self = this, topics = {}, xs = [], ys = [];
    this.topics.forEach(function (t) { if (t.area === areaId) topics[t.id] = true; });
    if (areaId === null) {
      return Plotly.relayout(this.box, { "xaxis.autorange": true, "yaxis.autorange": true });
    }
    this.data.points.forEach(function (p) { if (topics[p[1]]) { xs.push(p[2]); ys.push(p[3]); } });
    if (!xs.length) return self.label();
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    var mx = (x1 - x0) * 0.05 || 0.01, my = (y1 - y0) * 0.05 || 0.01;
    return Plotly.relayout(this.box, { "xaxis.range": [x0 - mx, x1 + mx], "yaxis.range": [y0 - my, y1 + my] });
  };

  function colourLegend(map) {
    document.querySelectorAll(".topic-legend .swatch").forEach(function (swatch) {
      var colour = swatch.dataset.area ? map.colour.area[swatch.dataset.area] : map.colour.topic[swatch.dataset.topic];
      if (colour) swatch.style.backgroundColor = colour;  // CSSOM, which the page's CSP allows
    });
    document.querySelectorAll(".topic-legend details[data-area]").forEach(function (details) {
      details.addEventListener("toggle", function () {
        if (details.open) {
          document.querySelectorAll(".topic-legend details[open]").forEach(function (other) {
            if (other !== details) other.open = false;
          });
          map.showArea(Number(details.dataset.area));
        } else if (map.focus === Number(details.dataset.area)) {
          map.showArea(null);
        }
      });
    });
  }

  function draw(box) {
    if (!window.Plotly || !window.fetch) return;  // the static SVG (or nothing) stays
    fetch(box.dataset.mapUrl, { headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (!data.points || !data.points.length) return;
        data.areas = data.areas || [];
        var map = new TopicMap(box, data);
        map.draw().then(function () {
          colourLegend(map);
          var input = document.getElementById("topic-search");
          var status = document.getElementById("topic-search-status");
          if (!input || !status) return;
          var timer = null;
          input.addEventListener("input", function () {
            clearTimeout(timer);
            timer = setTimeout(function () { map.search(input.value, status); }, 150);
          });
          input.form.addEventListener("submit", function (event) {
            event.preventDefault();
            clearTimeout(timer);
            map.search(input.value, status);
          });
        });
      });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".topic-map[data-map-url]").forEach(draw);
  });
})();
