/* 热线质检 — personal data: a supervisor reveals one call (audited), an admin saves the
   masking policy. */
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function flash(text, kind) {
    var el = document.getElementById("flash");
    if (!el) { alert(text); return; }
    el.textContent = text;
    el.className = "flash " + (kind || "ok");
    el.hidden = false;
  }

  async function send(method, url, body) {
    var res = await fetch(url, {method: method, credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf,
                "Accept": "application/json"},
      body: body === undefined ? undefined : JSON.stringify(body)});
    var data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      var d = data && data.detail;
      throw new Error(Array.isArray(d) ? d.map(function (e) { return e.message || e.msg; }).join("；")
                      : String(d || ("操作失败（" + res.status + "）")).split(" / ")[0]);
    }
    return data;
  }

  var reveal = document.querySelector("[data-reveal]");
  if (reveal) {
    reveal.addEventListener("click", async function () {
      reveal.disabled = true;
      try {
        await send("POST", "/api/v1/calls/" + encodeURIComponent(reveal.dataset.reveal) + "/reveal");
        sessionStorage.setItem("hqa-flash", "已显示明文，此次查看已记入审计");
        location.reload();
      } catch (e) { flash(e.message, "error"); reveal.disabled = false; }
    });
  }

  var form = document.getElementById("privacy-form");
  if (form) {
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      var roles = {};
      form.querySelectorAll('input[type=checkbox][name*="."]').forEach(function (c) {
        var p = c.name.split(".");
        (roles[p[0]] = roles[p[0]] || {})[p[1]] = c.checked;
      });
      var kinds = [];
      form.querySelectorAll('input[name=kind]:checked').forEach(function (c) { kinds.push(c.value); });
      var body = {roles: roles, kinds: kinds, logs: form.querySelector("#p-logs").checked,
                  reveal_minutes: parseInt(form.querySelector("#p-minutes").value, 10)};
      try {
        await send("PUT", "/api/v1/privacy/policy", body);
        flash("脱敏策略已保存", "ok");
      } catch (e) { flash(e.message, "error"); }
    });
  }
})();
