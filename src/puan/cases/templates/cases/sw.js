{% load static %}// 埔安: the phone page's service worker. It keeps the page and its scripts in the
// browser's cache, so the page opens again without network; the queued reports live in
// IndexedDB (outbox.js) and wait there. Pages: network first (always the freshest when
// online); static files: from the cache, refreshed in the background.
"use strict";
var CACHE = "puan-mobile-{{ version }}";
var PAGE = "{% url 'mobile:home' %}";
var ASSETS = [
  "{% static 'puan/puan.css' %}",
  "{% static 'puan/puan.js' %}",
  "{% static 'puan/map.js' %}",
  "{% static 'puan/outbox.js' %}",
  "{% static 'puan/mobile.js' %}",
  "{% static 'puan/favicon.svg' %}",
  "{% static 'vendor/htmx.min.js' %}",
  "{% static 'vendor/echarts.min.js' %}",
];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) { return cache.addAll(ASSETS.concat([PAGE])); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k.indexOf("puan-mobile-") === 0 && k !== CACHE; })
        .map(function (k) { return caches.delete(k); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return; // reports and uploads go to the network, queued by outbox.js
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === PAGE) {
    event.respondWith(
      fetch(request).then(function (response) {
        if (response.ok) {
          var copy = response.clone();
          caches.open(CACHE).then(function (cache) { cache.put(PAGE, copy); });
        }
        return response;
      }).catch(function () { return caches.match(PAGE); })
    );
    return;
  }
  if (ASSETS.indexOf(url.pathname) >= 0) {
    event.respondWith(
      caches.match(request).then(function (cached) {
        var fresh = fetch(request).then(function (response) {
          if (response.ok) {
            var copy = response.clone();
            caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
          }
          return response;
        });
        return cached || fresh;
      })
    );
  }
});
