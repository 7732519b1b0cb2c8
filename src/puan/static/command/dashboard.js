/* 埔安指挥中心: fetches each panel from /api/v1/command and draws it.
   Figures refresh every minute (the roll-ups fold every minute); the red-case feed polls
   every 3 seconds, so a new red case is on screen within 5 seconds of being registered, and
   a signature given on another screen shows at the next poll.
   No inline script or style anywhere: the page's CSP allows only our own files. */
(function () {
  "use strict";

  var root = document.getElementById("cc");
  if (!root) { return; }
  var API = root.dataset.api;
  var PAGE = root.dataset.page;
  var REFRESH_MS = 60000;
  var POLL_MS = 3000;
  var FEED_KEEP = 50;
  var state = {
    unit: Number(root.dataset.unit),
    from: root.dataset.from,
    to: root.dataset.to,
    metric: "on_time_rate",
    sort: "on_time_rate",
    lastAlert: null,
    mapName: null,
    mapBox: null,
    loading: 0,
  };
  var charts = {};
  var STATE_LABELS = {
    registered: "已登记", accepted: "已受理", rejected: "不予受理", triaged: "已分流", assigned: "已交办",
    in_progress: "处置中", escalated: "已上报", returned: "已退回", resolved: "已办结", verified: "已核查",
    rated: "已评价", closed: "已归档", reopened: "已重启",
  };
  var CHILD_LABELS = { district: "各街镇", street: "各社区/村", community: "各网格", grid: "本网格" };

  // --- helpers ------------------------------------------------------------------------------

  function query(params) {
    var out = new URLSearchParams();
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (Array.isArray(v)) {
        v.forEach(function (item) { out.append(k, item); });  // a list: the parameter repeated
      } else if (v !== null && v !== undefined && v !== "") {
        out.set(k, v);
      }
    });
    return out.toString();
  }

  function periodParams(extra) {
    var p = { unit: state.unit, from: state.from, to: state.to };
    Object.keys(extra || {}).forEach(function (k) { p[k] = extra[k]; });
    return p;
  }

  // The API's answer as JSON; a refusal becomes an Error carrying its message.
  function fetchJSON(url, options) {
    options = options || {};
    options.credentials = "same-origin";
    options.headers = Object.assign({ Accept: "application/json" }, options.headers);
    return fetch(url, options).then(function (r) {
      if (!r.ok) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          throw new Error(body.message || ("请求失败（" + r.status + "）"));
        });
      }
      return r.json();
    });
  }

  function getJSON(path, params) {
    return fetchJSON(API + path + "?" + query(params));
  }

  function count(v) { return v === null || v === undefined ? "—" : Number(v).toLocaleString("zh-CN"); }
  function rate(v) { return v === null || v === undefined ? "—" : (v * 100).toFixed(2) + "%"; }
  function score(v) { return v === null || v === undefined ? "—" : Number(v).toFixed(2); }
  function formatted(v, kind) {
    if (kind === "rate") { return rate(v); }
    if (kind === "score") { return score(v); }
    return count(v);
  }
  function localTime(iso) {
    if (!iso) { return "—"; }
    var d = new Date(iso);
    return d.toLocaleString("zh-CN", { hour12: false });
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function chart(id) {
    if (!charts[id]) { charts[id] = window.echarts.init(document.getElementById(id), null, { renderer: "canvas" }); }
    return charts[id];
  }
  function showError(message) {
    var box = document.getElementById("cc-error");
    if (message) { box.textContent = message; box.hidden = false; } else { box.hidden = true; }
  }

  // --- header: breadcrumb, period, clock ------------------------------------------------------

  function renderCrumbs(crumbs) {
    var nav = document.getElementById("cc-crumbs");
    nav.replaceChildren();
    crumbs.forEach(function (u, i) {
      var a = el("a", "", u.name);
      a.href = PAGE + "?unit=" + u.id;
      a.dataset.unit = u.id;
      if (i === crumbs.length - 1) { a.setAttribute("aria-current", "page"); }
      nav.appendChild(a);
    });
  }

  function renderAsOf(asOf) {
    var node = document.getElementById("cc-asof");
    node.textContent = asOf ? "数据截至 " + new Date(asOf).toLocaleTimeString("zh-CN", { hour12: false }) : "数据尚未汇总";
  }

  function tick() {
    var now = new Date();
    var node = document.getElementById("cc-now");
    node.textContent = now.toLocaleString("zh-CN", { hour12: false });
    node.setAttribute("datetime", now.toISOString());
  }

  function updateExports() {
    document.querySelectorAll(".cc-export").forEach(function (a) {
      var panel = a.dataset.panel;
      var extra = { format: "xlsx" };
      if (panel === "map") { extra.metric = state.metric; }
      if (panel === "departments") { extra.sort = state.sort; }
      var params = panel === "alerts" ? { unit: state.unit, format: "xlsx" } : periodParams(extra);
      a.href = API + "/" + panel + "?" + query(params);
    });
  }

  // --- panels -----------------------------------------------------------------------------------

  function renderKpis(data) {
    document.querySelectorAll("[data-kpi]").forEach(function (node) {
      node.textContent = formatted(data[node.dataset.kpi], node.dataset.format);
    });
    renderCrumbs(data.breadcrumb);
    renderAsOf(data.as_of);
    document.title = "指挥中心 · " + data.unit.name + " · 埔安";
  }

  function renderMap(data) {
    var fc = data.features;
    var drawable = fc.features.filter(function (f) { return f.geometry; });
    state.mapName = "cc-unit-" + data.unit.id;
    state.mapBox = bbox(drawable.map(function (f) { return f.geometry.coordinates; }), null);
    window.echarts.registerMap(state.mapName, { type: "FeatureCollection", features: drawable });
    document.getElementById("cc-map-level").textContent = "（" + data.unit.name + " · " + CHILD_LABELS[data.unit.level] + "）";
    var isRate = data.is_rate;
    var show = function (v) { return data.metric === "satisfaction" ? score(v) : isRate ? rate(v) : count(v); };
    var values = drawable.map(function (f) {
      var p = f.properties;
      return { name: p.name, value: p.value === null ? NaN : p.value, id: p.id, drillable: p.drillable };
    });
    var low = data.min === null ? 0 : data.min;
    var high = data.max === null ? 1 : data.max;
    if (high === low) { high = low + (isRate ? 0.01 : 1); }
    var map = chart("cc-map-chart");
    map.setOption({
      backgroundColor: "transparent",
      tooltip: {
        trigger: "item",
        formatter: function (p) { return p.name + "<br>" + data.metric_label + "：" + show(p.value); },
      },
      visualMap: {
        type: "continuous", min: low, max: high, calculable: true, left: 8, bottom: 8,
        formatter: function (v) { return show(v); }, textStyle: { color: "#dce8f7" },
        // Rates: green is good. Counts of trouble (open, red, overdue): red is bad.
        inRange: { color: isRate ? ["#7a1d1d", "#eab308", "#22c55e"] : ["#12385f", "#38bdf8", "#facc15", "#f04438"] },
      },
      series: [{
        type: "map", map: state.mapName, roam: true, data: values, selectedMode: false,
        // Keep the true shape, as large as the panel allows (beside the colour scale).
        layoutCenter: ["55%", "50%"], layoutSize: "96%",
        label: { show: drawable.length <= 40, color: "#fff", fontSize: 11 },
        itemStyle: { borderColor: "#0b1a30", borderWidth: 1, areaColor: "#1b3a63" },
        emphasis: { label: { color: "#fff" }, itemStyle: { areaColor: "#facc15" } },
      }],
    }, true);
    map.off("click");
    map.on("click", function (p) {
      if (p.data && p.data.drillable) { drill(p.data.id); }
    });
  }

  // [minLon, minLat, maxLon, maxLat] of nested GeoJSON coordinates, grown from `box`.
  function bbox(coords, box) {
    if (typeof coords[0] === "number") {
      if (!box) { return [coords[0], coords[1], coords[0], coords[1]]; }
      return [Math.min(box[0], coords[0]), Math.min(box[1], coords[1]), Math.max(box[2], coords[0]), Math.max(box[3], coords[1])];
    }
    coords.forEach(function (c) { box = bbox(c, box); });
    return box;
  }

  function hexColour(ratio) {
    var stops = [[18, 56, 95], [56, 189, 248], [250, 204, 21], [240, 68, 56]];
    var x = Math.max(0, Math.min(1, ratio)) * (stops.length - 1);
    var i = Math.min(stops.length - 2, Math.floor(x));
    var t = x - i;
    var c = stops[i].map(function (v, k) { return Math.round(v + (stops[i + 1][k] - v) * t); });
    return "rgba(" + c[0] + "," + c[1] + "," + c[2] + ",0.85)";
  }

  function renderHexes(data) {
    var cells = data.cells;
    var max = data.max || 1;
    var hex = chart("cc-hex-chart");
    // Frame the outlines and every hexagon (cells on the edge reach beyond the outline).
    var box = bbox(cells.map(function (c) { return c.outline; }), state.mapBox);
    var geo = {
      map: state.mapName, roam: true, silent: true, layoutCenter: ["50%", "50%"], layoutSize: "98%",
      itemStyle: { areaColor: "#0f2440", borderColor: "#1b3a63" },
      label: { show: false },
    };
    if (box) { geo.boundingCoords = [[box[0], box[3]], [box[2], box[1]]]; }
    hex.setOption({
      backgroundColor: "transparent",
      tooltip: {
        trigger: "item",
        formatter: function (p) { var c = cells[p.dataIndex]; return c ? "登记 " + count(c.registered) + " 件" : ""; },
      },
      geo: geo,
      series: [{
        type: "custom",
        coordinateSystem: "geo",
        data: cells.map(function (c, i) { return [i, c.registered]; }),
        renderItem: function (params, api) {
          var c = cells[params.dataIndex];
          var points = c.outline.map(function (p) { return api.coord(p); });
          return {
            type: "polygon",
            shape: { points: points },
            style: { fill: hexColour(Math.sqrt(c.registered / max)), stroke: "rgba(6,16,31,0.6)", lineWidth: 0.5 },
          };
        },
      }],
    }, true);
  }

  function renderTrend(data) {
    var days = data.days.map(function (d) { return d.day.slice(5); });
    var trend = chart("cc-trend-chart");
    trend.setOption({
      backgroundColor: "transparent",
      tooltip: { trigger: "axis" },
      legend: { top: 0, textStyle: { color: "#dce8f7" }, data: ["登记", "办结", "按期办结率"] },
      grid: { left: 44, right: 44, top: 28, bottom: 24 },
      xAxis: { type: "category", data: days, axisLabel: { color: "#7f97b5" } },
      yAxis: [
        { type: "value", axisLabel: { color: "#7f97b5" }, splitLine: { lineStyle: { color: "#132c4d" } } },
        { type: "value", min: 0, max: 1, axisLabel: { color: "#7f97b5", formatter: function (v) { return (v * 100) + "%"; } }, splitLine: { show: false } },
      ],
      series: [
        { name: "登记", type: "bar", data: data.days.map(function (d) { return d.registered; }), itemStyle: { color: "#38bdf8" } },
        { name: "办结", type: "bar", data: data.days.map(function (d) { return d.handled; }), itemStyle: { color: "#22c55e" } },
        {
          name: "按期办结率", type: "line", yAxisIndex: 1, smooth: true, symbolSize: 4,
          data: data.days.map(function (d) { return d.on_time_rate; }), itemStyle: { color: "#facc15" },
          tooltip: { valueFormatter: rate },
        },
      ],
    }, true);
  }

  function renderDepts(data) {
    var body = document.querySelector("#cc-depts tbody");
    body.replaceChildren();
    data.items.forEach(function (d) {
      var tr = el("tr");
      var rank = el("td", d.ranked ? "" : "cc-muted", d.ranked ? String(d.rank) : "—");
      // Fewer cases than the ranking needs: listed, not ranked.
      if (!d.ranked) rank.title = "样本不足（少于 " + data.min_cases + " 件），不参与排名";
      tr.appendChild(rank);
      tr.appendChild(el("td", "", d.department));
      tr.appendChild(el("td", "", count(d.handled)));
      tr.appendChild(el("td", "", rate(d.on_time_rate)));
      tr.appendChild(el("td", "", score(d.satisfaction_avg)));
      tr.appendChild(el("td", d.overdue ? "cc-bad" : "", count(d.overdue)));
      body.appendChild(tr);
    });
    if (!data.items.length) {
      var tr = el("tr");
      var td = el("td", "", "期内暂无部门办结案件");
      td.colSpan = 6;
      tr.appendChild(td);
      body.appendChild(tr);
    }
  }

  // --- the red-case feed ----------------------------------------------------------------------

  function alertItem(a, fresh) {
    var li = el("li", fresh ? "cc-new" : "");
    li.dataset.id = a.id;
    li.appendChild(el("span", "cc-state", STATE_LABELS[a.state] || a.state));
    li.appendChild(el("span", "cc-when", localTime(a.created_at) + " · " + a.tracking_code));
    li.appendChild(el("span", "cc-what", a.title));
    li.appendChild(el("span", "cc-where", a.place));
    li.appendChild(a.acknowledged ? signed(a) : signButton(a));
    return li;
  }

  function signed(a) {
    return el("span", "cc-signed", "已签收 " + localTime(a.acknowledged_at));
  }

  // Signing for an alert: whoever watches the wall takes the red case up.
  function signButton(a) {
    var button = el("button", "cc-sign", "签收");
    button.type = "button";
    button.addEventListener("click", function () {
      button.disabled = true;
      fetchJSON(API + "/alerts/" + a.id + "/acknowledge", {
        method: "POST",
        headers: { "X-CSRFToken": root.dataset.csrf },
      }).then(function (done) {
        button.replaceWith(signed(done));
      }).catch(function (err) {
        button.disabled = false;
        showError(err.message);
      });
    });
    return button;
  }

  function resetFeed() {
    var list = document.getElementById("cc-alerts");
    list.replaceChildren();
    state.lastAlert = null;
  }

  function pollAlerts() {
    var unit = state.unit;
    var params = { unit: unit };
    if (state.lastAlert !== null) { params.after = state.lastAlert; }
    var list = document.getElementById("cc-alerts");
    // The alerts on screen still waiting for a signature: another screen may have signed.
    params.unsigned = Array.prototype.map.call(list.querySelectorAll("li[data-id] .cc-sign"), function (button) {
      return button.parentNode.dataset.id;
    });
    var live = document.getElementById("cc-live");
    return getJSON("/alerts", params).then(function (data) {
      if (unit !== state.unit) { return; }
      (data.signed || []).forEach(function (a) {  // an older server answers without it
        var button = list.querySelector('li[data-id="' + a.id + '"] .cc-sign');
        if (button) { button.replaceWith(signed(a)); }
      });
      var fresh = state.lastAlert !== null;
      var items = data.items.slice();
      // Newest first: insert in reverse so the newest ends up on top.
      items.reverse().forEach(function (a) { list.insertBefore(alertItem(a, fresh), list.firstChild); });
      while (list.children.length > FEED_KEEP) { list.removeChild(list.lastChild); }
      if (!list.children.length) { list.appendChild(el("li", "cc-empty", "暂无红色预警")); }
      if (items.length) {
        var empty = list.querySelector(".cc-empty");
        if (empty) { empty.remove(); }
      }
      state.lastAlert = data.last_id === null ? state.lastAlert : data.last_id;
      live.classList.remove("cc-stale");
      live.textContent = "实时";
    }).catch(function () {
      live.classList.add("cc-stale");
      live.textContent = "连接中断";
    });
  }

  // --- loading ------------------------------------------------------------------------------------

  function loadAll() {
    updateExports();
    var unit = state.unit;
    var mine = ++state.loading;
    var current = function () { return unit === state.unit && mine === state.loading; };
    var done = function (render) { return function (data) { if (current()) { render(data); } }; };
    var failed = function (err) { if (current()) { showError(err.message); } throw err; };
    // The hex map draws over the unit outlines the map registers, so the map comes first.
    var mapped = getJSON("/map", periodParams({ metric: state.metric })).then(done(renderMap), failed);
    var panels = [
      mapped,
      getJSON("/kpis", periodParams()).then(done(renderKpis), failed),
      mapped.then(function () { return getJSON("/hexes", periodParams({ res: 8 })); }).then(done(renderHexes), failed),
      getJSON("/trend", periodParams()).then(done(renderTrend), failed),
      getJSON("/departments", periodParams({ sort: state.sort })).then(done(renderDepts), failed),
    ];
    return Promise.all(panels).then(function () {
      if (current()) { showError(null); root.dataset.loaded = "true"; }
    }).catch(function () {});
  }

  function drill(unitId) {
    if (unitId === state.unit) { return; }
    state.unit = unitId;
    root.dataset.unit = String(unitId);
    root.dataset.loaded = "false";
    history.pushState({ unit: unitId }, "", PAGE + "?unit=" + unitId);
    resetFeed();
    loadAll();
    pollAlerts();
  }

  function setPeriod(from, to) {
    state.from = from;
    state.to = to;
    var form = document.getElementById("cc-period");
    form.elements.from.value = from;
    form.elements.to.value = to;
    loadAll();
  }

  function isoDay(d) {
    var m = String(d.getMonth() + 1).padStart(2, "0");
    var day = String(d.getDate()).padStart(2, "0");
    return d.getFullYear() + "-" + m + "-" + day;
  }

  // --- wiring ---------------------------------------------------------------------------------------

  document.getElementById("cc-crumbs").addEventListener("click", function (e) {
    var a = e.target.closest("a[data-unit]");
    if (!a) { return; }
    e.preventDefault();
    drill(Number(a.dataset.unit));
  });
  var form = document.getElementById("cc-period");
  form.addEventListener("change", function () {
    form.querySelectorAll("button[data-days]").forEach(function (b) { b.setAttribute("aria-pressed", "false"); });
    if (form.elements.from.value && form.elements.to.value) { setPeriod(form.elements.from.value, form.elements.to.value); }
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  form.querySelectorAll("button[data-days]").forEach(function (b) {
    b.addEventListener("click", function () {
      form.querySelectorAll("button[data-days]").forEach(function (o) { o.setAttribute("aria-pressed", String(o === b)); });
      var to = new Date(state.to + "T00:00:00");
      var from = new Date(to.getTime());
      from.setDate(from.getDate() - (Number(b.dataset.days) - 1));
      setPeriod(isoDay(from), state.to);
    });
  });
  document.getElementById("cc-metric").addEventListener("change", function (e) {
    state.metric = e.target.value;
    updateExports();
    getJSON("/map", periodParams({ metric: state.metric })).then(renderMap).catch(function (err) { showError(err.message); });
  });
  document.getElementById("cc-dept-sort").addEventListener("change", function (e) {
    state.sort = e.target.value;
    updateExports();
    getJSON("/departments", periodParams({ sort: state.sort })).then(renderDepts).catch(function (err) { showError(err.message); });
  });
  window.addEventListener("popstate", function () {
    var unit = Number(new URLSearchParams(location.search).get("unit")) || Number(root.dataset.unit);
    if (unit !== state.unit) {
      state.unit = unit;
      resetFeed();
      loadAll();
      pollAlerts();
    }
  });
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (k) { charts[k].resize(); });
  });

  tick();
  setInterval(tick, 1000);
  loadAll();
  pollAlerts();
  setInterval(pollAlerts, POLL_MS);
  setInterval(loadAll, REFRESH_MS);
})();
