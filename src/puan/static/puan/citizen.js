// 埔安: "use my location" on the citizen's appeal form (optional; the community select works without it).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("use-location");
    if (!button || !navigator.geolocation) return;
    var status = document.getElementById("location-status");
    var en = document.documentElement.lang === "en";
    button.hidden = false;
    button.addEventListener("click", function () {
      status.textContent = en ? "Locating…" : "正在定位…";
      navigator.geolocation.getCurrentPosition(function (pos) {
        var lon = pos.coords.longitude, lat = pos.coords.latitude;
        fetch(button.getAttribute("data-locate-url") + "?lon=" + lon + "&lat=" + lat, { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { inside: false }; })
          .then(function (hit) {
            if (!hit.inside) {
              status.textContent = en ? "Your position is outside the district; choose the community." : "您的位置不在本区范围内，请选择所在社区。";
              return;
            }
            document.getElementById("id_lon").value = lon.toFixed(6);
            document.getElementById("id_lat").value = lat.toFixed(6);
            var select = document.getElementById("id_unit_id");
            if (select && hit.community) select.value = String(hit.community.id);
            status.textContent = (en ? "Located: " : "已定位：") + [hit.street, hit.community, hit.grid]
              .filter(Boolean).map(function (u) { return u.name; }).join(" / ");
          })
          .catch(function () { status.textContent = en ? "Could not locate; choose the community." : "定位失败，请选择所在社区。"; });
      }, function () {
        status.textContent = en ? "Location is not available; choose the community." : "无法获取位置，请选择所在社区。";
      }, { enableHighAccuracy: true, timeout: 15000 });
    });
  });
})();
