/* 热线质检 — the alerts page (mark all seen) and the admins' alert channels (create, edit,
   deactivate, delete, send a test message), all through the JSON API with the CSRF token. */
(function () {
  "use strict";
  // app.js (loaded first, deferred in order): JSON API calls with the CSRF token and
  // Chinese error messages, the flash line, a reload that keeps a message
  var send = window.hqa.api, flash = window.hqa.flash;
  var reloadWith = window.hqa.reloadWith;

  var seen = document.getElementById("alerts-seen");
  if (seen) {
    seen.addEventListener("click", async function () {
      seen.disabled = true;
      try {
        await send("POST", "/api/v1/alerts/seen", {});
        document.getElementById("alerts-unseen").textContent = "0";
        document.querySelectorAll("#alerts-table tr.unseen").forEach(function (tr) {
          tr.classList.remove("unseen");
          var b = tr.querySelector(".badge.red");
          if (b && b.textContent === "新") b.remove();
        });
        if (window.hqaRefreshAlertBadge) window.hqaRefreshAlertBadge();
        flash("已全部标为已读", "ok");
      } catch (e) { flash(e.message, "error"); seen.disabled = false; }
    });
  }

  var form = document.getElementById("channel-form");
  if (!form) return;

  function checked(name) {
    return Array.prototype.map.call(form.querySelectorAll('input[name="' + name + '"]:checked'),
                                    function (c) { return c.value; });
  }

  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var id = form.elements.id.value;
    var options = {};
    if (form.elements.mode.value === "daily") options.mode = "daily";
    if (form.elements.max_per_minute.value) options.max_per_minute = parseInt(form.elements.max_per_minute.value, 10);
    var body = {name: form.elements.name.value,
                events: checked("events"), teams: checked("teams"), options: options,
                estates: form.elements.estates.value.split(/[,，、]/).map(function (s) { return s.trim(); })
                  .filter(Boolean)};
    if (form.elements.target.value) body.target = form.elements.target.value;
    var secret = form.elements.secret.value;
    if (secret) body.secret = secret;
    try {
      if (id) {
        await send("PATCH", "/api/v1/alerts/channels/" + id, body);
        reloadWith("告警通道已保存");
      } else {
        body.kind = form.elements.kind.value;
        await send("POST", "/api/v1/alerts/channels", body);
        reloadWith("告警通道已新建");
      }
    } catch (e) { flash(e.message, "error"); }
  });

  form.addEventListener("reset", function () {
    form.elements.id.value = "";
    form.elements.kind.disabled = false;
    form.elements.target.required = true;
    form.elements.target.placeholder = "机器人 / Webhook 地址，或逗号分隔的收件邮箱";
    document.getElementById("channel-form-title").textContent = "新建告警通道";
  });

  document.querySelectorAll("#channels tr[data-channel-id]").forEach(function (tr) {
    var c = JSON.parse(tr.dataset.channel);
    tr.addEventListener("click", async function (ev) {
      var action = ev.target.dataset && ev.target.dataset.action;
      if (!action) return;
      var url = "/api/v1/alerts/channels/" + c.id;
      try {
        if (action === "test") {
          ev.target.disabled = true;
          var r = await send("POST", url + "/test");
          ev.target.disabled = false;
          if (r.ok) flash("测试消息已送达“" + c.name + "”", "ok");
          else flash("测试消息发送失败：" + (r.error || ""), "error");
        } else if (action === "toggle") {
          await send("PATCH", url, {active: !c.active});
          reloadWith(c.active ? "告警通道已停用" : "告警通道已启用");
        } else if (action === "delete") {
          if (!confirm("确定删除告警通道“" + c.name + "”？")) return;
          await send("DELETE", url);
          reloadWith("告警通道已删除");
        } else if (action === "edit") {
          form.elements.id.value = c.id;
          form.elements.name.value = c.name;
          form.elements.kind.value = c.kind;
          form.elements.kind.disabled = true;
          form.elements.target.value = "";  // shown masked: left empty, it stays as it is
          form.elements.target.required = false;
          form.elements.target.placeholder = c.target + "（留空则不变）";
          form.elements.secret.value = "";
          form.querySelectorAll('input[name="events"]').forEach(function (x) { x.checked = c.events.indexOf(x.value) >= 0; });
          form.querySelectorAll('input[name="teams"]').forEach(function (x) { x.checked = c.teams.indexOf(x.value) >= 0; });
          form.elements.estates.value = c.estates.join(",");
          form.elements.mode.value = c.options.mode || "immediate";
          form.elements.max_per_minute.value = c.options.max_per_minute || "";
          document.getElementById("channel-form-title").textContent = "编辑告警通道：" + c.name;
          form.scrollIntoView({block: "start"});
        }
      } catch (e) { ev.target.disabled = false; flash(e.message, "error"); }
    });
  });
})();
