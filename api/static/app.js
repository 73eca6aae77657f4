/* 热线质检 — shared page behaviour: JSON API calls with the CSRF token, Chinese error
   messages, review / appeal / correction / close-month forms, uploads and exports with
   progress. No build step. */
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function zh(msg) { return String(msg || "").split(" / ")[0]; }

  function errorText(status, body) {
    var d = body && body.detail;
    if (Array.isArray(d)) return d.map(function (e) { return zh(e.message || e.msg); }).join("；");
    if (d) return zh(d);
    if (status === 401) return "登录已过期，请重新登录";
    if (status === 403) return "没有权限执行此操作";
    if (status === 404) return "内容不存在或无权查看";
    if (status === 413) return "文件过大";
    if (status >= 500) return "服务器出错，请稍后重试";
    return "操作失败（" + status + "）";
  }

  function flash(text, kind) {
    var el = document.getElementById("flash");
    if (!el) { alert(text); return; }
    el.textContent = text;
    el.className = "flash " + (kind || "ok");
    el.setAttribute("role", kind === "error" ? "alert" : "status");
    el.hidden = false;
    el.scrollIntoView({block: "nearest"});
  }

  async function api(method, url, body) {
    var res;
    try {
      res = await fetch(url, {method: method, credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf,
                  "Accept": "application/json"},
        body: body === undefined ? undefined : JSON.stringify(body)});
    } catch (e) {
      throw new Error("网络连接失败，请检查网络后重试");
    }
    var data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) throw new Error(errorText(res.status, data));
    return data;
  }

  function busy(form, on) {
    form.querySelectorAll("button").forEach(function (b) { b.disabled = on; });
    form.setAttribute("aria-busy", on ? "true" : "false");
  }

  function reloadWith(message) {
    sessionStorage.setItem("hqa-flash", message);
    location.reload();
  }
  var pending = sessionStorage.getItem("hqa-flash");
  if (pending) { sessionStorage.removeItem("hqa-flash"); flash(pending, "ok"); }

  function submitter(ev) { return ev.submitter || document.activeElement; }

  document.addEventListener("submit", async function (ev) {
    var form = ev.target;
    var d = form.dataset;
    if (!(d.review || d.appeal || d.classify || d.decide || d.password || d.monitor || d.topicName || d.ack ||
          form.hasAttribute("data-topic-merge") || form.hasAttribute("data-upload"))) return;
    ev.preventDefault();
    if (form.hasAttribute("data-upload")) return upload(form);
    var fd = new FormData(form);
    var btn = submitter(ev);
    busy(form, true);
    try {
      if (d.password) {
        if (fd.get("new_password") !== fd.get("new_password2")) throw new Error("两次输入的新密码不一致");
        await api("POST", "/api/v1/auth/password",
                  {old_password: fd.get("old_password"), new_password: fd.get("new_password")});
        sessionStorage.setItem("hqa-flash", "密码已修改，请用新密码重新登录");
        location.href = "/login";
        return;
      } else if (d.review) {
        await api("POST", "/api/v1/findings/" + d.review + "/review",
                  {decision: btn.value, comment: fd.get("comment") || null});
        reloadWith(btn.value === "uphold" ? "已维持该项，得分与当月考核已更新" : "已推翻该项，得分与当月考核已更新");
      } else if (d.appeal) {
        await api("POST", "/api/v1/findings/" + d.appeal + "/appeals", {reason: fd.get("reason")});
        reloadWith("申诉已提交，等待主管处理");
      } else if (d.decide) {
        await api("POST", "/api/v1/appeals/" + d.decide + "/decision",
                  {decision: btn.value, reply: fd.get("reply")});
        reloadWith(btn.value === "accept" ? "申诉成立，该项已推翻" : "申诉已驳回，该项维持");
      } else if (d.ack) {
        await api("POST", "/api/v1/calls/" + encodeURIComponent(d.ack) + "/acknowledge",
                  {comment: fd.get("comment") || null});
        reloadWith("已签收本通电话的质检结果");
      } else if (d.monitor) {
        var m = JSON.parse(d.monitor);
        m.name = fd.get("name") || null;
        m.alert_calls = fd.get("alert_calls") ? Number(fd.get("alert_calls")) : null;
        await api("POST", "/api/v1/monitors", m);
        flash("已保存为关注词，质检总览和周报将按周统计提及它的通话", "ok");
        busy(form, false);
      } else if (d.topicName || form.hasAttribute("data-topic-merge")) {
        var vec = function (li) { return JSON.parse(li.dataset.vector); };
        var picked = d.topicName ? [form.closest("li[data-topic]")]
          : Array.prototype.slice.call(document.querySelectorAll("li[data-topic]")).filter(
              function (li) { return li.querySelector("input[name=merge]").checked; });
        if (!d.topicName && picked.length < 2) throw new Error("请至少勾选两个主题再合并");
        await api("POST", "/api/v1/topics/names", {name: fd.get("name"), vector: vec(picked[0]),
          others: picked.slice(1).map(vec)});
        reloadWith(d.topicName ? "主题名称已保存，以后各周相同的主题沿用这个名称" : "已合并，以后各周这些主题算作一个");
      } else if (d.classify) {
        var ptype = fd.get("complaint_type") || null;
        var ctype = fd.get("call_type");
        if (ctype !== "complaint") ptype = null;
        await api("PUT", "/api/v1/calls/" + encodeURIComponent(d.classify) + "/classification",
                  {call_type: ctype, complaint_type: ptype, comment: fd.get("comment") || null});
        reloadWith("类型已纠正，并记为分类器的训练样本");
      }
    } catch (e) {
      flash(e.message, "error");
      busy(form, false);
    }
  });

  document.addEventListener("click", async function (ev) {
    var b = ev.target.closest("[data-close-month],[data-export],[data-reanalyze],[data-case]");
    if (!b) return;
    if (b.dataset.case) {
      var act = b.dataset.caseAction;
      b.disabled = true;
      try {
        await api("PATCH", "/api/v1/cases/" + b.dataset.case,
                  act === "called_back" ? {called_back: true} : {state: act});
        reloadWith({called_back: "已记录回访", resolved: "案件已标记为已解决，回访时限开始计算", closed: "案件已结案"}[act]);
      } catch (e) {
        flash(e.message, "error");
        b.disabled = false;
      }
      return;
    }
    if (b.dataset.reanalyze) {
      if (!confirm("按当前评分表和分类器重新质检本通话（不重新转写）？结论未变的复核与申诉结果保留。")) return;
      var bar = document.getElementById("reanalyze-progress");
      var st = document.getElementById("reanalyze-status");
      b.disabled = true;
      if (bar) { bar.hidden = false; bar.removeAttribute("value"); }
      if (st) st.textContent = "正在重新分析……";
      try {
        var r = await api("POST", "/api/v1/calls/" + encodeURIComponent(b.dataset.reanalyze) + "/reanalyze");
        reloadWith("重新分析完成：得分 " + (r.score == null ? "—" : r.score) +
                   (r.changed.length ? "，结论改变的规则：" + r.changed.join("、") : "，各规则结论未变"));
      } catch (e) {
        flash(e.message, "error");
        b.disabled = false;
        if (bar) bar.hidden = true;
        if (st) st.textContent = "";
      }
    } else if (b.dataset.closeMonth) {
      if (!confirm("关账后本月考核将冻结，复核和申诉不再改变结果。确定关账 " + b.dataset.closeMonth + "？")) return;
      b.disabled = true;
      try {
        await api("POST", "/api/v1/assessments/" + b.dataset.closeMonth + "/close", {});
        reloadWith(b.dataset.closeMonth + " 已关账");
      } catch (e) { flash(e.message, "error"); b.disabled = false; }
    } else if (b.dataset.export) {
      exportFile(b);
    }
  });

  /* Export: download with a progress bar, then save the file. */
  async function exportFile(btn) {
    var bar = document.getElementById("export-progress");
    var status = document.getElementById("export-status");
    btn.disabled = true;
    if (bar) { bar.hidden = false; bar.removeAttribute("value"); }
    if (status) status.textContent = "正在生成报表……";
    try {
      var res = await fetch(btn.dataset.export, {credentials: "same-origin"});
      if (!res.ok) {
        var body = null; try { body = await res.json(); } catch (e) { /* not JSON */ }
        throw new Error(errorText(res.status, body));
      }
      var total = +res.headers.get("Content-Length") || 0;
      var reader = res.body.getReader(), chunks = [], got = 0;
      if (bar && total) bar.max = total;
      for (;;) {
        var r = await reader.read();
        if (r.done) break;
        chunks.push(r.value); got += r.value.length;
        if (bar && total) bar.value = got;
      }
      var blob = new Blob(chunks, {type: res.headers.get("Content-Type") || ""});
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = btn.dataset.filename || "report";
      document.body.appendChild(a); a.click(); a.remove();
      if (status) status.textContent = "已导出 " + (btn.dataset.filename || "") + "（" + Math.ceil(got / 1024) + " KB）";
    } catch (e) {
      if (status) status.textContent = "";
      flash(e.message.indexOf("fetch") >= 0 ? "网络连接失败，请重试" : e.message, "error");
    } finally {
      btn.disabled = false;
      if (bar) bar.hidden = true;
    }
  }

  /* Upload: XHR so the progress bar can follow the bytes sent. */
  function upload(form) {
    var file = form.querySelector('input[type="file"]').files[0];
    var out = document.getElementById("upload-result");
    var bar = document.getElementById("upload-progress");
    if (!file) { flash("请选择要上传的文件", "error"); return; }
    var meta = {};
    var agent = form.elements.agent_id.value.trim();
    var started = form.elements.started_at.value;
    if (agent) meta.agent_id = agent;
    if (started) meta.started_at = started + ":00";
    var fd = new FormData();
    fd.append("file", file);
    if (Object.keys(meta).length) fd.append("metadata", JSON.stringify(meta));
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/calls/upload");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total);
        out.textContent = "正在上传 " + bar.value + "%"; }
    };
    xhr.onload = function () {
      busy(form, false); bar.hidden = true;
      var data = null; try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
      if (xhr.status >= 200 && xhr.status < 300) {
        out.innerHTML = "";
        out.append((data.message || "已接收") + "：");
        var a = document.createElement("a");
        a.href = "/calls/" + encodeURIComponent(data.call_id); a.textContent = data.call_id;
        out.append(a);
      } else {
        out.textContent = "";
        flash(errorText(xhr.status, data), "error");
      }
    };
    xhr.onerror = function () { busy(form, false); bar.hidden = true; flash("网络连接失败，上传未完成", "error"); };
    busy(form, true); bar.hidden = false; bar.value = 0;
    xhr.send(fd);
  }

  window.hqa = {api: api, flash: flash, reloadWith: reloadWith};
})();
