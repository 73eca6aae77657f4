/* 热线质检 — the alert badge in the navigation: alerts newer than the last one seen,
   refreshed every 30 s. */
(function () {
  "use strict";
  var badge = document.getElementById("alert-badge");
  if (!badge) return;
  async function refresh() {
    try {
      var res = await fetch("/api/v1/alerts/unseen", {credentials: "same-origin",
                                                       headers: {"Accept": "application/json"}});
      if (!res.ok) return;
      var n = (await res.json()).unseen;
      badge.textContent = n > 99 ? "99+" : String(n);
      badge.hidden = !n;
      badge.setAttribute("aria-label", n + " 条未读告警");
    } catch (e) { /* offline: try again later */ }
  }
  window.hqaRefreshAlertBadge = refresh;
  refresh();
  setInterval(refresh, 30000);
})();
