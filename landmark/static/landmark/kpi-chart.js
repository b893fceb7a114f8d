/* KPI history chart: value per window, with the healthy range drawn as a band that
 * follows each window's own target. Reads the JSON embedded in the chart element
 * (json_script), or fetches data-src (chart.json) when there is none. The data table
 * beside the chart carries the same numbers for anyone without JavaScript.
 * Every number it writes comes written from the server (value_labels, low_labels,
 * high_labels, y_tick_labels: landmark/lib/numbers.py, the organization's locale),
 * so the chart reads exactly like the page around it. */
(function () {
  "use strict";

  // Colours come from app.css's variables, so the chart follows the light or dark theme.
  var BAND, LINE, TARGET, INK, GRID;
  var live = [];

  function readColours() {
    var css = getComputedStyle(document.documentElement);
    var v = function (name, fallback) { return css.getPropertyValue(name).trim() || fallback; };
    BAND = v("--band", "rgba(22, 163, 74, 0.13)");
    LINE = v("--accent", "#2f5bea");
    TARGET = v("--green", "#16a34a");
    INK = v("--muted", "#5d6679");
    GRID = v("--line", "#e3e6eb");
  }

  function width(el) {
    return Math.max(200, el.clientWidth);
  }

  // A series' legend value: the server's label of the point under the cursor.
  function labelled(labels) {
    return function (u, v, seriesIdx, idx) {
      if (idx === null || idx === undefined || !labels) return "—";
      var text = labels[idx];
      return text === null || text === undefined ? "—" : text;
    };
  }

  function readData(el) {
    var script = el.querySelector('script[type="application/json"]');
    if (script) return Promise.resolve(JSON.parse(script.textContent));
    return fetch(el.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); });
  }

  // The band: for each window, from its low (or the bottom) to its high (or the top),
  // until the next window starts; drawn under the grid and the line.
  function bandPlugin(data) {
    return {
      hooks: {
        drawClear: [function (u) {
          var ctx = u.ctx, box = u.bbox, xs = data.x, n = xs.length;
          ctx.save();
          ctx.beginPath();
          ctx.rect(box.left, box.top, box.width, box.height);
          ctx.clip();
          ctx.fillStyle = BAND;
          for (var i = 0; i < n; i++) {
            var low = data.low[i], high = data.high[i];
            if (low === null && high === null) continue;
            var x0 = u.valToPos(xs[i], "x", true);
            var x1 = i + 1 < n ? u.valToPos(xs[i + 1], "x", true)
              : x0 + (n > 1 ? x0 - u.valToPos(xs[i - 1], "x", true) : box.width);
            var top = high === null ? box.top : u.valToPos(high, "y", true);
            var bottom = low === null ? box.top + box.height : u.valToPos(low, "y", true);
            ctx.fillRect(x0, top, x1 - x0, bottom - top);
          }
          ctx.restore();
        }]
      }
    };
  }

  function options(el, data) {
    var stepped = uPlot.paths.stepped({ align: 1 });
    var series = [
      {},
      { label: data.name || "Value", stroke: LINE, width: 2, value: labelled(data.value_labels),
        points: { show: data.x.length <= 120, size: 5, fill: LINE } }
    ];
    var columns = [data.x, data.value];
    var ticks = data.y_ticks || [];
    var kind = data.target_kind;
    var hasLow = data.low.some(function (v) { return v !== null; });
    // "Equal to" keeps its one value as both bounds: one line.
    var hasHigh = kind !== "equal" && data.high.some(function (v) { return v !== null; });
    var LOW_LABELS = { between: "Target low", above: "Target (above)", equal: "Target (equal to)" };
    var HIGH_LABELS = { between: "Target high", below: "Target (below)" };
    if (hasLow) {
      series.push({ label: LOW_LABELS[kind] || "Target (at least)",
        stroke: TARGET, width: 1, dash: [5, 4], paths: stepped, points: { show: false }, value: labelled(data.low_labels) });
      columns.push(data.low);
    }
    if (hasHigh) {
      series.push({ label: HIGH_LABELS[kind] || "Target (at most)",
        stroke: TARGET, width: 1, dash: [5, 4], paths: stepped, points: { show: false }, value: labelled(data.high_labels) });
      columns.push(data.high);
    }
    return {
      opts: {
        width: width(el),
        height: 300,
        series: series,
        axes: [
          { stroke: INK, grid: { stroke: GRID }, ticks: { stroke: GRID } },
          { stroke: INK, grid: { stroke: GRID }, ticks: { stroke: GRID },
            splits: function () { return ticks; },
            values: function () { return data.y_tick_labels || []; },
            size: 70 }
        ],
        scales: ticks.length ? { x: { time: true }, y: { range: [ticks[0], ticks[ticks.length - 1]] } }
          : { x: { time: true } },
        cursor: { points: { size: 7 } },
        plugins: [bandPlugin(data)]
      },
      columns: columns
    };
  }

  function plot(el, data) {
    var built = options(el, data);
    return new uPlot(built.opts, built.columns, el);
  }

  // The chart follows its box's width (a phone turned, a sidebar opened), not only the window's.
  var sizes = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(function (entries) {
    entries.forEach(function (entry) {
      live.forEach(function (c) {
        if (c.el === entry.target) c.plot.setSize({ width: width(c.el), height: 300 });
      });
    });
  });

  function draw(el) {
    el.dataset.drawn = "1";
    readData(el).then(function (data) {
      if (!data.x.length || typeof uPlot === "undefined") return;
      readColours();
      live.push({ el: el, plot: plot(el, data), data: data });
      el.classList.add("drawn");
      if (sizes) sizes.observe(el);
    }).catch(function () { el.dataset.drawn = "failed"; });
  }

  // Another theme: draw every chart again in its colours.
  function redraw() {
    readColours();
    live.forEach(function (c) {
      c.plot.destroy();
      c.plot = plot(c.el, c.data);
    });
  }
  document.addEventListener("landmark:theme", redraw);
  if (window.matchMedia) {
    var scheme = window.matchMedia("(prefers-color-scheme: dark)");
    if (scheme.addEventListener) scheme.addEventListener("change", redraw);
  }

  function init() {
    // Charts replaced by an htmx swap are gone from the page: free them.
    live = live.filter(function (c) {
      if (c.el.isConnected) return true;
      if (sizes) sizes.unobserve(c.el);
      c.plot.destroy();
      return false;
    });
    document.querySelectorAll("[data-kpi-chart]:not([data-drawn])").forEach(draw);
  }

  if (!sizes) {
    var resizing = null;
    window.addEventListener("resize", function () {
      clearTimeout(resizing);
      resizing = setTimeout(function () {
        live.forEach(function (c) { c.plot.setSize({ width: width(c.el), height: 300 }); });
      }, 100);
    });
  }
  document.addEventListener("htmx:afterSettle", init);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
