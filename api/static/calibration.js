/* 热线质检 — random samples (draw, mark a call checked), calibration sessions (create, blind
   scoring: save a draft, submit), all through the JSON API with the CSRF token. */
(function () {
  "use strict";
  // app.js (loaded first, deferred in order): JSON API calls with the CSRF token and
  // Chinese error messages, the flash line, a reload that keeps a message
  var send = window.hqa.api, flash = window.hqa.flash, reloadWith = window.hqa.reloadWith;

  function value(form, name) {
    var el = form.elements[name];
    var v = el ? String(el.value || "").trim() : "";
    return v || null;
  }
  function number(form, name) {
    var v = value(form, name);
    return v === null ? null : parseInt(v, 10);
  }
  function list(text) {
    return String(text || "").split(/[\s,，、;；]+/).map(function (s) { return s.trim(); })
      .filter(Boolean);
  }
  function period(form) {
    var from = value(form, "date_from"), to = value(form, "date_to");
    if (from || to) return {date_from: from, date_to: to};
    return {month: value(form, "month")};
  }
  function busy(form, on) {
    form.querySelectorAll("button").forEach(function (b) { b.disabled = on; });
  }

  // 随机抽检: draw a sample
  var sampleForm = document.getElementById("sample-form");
  if (sampleForm) {
    sampleForm.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      var body = Object.assign({name: value(sampleForm, "name"), size: number(sampleForm, "size"),
                                seed: number(sampleForm, "seed"),
                                agent_id: value(sampleForm, "agent_id")}, period(sampleForm));
      busy(sampleForm, true);
      try {
        var s = await send("POST", "/api/v1/samples", body);
        sessionStorage.setItem("hqa-flash", "已随机抽取 " + s.call_ids.length + " 通电话（种子 " + s.seed + "）");
        location.href = "/samples/" + s.id;
      } catch (e) { flash(e.message, "error"); busy(sampleForm, false); }
    });
  }

  // a sampled call looked at
  document.addEventListener("click", async function (ev) {
    var btn = ev.target.closest("button[data-check]");
    if (!btn) return;
    btn.disabled = true;
    try {
      await send("POST", "/api/v1/samples/" + btn.dataset.sample + "/calls/" +
                 encodeURIComponent(btn.dataset.check) + "/check");
      reloadWith("已标记为已抽检");
    } catch (e) { flash(e.message, "error"); btn.disabled = false; }
  });

  // 新建校准
  var calForm = document.getElementById("calibration-form");
  if (calForm) {
    calForm.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      var reviewers = Array.prototype.map.call(
        calForm.querySelectorAll('input[name="reviewers"]:checked'),
        function (c) { return parseInt(c.value, 10); });
      var body = {name: value(calForm, "name"), reviewer_ids: reviewers};
      var codes = list(value(calForm, "codes"));
      if (codes.length) body.codes = codes;
      var source = (calForm.querySelector('input[name="source"]:checked') || {}).value;
      if (source === "sample") body.sample_id = number(calForm, "sample_id");
      else if (source === "ids") body.call_ids = list(value(calForm, "call_ids"));
      else body.draw = Object.assign({size: number(calForm, "size"), seed: number(calForm, "seed")},
                                     period(calForm));
      busy(calForm, true);
      try {
        if (reviewers.length < 2) throw new Error("请至少选择两名评分人");
        var s = await send("POST", "/api/v1/calibration/sessions", body);
        sessionStorage.setItem("hqa-flash", "校准已创建");
        location.href = "/calibration/" + s.id;
      } catch (e) { flash(e.message, "error"); busy(calForm, false); }
    });
  }

  // 盲评: the reviewer's scores (a draft, or submitted)
  var scoreForm = document.getElementById("score-form");
  if (scoreForm) {
    var needed = parseInt(scoreForm.dataset.needed, 10) || 0;
    var progress = document.getElementById("score-progress");
    function cells() {
      return Array.prototype.map.call(scoreForm.querySelectorAll('input[type="radio"]:checked'),
        function (r) {
          var parts = r.name.split("|");
          return {call_id: parts[0], code: parts[1], label: r.value};
        });
    }
    function show() {
      if (progress) progress.textContent = "已评 " + cells().length + " / " + needed + " 项";
    }
    scoreForm.addEventListener("change", show);
    show();
    scoreForm.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      var btn = ev.submitter || document.activeElement;
      var submit = btn && btn.value === "submit";
      var scores = cells();
      busy(scoreForm, true);
      try {
        if (submit && scores.length < needed) {
          throw new Error("还有 " + (needed - scores.length) + " 项未评分，请全部评完再提交");
        }
        await send("PUT", "/api/v1/calibration/sessions/" + scoreForm.dataset.session + "/scores",
                   {scores: scores, submit: submit});
        if (submit) {
          sessionStorage.setItem("hqa-flash", "评分已提交");
          location.href = "/calibration/" + scoreForm.dataset.session + "/results";
        } else {
          flash("草稿已保存（" + scores.length + " / " + needed + " 项）", "ok");
          busy(scoreForm, false);
        }
      } catch (e) { flash(e.message, "error"); busy(scoreForm, false); }
    });
  }
})();
