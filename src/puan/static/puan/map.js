// 埔安: maps drawn with ECharts from the grids' own GeoJSON (no tiles, works offline).
//
//   <div data-map="case" data-map-source="ID">      one grid and the case's point, data from
//                                                    <script type="application/json" id="ID">
//   <div data-map="picker" data-area-url=… data-locate-url=… data-lon=ID data-lat=ID data-status=ID>
//                                                    click to place a point; regions drill down
//   <div data-map="grid" data-map-source="ID">       the worker's grid; "puan:position" events move the dot
(function () {
  "use strict";

  var PALETTE = { area: "#e8eef6", border: "#5b7083", hover: "#cfe0f5", point: "#b42318", grid: "#fdf2d0" };
  var mapSeq = 0;

  function text(zh, en) {
    return document.documentElement.lang === "en" ? en : zh;
  }

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function asFeatureCollection(features) {
    return { type: "FeatureCollection", features: features };
  }

  function register(collection) {
    mapSeq += 1;
    var name = "puan-map-" + mapSeq;
    echarts.registerMap(name, collection);
    return name;
  }

  // The tooltip is drawn on the canvas ("richText"): an HTML tooltip would carry inline
  // style attributes, which the content security policy refuses.
  function baseOption(mapName) {
    return {
      animation: false,
      tooltip: { trigger: "item", renderMode: "richText", formatter: function (p) { return p.name || ""; } },
      geo: {
        map: mapName,
        roam: true,
        nameProperty: "name",
        label: { show: false },
        itemStyle: { areaColor: PALETTE.area, borderColor: PALETTE.border, borderWidth: 1 },
        emphasis: { label: { show: false }, itemStyle: { areaColor: PALETTE.hover } },
        select: { disabled: true },
      },
      series: [
        {
          type: "scatter",
          coordinateSystem: "geo",
          symbolSize: 14,
          itemStyle: { color: PALETTE.point, borderColor: "#fff", borderWidth: 2 },
          data: [],
          tooltip: { formatter: function () { return text("位置", "Position"); } },
        },
      ],
    };
  }

  function setPoint(chart, lonlat) {
    chart.setOption({ series: [{ data: lonlat ? [lonlat] : [] }] });
  }

  function initCase(el) {
    var data = readJson(el.getAttribute("data-map-source"));
    if (!data || !data.boundary) return null;
    var chart = echarts.init(el);
    var name = register(asFeatureCollection([{ type: "Feature", properties: { name: data.name }, geometry: data.boundary }]));
    var option = baseOption(name);
    option.geo.itemStyle.areaColor = PALETTE.grid;
    chart.setOption(option);
    if (data.point) setPoint(chart, data.point);
    return chart;
  }

  function initGrid(el) {
    var chart = initCase(el);
    if (!chart) return null;
    document.addEventListener("puan:position", function (event) {
      setPoint(chart, [event.detail.lon, event.detail.lat]);
    });
    return chart;
  }

  function initPicker(el) {
    var chart = echarts.init(el);
    var areaUrl = el.getAttribute("data-area-url");
    var locateUrl = el.getAttribute("data-locate-url");
    var lonInput = document.getElementById(el.getAttribute("data-lon"));
    var latInput = document.getElementById(el.getAttribute("data-lat"));
    var status = document.getElementById(el.getAttribute("data-status"));
    var byName = {};
    var stack = [];

    function say(message) {
      if (status) status.textContent = message;
    }

    function load(unitId) {
      var url = areaUrl + (unitId ? (areaUrl.indexOf("?") < 0 ? "?" : "&") + "unit=" + encodeURIComponent(unitId) : "");
      say(text("正在加载地图…", "Loading the map…"));
      return fetch(url, { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (collection) {
          byName = {};
          collection.features.forEach(function (f) { byName[f.properties.name] = f.properties; });
          var option = baseOption(register(collection));
          chart.setOption(option, true);
          if (lonInput && lonInput.value && latInput.value) setPoint(chart, [parseFloat(lonInput.value), parseFloat(latInput.value)]);
          stack.push(unitId || "");
          say(collection.title ? collection.title + text("：点击地图选择事发位置", ": click the map to place the event") : "");
        })
        .catch(function () { say(text("地图加载失败，请用下方的社区/网格选择位置。", "The map could not be loaded; choose the community or grid below.")); });
    }

    function locate(lon, lat) {
      lonInput.value = lon.toFixed(6);
      latInput.value = lat.toFixed(6);
      lonInput.dispatchEvent(new Event("change", { bubbles: true }));
      setPoint(chart, [lon, lat]);
      return fetch(locateUrl + "?lon=" + lon + "&lat=" + lat, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (hit) {
          if (!hit.inside) {
            say(text("该位置不在本区网格范围内，请重新选择。", "This point is outside the district's grids."));
            return;
          }
          var parts = [hit.street, hit.community, hit.grid].filter(Boolean).map(function (u) { return u.name; });
          say(text("已定位：", "Located: ") + parts.join(" / ") + " (" + lon.toFixed(5) + ", " + lat.toFixed(5) + ")");
          var unitSelect = document.getElementById(el.getAttribute("data-unit-select"));
          if (unitSelect && hit.community) unitSelect.value = String(hit.community.id);
          el.dispatchEvent(new CustomEvent("puan:located", { bubbles: true, detail: hit }));
        })
        .catch(function () { say(text("已记录经纬度，网格待联网后确认。", "Point recorded; the grid is confirmed when online.")); });
    }

    chart.on("click", function (params) {
      if (params.componentType !== "geo") return;
      var props = byName[params.name] || {};
      // Streets and communities open into what lies below them; a grid takes the point.
      if (props.level && props.level !== "grid") {
        load(props.id);
        return;
      }
      var point = chart.convertFromPixel({ geoIndex: 0 }, [params.event.offsetX, params.event.offsetY]);
      if (point && isFinite(point[0]) && isFinite(point[1])) locate(point[0], point[1]);
    });
    var back = document.getElementById(el.getAttribute("data-back"));
    if (back) {
      back.addEventListener("click", function () {
        if (stack.length > 1) {
          stack.pop();
          load(stack.pop() || null);
        }
      });
    }
    var clear = document.getElementById(el.getAttribute("data-clear"));
    if (clear) {
      clear.addEventListener("click", function () {
        lonInput.value = "";
        latInput.value = "";
        setPoint(chart, null);
        say(text("已清除地图定位，将按所选社区登记。", "Map position cleared; the chosen community is used."));
        lonInput.dispatchEvent(new Event("change", { bubbles: true }));
      });
    }
    load(el.getAttribute("data-unit") || null);
    return chart;
  }

  var INIT = { case: initCase, grid: initGrid, picker: initPicker };

  function initAll(root) {
    if (typeof echarts === "undefined") return;
    (root || document).querySelectorAll("[data-map]").forEach(function (el) {
      if (el.puanChart) return;
      var init = INIT[el.getAttribute("data-map")];
      if (!init) return;
      el.puanChart = init(el) || true;
    });
  }

  window.addEventListener("resize", function () {
    document.querySelectorAll("[data-map]").forEach(function (el) {
      if (el.puanChart && el.puanChart.resize) el.puanChart.resize();
    });
  });
  document.addEventListener("DOMContentLoaded", function () { initAll(document); });
  // After a swap the new map element is somewhere in the document; initAll skips the ones
  // already drawn.
  document.addEventListener("htmx:afterSettle", function () { initAll(document); });
})();
