// The cluster page refreshes its live status every five seconds while the tab is visible.
// Without JavaScript the page shows the status as of its loading.
(function () {
  "use strict";
  const url = "/geoserver/web/cluster/status";
  async function refresh() {
    if (document.hidden) return;
    const old = document.getElementById("live-status");
    if (!old) return;
    try {
      const r = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (!r.ok || r.redirected) return;
      const doc = new DOMParser().parseFromString(await r.text(), "text/html");
      const fresh = doc.getElementById("live-status");
      if (fresh) old.replaceWith(document.importNode(fresh, true));
    } catch (_) {
      // The node may be restarting; the next round tries again.
    }
  }
  setInterval(refresh, 5000);
})();
