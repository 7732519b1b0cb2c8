// 埔安: the grid worker's phone page. Position and grid, the report form, patrol
// check-in, and the send queue (outbox.js) that waits for the network.
(function () {
  "use strict";

  var ZH = {
    online: "在线", offline: "离线",
    locating: "正在获取定位…", noGps: "无法获取定位：", noGpsYet: "尚未获得定位，请稍候或检查定位权限。",
    outside: "该位置不在本区网格范围内。", notOwn: "当前位置不在您的责任网格内。",
    unconfirmed: "已定位，网格待联网后确认。", accuracy: "精度约 {m} 米",
    required: { category: "请选择事项分类。", title: "请填写标题。", description: "请填写情况描述。", outcome: "现场处置须填写处置结果。" },
    photoNeeded: "现场处置须上传至少一张现场照片。", badPhone: "电话号码格式不正确。",
    nothing: "没有待发送的内容。", waiting: "{n} 条待发送，网络恢复后自动发送。", sending: "正在发送…",
    signedOut: "登录已过期，请重新登录后自动发送。", queued: "已保存到发送队列。",
    pending: "待发送", sent: "已发送", failed: "发送失败", remove: "删除",
    report: "上报", checkin: "巡查签到", linked: "（已合并到在办案件）",
    reasons: { network: "网络不可用，联网后自动发送", server: "服务器暂时无法处理，稍后自动重试", signed_out: "登录已过期" },
  };
  var EN = {
    online: "Online", offline: "Offline",
    locating: "Locating…", noGps: "No position: ", noGpsYet: "No position yet; wait or allow location access.",
    outside: "This point is outside the district's grids.", notOwn: "You are outside your own grid.",
    unconfirmed: "Located; the grid is confirmed when online.", accuracy: "accuracy about {m} m",
    required: { category: "Choose a category.", title: "Enter a title.", description: "Describe what happened.", outcome: "Describe what was done on the spot." },
    photoNeeded: "Handling on the spot needs at least one photo.", badPhone: "The phone number is not valid.",
    nothing: "Nothing waiting to be sent.", waiting: "{n} waiting; sent when the network returns.", sending: "Sending…",
    signedOut: "Your session has ended: sign in again and the queue is sent.", queued: "Saved to the send queue.",
    pending: "Waiting", sent: "Sent", failed: "Failed", remove: "Delete",
    report: "Report", checkin: "Patrol check-in", linked: " (joined an open case)",
    reasons: { network: "no network; sent when it returns", server: "the server is busy; retried later", signed_out: "signed out" },
  };
  var T = document.documentElement.lang === "en" ? EN : ZH;

  var data = JSON.parse(document.getElementById("mobile-data").textContent);
  var position = null;
  var lastLocated = null;
  var box = null;

  function $(id) { return document.getElementById(id); }

  // --- network ------------------------------------------------------------------------
  function showNetwork() {
    var net = $("net");
    var up = navigator.onLine;
    net.textContent = up ? T.online : T.offline;
    net.className = "net " + (up ? "net-online" : "net-offline");
  }
  window.addEventListener("online", showNetwork);
  window.addEventListener("offline", showNetwork);

  // --- position -----------------------------------------------------------------------
  function metres(a, b) {
    var dx = (a[0] - b[0]) * 111320 * Math.cos((a[1] * Math.PI) / 180);
    var dy = (a[1] - b[1]) * 110540;
    return Math.sqrt(dx * dx + dy * dy);
  }

  function locate(lon, lat) {
    if (!navigator.onLine) {
      $("gps-where").textContent = T.unconfirmed;
      return;
    }
    fetch(data.urls.locate + "?lon=" + lon + "&lat=" + lat, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (hit) {
        lastLocated = [lon, lat];
        var warning = $("gps-warning");
        if (!hit.inside) {
          $("gps-where").textContent = T.outside;
          warning.hidden = true;
          return;
        }
        $("gps-where").textContent = [hit.community && hit.community.name, hit.grid.name].filter(Boolean).join(" · ");
        var own = data.grid && hit.grid && hit.grid.id === data.grid.id;
        warning.hidden = !!own;
        warning.textContent = own ? "" : T.notOwn;
      })
      .catch(function () { $("gps-where").textContent = T.unconfirmed; });
  }

  function onPosition(pos) {
    var lon = pos.coords.longitude;
    var lat = pos.coords.latitude;
    position = { lon: lon, lat: lat, accuracy: pos.coords.accuracy };
    $("gps-coords").textContent = lon.toFixed(6) + ", " + lat.toFixed(6) +
      (pos.coords.accuracy ? " · " + T.accuracy.replace("{m}", Math.round(pos.coords.accuracy)) : "");
    document.dispatchEvent(new CustomEvent("puan:position", { detail: { lon: lon, lat: lat } }));
    if (!lastLocated || metres(lastLocated, [lon, lat]) > 20) locate(lon, lat);
  }

  function onPositionError(err) {
    $("gps-where").textContent = T.noGps + (err && err.message ? err.message : "");
  }

  var watchId = null;
  function startGps() {
    if (!navigator.geolocation) {
      onPositionError({ message: "geolocation unsupported" });
      return;
    }
    $("gps-where").textContent = T.locating;
    lastLocated = null;
    if (watchId !== null) navigator.geolocation.clearWatch(watchId);
    watchId = navigator.geolocation.watchPosition(onPosition, onPositionError, {
      enableHighAccuracy: true, maximumAge: 10000, timeout: 20000,
    });
  }

  // --- the report form ----------------------------------------------------------------
  function fieldError(id, message) {
    var input = $(id);
    var out = $(id + "-error");
    if (out) out.textContent = message || "";
    if (input) {
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
  }

  function validate(form) {
    var ok = true;
    var first = null;
    function need(id, key) {
      var value = $(id).value.trim();
      fieldError(id, value ? "" : T.required[key]);
      if (!value) { ok = false; first = first || $(id); }
    }
    need("m-category", "category");
    need("m-title", "title");
    need("m-description", "description");
    var onSpot = $("m-onspot").checked;
    fieldError("m-outcome", "");
    fieldError("m-photos", "");
    if (onSpot) {
      need("m-outcome", "outcome");
      if (!$("m-photos").files.length) {
        fieldError("m-photos", T.photoNeeded);
        ok = false;
        first = first || $("m-photos");
      }
    }
    var phone = $("m-reporter-phone").value.trim();
    var phoneOk = !phone || /^(\+?86)?(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$/.test(phone.replace(/[\s-]/g, ""));
    fieldError("m-reporter-phone", phoneOk ? "" : T.badPhone);
    if (!phoneOk) { ok = false; first = first || $("m-reporter-phone"); }
    if (!position) {
      $("report-error").textContent = T.noGpsYet;
      ok = false;
    } else {
      $("report-error").textContent = "";
    }
    if (first) first.focus();
    return ok;
  }

  function submitReport(event) {
    event.preventDefault();
    var form = event.target;
    if (!box || !validate(form)) return;
    var onSpot = $("m-onspot").checked;
    var body = {
      kind: $("m-kind").value,
      channel: "patrol",
      category: $("m-category").value,
      title: $("m-title").value.trim(),
      description: $("m-description").value.trim(),
      lon: position.lon,
      lat: position.lat,
      reporter_name: $("m-reporter-name").value.trim(),
      reporter_phone: $("m-reporter-phone").value.trim(),
      handled_on_spot: onSpot,
      outcome: onSpot ? $("m-outcome").value.trim() : "",
      // The moment of pressing "submit": the queue may send it hours later.
      observed_at: new Date().toISOString(),
    };
    var photos = Array.prototype.slice.call($("m-photos").files);
    box.add({ kind: "case", label: body.title, url: data.urls.cases, body: body, photos: photos, photoField: "evidence_ids" })
      .then(function () {
        form.reset();
        $("onspot-fields").hidden = true;
        window.puan.flash(T.queued, "info");
        return box.flush();
      });
  }

  function checkIn() {
    if (!box) return;
    if (!position) {
      window.puan.flash(T.noGpsYet, "warning");
      return;
    }
    var body = {
      lon: position.lon,
      lat: position.lat,
      accuracy_m: position.accuracy || null,
      checked_at: new Date().toISOString(),
      note: "",
    };
    box.add({ kind: "checkin", label: T.checkin, url: data.urls.checkins, body: body })
      .then(function () { window.puan.flash(T.queued, "info"); return box.flush(); });
  }

  // --- the queue ----------------------------------------------------------------------
  function describe(item) {
    // Answers kept from before `tracking_code` was sent carry it in their case only.
    var code = item.result && (item.result.tracking_code || (item.result.case && item.result.case.tracking_code));
    if (item.state === "sent" && item.kind === "case" && code) {
      return code + (item.result.linked ? T.linked : "");
    }
    if (item.state === "sent" && item.kind === "checkin" && item.result && item.result.grid) {
      return item.result.grid.name;
    }
    if (item.state === "pending" && item.reason && T.reasons[item.reason]) return T.reasons[item.reason];
    return item.message || "";
  }

  function render(items) {
    var list = $("outbox-list");
    list.replaceChildren();
    var waiting = 0;
    items.forEach(function (item) {
      if (item.user !== data.user) return; // another account's queue on a shared phone
      if (item.state === "pending") waiting += 1;
      var li = document.createElement("li");
      li.className = "outbox-item";
      li.setAttribute("data-state", item.state);
      var what = document.createElement("span");
      what.textContent = (item.kind === "case" ? T.report + "：" : "") + item.label +
        " · " + new Date(item.created_at).toLocaleTimeString();
      var status = document.createElement("span");
      status.className = "status-" + item.state;
      var detail = describe(item);
      status.textContent = T[item.state] + (detail ? "：" + detail : "");
      li.appendChild(what);
      if (item.state === "sent" && item.kind === "case" && item.result && item.result.case) {
        var link = document.createElement("a");
        link.href = data.urls.case.replace("{id}", item.result.case.id);
        link.appendChild(status);
        li.appendChild(link);
      } else {
        li.appendChild(status);
      }
      if (item.state === "failed") {
        var remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = T.remove;
        remove.addEventListener("click", function () { box.remove(item.id); });
        li.appendChild(remove);
      }
      list.appendChild(li);
    });
    var state = $("outbox-state");
    if (box && box.signedOut) state.textContent = T.signedOut;
    else if (waiting) state.textContent = T.waiting.replace("{n}", waiting);
    else state.textContent = T.nothing;
  }

  // The page shell is cached by a service worker so that it opens without network.
  if ("serviceWorker" in navigator && data.urls.serviceWorker) {
    navigator.serviceWorker.register(data.urls.serviceWorker, { scope: data.urls.home }).catch(function () {});
  }

  document.addEventListener("DOMContentLoaded", function () {
    showNetwork();
    startGps();
    $("locate-btn").addEventListener("click", startGps);
    $("m-onspot").addEventListener("change", function (e) { $("onspot-fields").hidden = !e.target.checked; });
    $("report-form").addEventListener("submit", submitReport);
    $("checkin-btn").addEventListener("click", checkIn);
    $("outbox-flush").addEventListener("click", function () { if (box) box.flush(); });
    PuanOutbox.open(data.urls, data.user).then(function (opened) {
      box = opened;
      box.onchange = render;
      box.changed();
      box.flush();
    });
  });
})();
