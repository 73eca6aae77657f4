/* 热线质检 — personal data: a supervisor reveals one call (audited), an admin saves the
   masking policy. */
(function () {
  "use strict";
  // app.js (loaded first, deferred in order): JSON API calls with the CSRF token and
  // Chinese error messages, the flash line, a reload that keeps a message
  var send = window.hqa.api, flash = window.hqa.flash, reloadWith = window.hqa.reloadWith;

  var reveal = document.querySelector("[data-reveal]");
  if (reveal) {
    reveal.addEventListener("click", async function () {
      reveal.disabled = true;
      try {
        await send("POST", "/api/v1/calls/" + encodeURIComponent(reveal.dataset.reveal) + "/reveal");
        reloadWith("已显示明文，此次查看已记入审计");
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
