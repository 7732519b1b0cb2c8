// 埔安: a queue of submissions that survives a bad network (and a closed browser tab).
//
// Each item is stored in IndexedDB with its own Idempotency-Key, made when the worker
// pressed "submit". Sending uploads the item's photos first (POST /api/v1/attachments,
// each id remembered as soon as it is known, so a retry never uploads a photo twice),
// then posts the JSON body with the key: if the first attempt reached the server but its
// answer was lost, the retry gets the first answer back and nothing is created twice.
//
//   PuanOutbox.open(urls, userId).then(function (box) { … });
//   box.add({ kind: "case", url: "/api/v1/cases", body: {...}, photos: [File, …], photoField: "evidence_ids" });
//   box.flush();                         // also runs on "online", at start and every 30 s
//   box.onchange = function (items) {};  // redraw
(function () {
  "use strict";

  var DB_NAME = "puan-outbox";
  var STORE = "items";
  var RETRY_MS = 30000;

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function request(req) {
    return new Promise(function (resolve, reject) {
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function openDb() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, { keyPath: "id" }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  // Network failure or a server that is down: keep the item and try again later.
  function Retry(message, reason) { this.message = message; this.reason = reason || "server"; }
  // The session ended: keep the item, stop, and ask the worker to sign in again.
  function SignedOut(message) { this.message = message; this.reason = "signed_out"; }

  function errorMessage(response) {
    return response.json().then(
      function (body) { return body && body.message ? body.message : "HTTP " + response.status; },
      function () { return "HTTP " + response.status; }
    );
  }

  function check(response) {
    if (response.ok) return response.json();
    if (response.status === 401 || response.status === 403) {
      return errorMessage(response).then(function (m) { throw new SignedOut(m); });
    }
    if (response.status === 408 || response.status === 429 || response.status >= 500) {
      return errorMessage(response).then(function (m) { throw new Retry(m); });
    }
    // 4xx: the submission itself is wrong; retrying cannot help.
    return errorMessage(response).then(function (m) { throw new Error(m); });
  }

  function send(url, init) {
    return fetch(url, init).then(check, function (err) { throw new Retry(String(err && err.message || err), "network"); });
  }

  function Outbox(db) {
    this.db = db;
    this.busy = false;
    this.onchange = null;
    this.onsent = null;
    this.signedOut = false;
    var self = this;
    window.addEventListener("online", function () { self.flush(); });
    setInterval(function () { self.flush(); }, RETRY_MS);
  }

  Outbox.prototype.tx = function (mode) {
    return this.db.transaction(STORE, mode).objectStore(STORE);
  };

  Outbox.prototype.all = function () {
    return request(this.tx("readonly").getAll()).then(function (items) {
      return items.sort(function (a, b) { return a.created_at < b.created_at ? -1 : 1; });
    });
  };

  Outbox.prototype.put = function (item) {
    return request(this.tx("readwrite").put(item));
  };

  Outbox.prototype.remove = function (id) {
    var self = this;
    return request(this.tx("readwrite").delete(id)).then(function () { return self.changed(); });
  };

  Outbox.prototype.changed = function () {
    var self = this;
    return this.all().then(function (items) {
      if (self.onchange) self.onchange(items, self);
      return items;
    });
  };

  Outbox.prototype.add = function (spec) {
    var key = uuid();
    var item = {
      id: key,
      key: key,
      kind: spec.kind,
      user: this.user,
      label: spec.label || "",
      url: spec.url,
      body: spec.body,
      photoField: spec.photoField || null,
      photos: (spec.photos || []).map(function (f) { return { name: f.name || "photo.jpg", blob: f, id: null }; }),
      state: "pending",
      message: "",
      result: null,
      created_at: new Date().toISOString(),
    };
    var self = this;
    return this.put(item).then(function () { return self.changed(); }).then(function () { return item; });
  };

  Outbox.prototype.sendOne = function (item) {
    var self = this;
    var csrf = window.puan.csrfToken();
    var uploads = item.photos.reduce(function (chain, photo) {
      return chain.then(function () {
        if (photo.id) return null;
        var form = new FormData();
        form.append("file", photo.blob, photo.name);
        return send(self.urls.attachments, {
          method: "POST",
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrf },
          body: form,
        }).then(function (attachment) {
          photo.id = attachment.id;
          return self.put(item);
        });
      });
    }, Promise.resolve());
    return uploads.then(function () {
      var body = Object.assign({}, item.body);
      if (item.photoField) body[item.photoField] = item.photos.map(function (p) { return p.id; });
      return send(item.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Idempotency-Key": item.key },
        body: JSON.stringify(body),
      });
    });
  };

  Outbox.prototype.flush = function () {
    var self = this;
    if (this.busy) return Promise.resolve();
    this.busy = true;
    return this.all()
      .then(function (items) {
        var pending = items.filter(function (i) { return i.state === "pending" && i.user === self.user; });
        return pending.reduce(function (chain, item) {
          return chain.then(function (stop) {
            if (stop) return true;
            return self.sendOne(item).then(
              function (result) {
                item.state = "sent";
                item.result = result;
                item.message = "";
                item.reason = "";
                item.photos.forEach(function (p) { p.blob = null; }); // free the space
                self.signedOut = false;
                return self.put(item).then(function () {
                  if (self.onsent) self.onsent(item);
                  return self.changed();
                }).then(function () { return false; });
              },
              function (err) {
                if (err instanceof Retry || err instanceof SignedOut) {
                  self.signedOut = err instanceof SignedOut;
                  item.message = err.message;
                  item.reason = err.reason;
                  return self.put(item).then(function () { return self.changed(); }).then(function () { return true; });
                }
                item.state = "failed";
                item.message = err.message || String(err);
                item.reason = "rejected";
                return self.put(item).then(function () { return self.changed(); }).then(function () { return false; });
              }
            );
          });
        }, Promise.resolve(false));
      })
      .then(function () { self.busy = false; }, function () { self.busy = false; });
  };

  // Sent items are kept a day so the worker sees their tracking codes; then they go.
  Outbox.prototype.prune = function () {
    var self = this;
    var dayAgo = new Date(Date.now() - 86400000).toISOString();
    return this.all().then(function (items) {
      return Promise.all(items.filter(function (i) { return i.state === "sent" && i.created_at < dayAgo; })
        .map(function (i) { return request(self.tx("readwrite").delete(i.id)); }));
    });
  };

  window.PuanOutbox = {
    // `user`: the signed-in account; only its own items are sent.
    open: function (urls, user) {
      return openDb().then(function (db) {
        var box = new Outbox(db);
        box.urls = urls;
        box.user = user;
        return box.prune().then(function () { return box; });
      });
    },
  };
})();
