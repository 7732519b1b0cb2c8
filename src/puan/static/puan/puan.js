// 埔安: behaviour shared by every page. Loaded as a file (the CSP allows no inline script).
(function () {
  "use strict";

  function lang() {
    return document.documentElement.lang === "en" ? "en" : "zh";
  }

  var TEXT = {
    zh: { network: "网络连接失败，请检查网络后重试。", failed: "操作失败（{status}），请稍后重试。" },
    en: { network: "The network is unreachable. Please try again.", failed: "The request failed ({status}). Please try again." },
  };

  function flash(message, kind) {
    var box = document.getElementById("flash");
    if (!box) return;
    var p = document.createElement("p");
    p.className = "notice notice-" + (kind || "error");
    p.textContent = message;
    box.replaceChildren(p);
  }

  // After a swap, put keyboard focus where the user has to look: the first invalid
  // field, or a notice that the server marked with data-focus.
  function focusAfterSwap(root) {
    var target = root.querySelector("[aria-invalid='true']") || root.querySelector("[data-focus]");
    if (target) {
      if (!target.hasAttribute("tabindex") && !/^(INPUT|SELECT|TEXTAREA|BUTTON|A)$/.test(target.tagName)) {
        target.setAttribute("tabindex", "-1");
      }
      target.focus();
    }
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    focusAfterSwap(event.detail.target.isConnected ? event.detail.target : document);
  });
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    flash(TEXT[lang()].failed.replace("{status}", status));
  });
  document.addEventListener("htmx:sendError", function () {
    flash(TEXT[lang()].network);
  });

  // Signing out forgets the cached phone page (it shows the worker's name and grid).
  document.addEventListener("submit", function (event) {
    if (!event.target.matches("form[action$='/logout/']") || !window.caches) return;
    caches.keys().then(function (keys) {
      keys.filter(function (k) { return k.indexOf("puan-mobile-") === 0; }).forEach(function (k) { caches.delete(k); });
    });
  });

  window.puan = window.puan || {};
  window.puan.flash = flash;
  window.puan.lang = lang;
  window.puan.csrfToken = function () {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  };
})();
