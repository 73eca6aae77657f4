/* 热线质检 — 规则工作室: the rule editor (a form kept in step with the YAML text: the form
   writes the YAML as it is filled in; YAML typed by hand is read back into the form when the
   form can show it, and is what is saved), the dry run on stored calls, activating and
   deactivating versions, re-scoring past calls. Plain JS; writes through the JSON API with
   the CSRF token (app.js), the text checked by POST /rules/studio/check. */
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var flash = window.hqa.flash, reloadWith = window.hqa.reloadWith;

  function zh(msg) { return String(msg || "").split(" / ")[0]; }

  /* fetch JSON; {ok, status, data} (never throws for an HTTP error) */
  async function call(method, url, body) {
    var res;
    try {
      res = await fetch(url, {method: method, credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json"},
        body: body === undefined ? undefined : JSON.stringify(body)});
    } catch (e) {
      return {ok: false, status: 0, data: {detail: "网络连接失败，请检查网络后重试"}};
    }
    var data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    return {ok: res.ok, status: res.status, data: data};
  }

  function problems(r) {
    var d = r.data && r.data.detail;
    if (Array.isArray(d)) return d.map(function (e) { return e.message || e.msg || String(e); });
    if (d) return [String(d)];
    if (r.status === 403) return ["没有权限执行此操作"];
    return ["操作失败（" + r.status + "）"];
  }

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "hidden") e.hidden = !!attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (c) { if (c) e.append(c); });
    return e;
  }

  var uid = 0;
  function nextId(p) { uid += 1; return p + "-" + uid; }

  function isObj(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }
  function isStrList(v) { return Array.isArray(v) && v.every(function (x) { return typeof x === "string"; }); }
  function isNum(v) { return typeof v === "number" && isFinite(v); }

  /* ------------------------------------------------------------------ YAML writing */

  var RESERVED = /^(true|false|yes|no|on|off|null|y|n|~)$/i;
  function scalar(v, flow) {
    if (v === null || v === undefined) return "null";
    if (typeof v === "boolean" || typeof v === "number") return String(v);
    var s = String(v);
    var plain = s !== "" && !RESERVED.test(s) && !/^[-+]?[\d.][\d_.:eE+-]*$/.test(s) && !/^\d{4}-\d\d?-\d\d?/.test(s) && !/^[-+]?\.(inf|nan)$/i.test(s) &&
      !/^[\s\-?:,\[\]{}#&*!|>'"%@`]/.test(s) && !/\s$/.test(s) && !/[:#]/.test(s) &&
      !/[\n\t]/.test(s) && !(flow && /[,\[\]{}]/.test(s));
    return plain ? s : JSON.stringify(s);
  }
  function isScalar(v) { return v === null || typeof v !== "object"; }
  function pad(n) { return new Array(n + 1).join(" "); }

  function dumpMap(obj, indent) {
    var lines = [];
    Object.keys(obj).forEach(function (k) {
      var v = obj[k], head = pad(indent) + scalar(k) + ":";
      if (isScalar(v)) lines.push(head + " " + scalar(v));
      else if (Array.isArray(v) && v.every(isScalar)) {
        lines.push(head + " [" + v.map(function (x) { return scalar(x, true); }).join(", ") + "]");
      } else if (Array.isArray(v)) {
        lines.push(head);
        v.forEach(function (item) { lines = lines.concat(dumpItem(item, indent + 2)); });
      } else if (!Object.keys(v).length) lines.push(head + " {}");
      else { lines.push(head); lines = lines.concat(dumpMap(v, indent + 2)); }
    });
    return lines;
  }
  function dumpItem(item, indent) {
    if (isScalar(item)) return [pad(indent) + "- " + scalar(item)];
    if (Array.isArray(item)) return [pad(indent) + "- " + JSON.stringify(item)];
    var inner = dumpMap(item, indent + 2);
    if (!inner.length) return [pad(indent) + "- {}"];
    inner[0] = pad(indent) + "- " + inner[0].replace(/^\s+/, "");
    return inner;
  }
  function dump(obj) { return dumpMap(obj, 0).join("\n") + "\n"; }

  /* ------------------------------------------------------------------ list page: re-score */

  var rescore = document.getElementById("rescore-form");
  if (rescore) {
    rescore.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      var from = rescore.elements.date_from.value, to = rescore.elements.date_to.value;
      if (!confirm("用现在生效的规则重新分析 " + from + " 至 " + to + " 的全部已分析通话？\n" +
                   "通话将排队由后台处理，得分和当月考核会随之改变（已关账的月份不变）。")) return;
      var out = document.getElementById("rescore-result");
      rescore.querySelector("button").disabled = true;
      var r = await call("POST", "/api/v1/rule-documents/rescore", {date_from: from, date_to: to});
      rescore.querySelector("button").disabled = false;
      if (!r.ok) { flash(problems(r).map(zh).join("；"), "error"); return; }
      var d = r.data;
      out.textContent = "已排队重新评分 " + d.queued + " 通" +
        (d.closed_month ? "；已关账月份未动 " + d.closed_month + " 通" : "") +
        (d.busy ? "；正在处理中 " + d.busy + " 通" : "") +
        (d.no_transcript ? "；无转写文本 " + d.no_transcript + " 通" : "") +
        "（生效规则：" + (d.active_rules.length ? d.active_rules.join("、") : "仅内置规则") + "）";
      flash(out.textContent, "ok");
    });
  }

  var dataEl = document.getElementById("studio-data");
  if (!dataEl) return;
  var S = JSON.parse(dataEl.textContent);
  var textarea = document.getElementById("yaml-text");
  var saveForm = document.getElementById("save-form");
  var notice = document.getElementById("form-unavailable");

  /* ------------------------------------------------------------------ condition rows */

  var SPK3 = [["agent", "客服"], ["customer", "客户"], ["any", "任一方"]];
  var SPK2 = [["agent", "客服"], ["customer", "客户"]];
  var MATCH = [["sound", "按读音（默认，容许识别误差）"], ["exact", "按字完全一致"]];
  var WINDOWS = [["", "整通电话"], ["first_seconds", "通话开头（秒）"], ["last_seconds", "通话结尾（秒）"],
                 ["first_turns", "该方的前几句"], ["last_turns", "该方的最后几句"], ["opening_seconds", "客服开场（秒）"]];
  var META_OPS = [["equals", "等于"], ["in", "属于（逗号分隔）"], ["above", "大于"], ["below", "小于"], ["exists", "存在"]];
  // per condition: [parameter, input kind, label]
  var PARAMS = {
    phrase: [["phrases", "lines", "短语（每行一个）"], ["speaker", SPK3, "说话人"], ["match", MATCH, "匹配方式"],
             ["in", "window", "位置"], ["exclude", "lines", "排除短语（可选，每行一个）"], ["min_count", "number", "至少出现次数（可选）"]],
    meaning: [["examples", "lines", "例句（每行一句）"], ["act", "act", "话语行为（可选）"], ["threshold", "number", "概率阈值 0–1（可选）"],
              ["speaker", SPK3, "说话人"], ["in", "window", "位置"]],
    speaker: [["is", SPK3, "说话人"], ["in", "window", "位置"]],
    silence: [["min_seconds", "number", "静默至少（秒）"], ["except", "lines", "说过这些话后的等待不算（可选，每行一个）"]],
    speech_rate: [["speaker", SPK2, "说话人"], ["above", "number", "高于（字/秒）"], ["below", "number", "低于（字/秒）"],
                  ["any_utterance", "bool", "只看某一句（任一句超出即算）"]],
    talk_ratio: [["speaker", SPK2, "说话人"], ["above", "number", "占比高于（0–1）"], ["below", "number", "占比低于（0–1）"]],
    interruption: [["by", SPK2, "打断的一方"], ["min_count", "number", "至少次数（可选）"], ["min_overlap_seconds", "number", "重叠至少（秒，可选）"]],
    call_type: [["_types", "call_types", "来电类型"]],
    complaint_type: [["_types", "complaint_types", "投诉类型"]],
    metadata: [["key", "text", "字段名（如 ring_seconds、hangup_by）"], ["_op", META_OPS, "比较"], ["_value", "text", "值"]]
  };

  function field(label, input) {
    var id = nextId("c");
    input.id = id;
    return el("div", {"class": "param"}, [el("label", {"for": id, text: label}), input]);
  }
  function selectOf(options, value) {
    var s = el("select");
    options.forEach(function (o) { s.append(el("option", {value: o[0], text: o[1]})); });
    if (value !== undefined && value !== null) s.value = value;
    return s;
  }

  function paramInput(row, p, arg) {
    var key = p[0], kind = p[1], label = p[2];
    var v = arg[key], box;
    if (kind === "lines") {
      box = el("textarea", {rows: "3", "data-param": key});
      box.value = (v || []).join("\n");
      return field(label, box);
    }
    if (kind === "number") {
      box = el("input", {type: "number", step: "any", min: "0", "data-param": key, size: "6"});
      box.value = v === undefined ? "" : v;
      return field(label, box);
    }
    if (kind === "text") {
      box = el("input", {"data-param": key, maxlength: "200"});
      if (key === "_value") {
        var op = META_OPS.map(function (o) { return o[0]; }).filter(function (o) { return o in arg; })[0];
        var x = op ? arg[op] : "";
        box.value = Array.isArray(x) ? x.join(", ") : (x === undefined || x === null ? "" : String(x));
      } else box.value = v || "";
      return field(label, box);
    }
    if (kind === "bool") {
      var cb = el("input", {type: "checkbox", "data-param": key});
      cb.checked = !!v;
      var id = nextId("c");
      cb.id = id;
      return el("div", {"class": "param check"}, [el("label", {"for": id}, [cb, " " + label])]);
    }
    if (kind === "window") {
      var w = isObj(v) ? Object.keys(v)[0] : "";
      var sel = selectOf(WINDOWS, w || "");
      sel.setAttribute("data-param", "in_kind");
      var num = el("input", {type: "number", step: "any", min: "0", "data-param": "in_value", size: "5",
                             "aria-label": "位置的秒数或句数"});
      num.value = w ? v[w] : "";
      var f = field(label, sel);
      f.append(num);
      return f;
    }
    if (kind === "act") {
      var opts = [["", "（从例句推断）"]].concat(Object.keys(S.acts).map(function (a) { return [a, S.acts[a] + "（" + a + "）"]; }));
      box = selectOf(opts, v || "");
      box.setAttribute("data-param", key);
      return field(label, box);
    }
    if (kind === "call_types" || kind === "complaint_types") {
      var names = S[kind], picked = typeof row.arg === "string" ? [row.arg] : (Array.isArray(row.arg) ? row.arg : []);
      var fs = el("fieldset", {"class": "param types"}, [el("legend", {text: label})]);
      Object.keys(names).forEach(function (t) {
        var c = el("input", {type: "checkbox", value: t, "data-param": "_types"});
        c.checked = picked.indexOf(t) >= 0;
        fs.append(el("label", {"class": "inline"}, [c, " " + names[t]]));
      });
      return fs;
    }
    if (Array.isArray(kind)) {  // a select
      var value = v;
      if (key === "_op") value = META_OPS.map(function (o) { return o[0]; }).filter(function (o) { return o in arg; })[0] || "equals";
      if (key === "is" && typeof row.arg === "string") value = row.arg;
      box = selectOf(kind, value === undefined ? undefined : value);
      box.setAttribute("data-param", key);
      return field(label, box);
    }
    return null;
  }

  function renderRow(list, op, arg, negate) {
    var li = el("li", {"class": "cond-row", "data-op": op});
    var row = {op: op, arg: arg === undefined ? {} : arg};
    var typeSel = selectOf(Object.keys(PARAMS).map(function (k) { return [k, S.conditions[k] || k]; }), op);
    typeSel.className = "ctype";
    var neg = el("input", {type: "checkbox", "class": "negate"});
    neg.checked = !!negate;
    var negId = nextId("n");
    neg.id = negId;
    var params = el("div", {"class": "params"});
    var argObj = isObj(row.arg) ? row.arg : {};
    PARAMS[op].forEach(function (p) { var f = paramInput(row, p, argObj); if (f) params.append(f); });
    var remove = el("button", {type: "button", "class": "remove-row", text: "删除此条件"});
    li.append(el("div", {"class": "row-head"}, [field("条件类型", typeSel),
      el("div", {"class": "param check"}, [el("label", {"for": negId}, [neg, " 不满足（取反）"])]), remove]), params);
    typeSel.addEventListener("change", function () {
      var fresh = renderRow(null, typeSel.value, {}, neg.checked);
      li.replaceWith(fresh);
      formChanged();
    });
    remove.addEventListener("click", function () { li.remove(); formChanged(); });
    if (list) list.append(li);
    return li;
  }

  function linesOf(box) {
    return box.value.split("\n").map(function (s) { return s.trim(); }).filter(Boolean);
  }
  function numberOf(s) { var n = Number(s); return s.trim() !== "" && isFinite(n) ? n : s; }

  function readRow(li) {
    // the type the row's fields were made for (the select's "input" comes before the
    // "change" that makes the new type's fields)
    var op = li.dataset.op, arg = {};
    var q = function (k) { return li.querySelector('[data-param="' + k + '"]'); };
    PARAMS[op].forEach(function (p) {
      var key = p[0], kind = p[1], box = q(key);
      if (!box && kind !== "window" && key !== "_types") return;
      if (kind === "lines") { var ls = linesOf(box); if (ls.length || key === "phrases" || key === "examples") arg[key] = ls; }
      else if (kind === "number") { if (box.value.trim() !== "") arg[key] = numberOf(box.value); }
      else if (kind === "bool") { if (box.checked) arg[key] = true; }
      else if (kind === "window") {
        var w = q("in_kind").value, n = q("in_value").value;
        if (w) { var o = {}; o[w] = n.trim() === "" ? 0 : numberOf(n); arg["in"] = o; }
      } else if (kind === "act") { if (box.value) arg[key] = box.value; }
      else if (kind === "text" && key !== "_value") { if (box.value.trim()) arg[key] = box.value.trim(); }
      else if (Array.isArray(kind) && key !== "_op") {
        if (!(key === "match" && box.value === "sound")) arg[key] = box.value;
      }
    });
    if (op === "meaning" && !arg.examples.length && arg.act) delete arg.examples;
    if (op === "metadata") {
      var opName = q("_op").value, raw = q("_value").value.trim();
      if (opName === "in") arg["in"] = raw.split(/[,，、]/).map(function (s) { return s.trim(); }).filter(Boolean).map(numberOf);
      else if (opName === "exists") arg.exists = !/^(false|否|no|0)$/i.test(raw);
      else if (opName === "equals") arg.equals = raw === "true" ? true : raw === "false" ? false : numberOf(raw);
      else arg[opName] = numberOf(raw);
    }
    var cond = {};
    if (op === "call_type" || op === "complaint_type") {
      cond[op] = Array.prototype.filter.call(li.querySelectorAll('[data-param="_types"]'), function (c) { return c.checked; })
        .map(function (c) { return c.value; });
    } else if (op === "speaker") {
      cond[op] = arg["in"] ? arg : arg.is;
    } else cond[op] = arg;
    return li.querySelector(".negate").checked ? {not: cond} : cond;
  }

  /* can the form show this condition (a leaf the rows know, or not: leaf)? */
  function leafOk(c) {
    if (!isObj(c) || Object.keys(c).length !== 1) return false;
    var op = Object.keys(c)[0], arg = c[op];
    if (op === "not") return isObj(arg) && Object.keys(arg)[0] !== "not" && leafOk(arg) && !("not" in arg);
    if (!PARAMS[op]) return false;
    if (op === "call_type" || op === "complaint_type") {
      var known = S[op === "call_type" ? "call_types" : "complaint_types"];
      var vals = typeof arg === "string" ? [arg] : arg;
      return isStrList(vals) && vals.every(function (v) { return v in known; });
    }
    if (op === "speaker" && typeof arg === "string") return SPK3.some(function (s) { return s[0] === arg; });
    if (!isObj(arg)) return false;
    var spec = {};
    PARAMS[op].forEach(function (p) { spec[p[0]] = p[1]; });
    return Object.keys(arg).every(function (k) {
      var v = arg[k];
      if (op === "metadata") {
        if (k === "key") return typeof v === "string";
        if (k === "in") return Array.isArray(v) && v.every(isScalar);
        if (k === "exists") return typeof v === "boolean";
        if (k === "equals") return isScalar(v);
        if (k === "above" || k === "below") return isNum(v);
        return false;
      }
      var kind = spec[k];
      if (kind === "lines") return isStrList(v);
      if (kind === "number") return isNum(v);
      if (kind === "bool") return typeof v === "boolean";
      if (kind === "act") return typeof v === "string" && v in S.acts;
      if (kind === "window") return isObj(v) && Object.keys(v).length === 1 &&
        WINDOWS.some(function (w) { return w[0] && w[0] === Object.keys(v)[0]; }) && isNum(v[Object.keys(v)[0]]);
      if (Array.isArray(kind)) return kind.some(function (o) { return o[0] === v; });
      return false;
    }) && (op !== "metadata" || Object.keys(arg).filter(function (k) { return k !== "key"; }).length <= 1);
  }

  /* the rows of a block: {combine, rows: [[op, arg, negate]]}, or null when the form cannot show it */
  function blockRows(c) {
    if (c === undefined || c === null) return {combine: "all", rows: []};
    if (!isObj(c) || Object.keys(c).length !== 1) return null;
    var op = Object.keys(c)[0], items;
    if (op === "all" || op === "any") {
      if (!Array.isArray(c[op]) || !c[op].length) return null;
      items = c[op];
    } else items = [c];
    var rows = [];
    for (var i = 0; i < items.length; i++) {
      if (!leafOk(items[i])) return null;
      var it = items[i], neg = "not" in it;
      if (neg) it = it.not;
      var k = Object.keys(it)[0];
      rows.push([k, it[k], neg]);
    }
    return {combine: op === "any" ? "any" : "all", rows: rows};
  }

  function renderBlock(container, title, help, block) {
    container.innerHTML = "";
    var combId = nextId("b");
    var comb = selectOf([["all", "全部满足（all）"], ["any", "任一满足（any）"]], block.combine);
    comb.id = combId;
    comb.className = "combine";
    var list = el("ol", {"class": "cond-rows"});
    block.rows.forEach(function (r) { renderRow(list, r[0], r[1], r[2]); });
    var add = el("button", {type: "button", "class": "add-row", text: "添加条件"});
    add.addEventListener("click", function () { renderRow(list, "phrase", {phrases: [], speaker: "agent"}, false); formChanged(); });
    var fs = el("fieldset", {}, [el("legend", {text: title}), el("p", {"class": "small muted", text: help}),
      el("div", {"class": "param"}, [el("label", {"for": combId, text: "多个条件时"}), comb]), list, add]);
    container.append(fs);
  }

  function readBlock(container) {
    var rows = Array.prototype.map.call(container.querySelectorAll("li.cond-row"), readRow);
    if (!rows.length) return undefined;
    if (rows.length === 1) return rows[0];
    var o = {};
    o[container.querySelector(".combine").value] = rows;
    return o;
  }

  /* ------------------------------------------------------------------ the document form */

  var CUSTOM_FIELDS = ["code", "name", "message", "weight", "red_line", "description"];
  var extras = {};  // keys of the document the form has no field for: kept as they are
  var formActive = false;
  var customBox = document.getElementById("custom-fields");
  var overrideBox = document.getElementById("override-fields");
  var applies = document.getElementById("applies-block");
  var passes = document.getElementById("passes-block");

  function fieldEl(name) { return customBox.querySelector('[data-field="' + name + '"]'); }

  function showCustom(data) {
    var a = blockRows(data.applies_when), p = blockRows(data.passes_when);
    var plainOk = ["code", "name", "message", "description"].every(function (k) {
      return !(k in data) || typeof data[k] === "string" || (k === "code" && data[k] === null);
    }) && (!("weight" in data) || isNum(data.weight) || data.weight === null) &&
      (!("red_line" in data) || typeof data.red_line === "boolean");
    if (!a || !p || !plainOk) return false;
    fieldEl("code").value = data.code || "";
    fieldEl("name").value = data.name || "";
    fieldEl("message").value = data.message || "";
    fieldEl("description").value = data.description || "";
    fieldEl("weight").value = data.weight === undefined || data.weight === null ? "" : data.weight;
    fieldEl("red_line").checked = !!data.red_line;
    renderBlock(applies, "适用条件（applies_when）", "不满足时本规则「不适用」；不加条件则每通电话都适用。", a);
    renderBlock(passes, "合格条件（passes_when）", "满足时合格，不满足时不合格并扣分。", p);
    extras = {};
    Object.keys(data).forEach(function (k) {
      if (CUSTOM_FIELDS.indexOf(k) < 0 && k !== "applies_when" && k !== "passes_when") extras[k] = data[k];
    });
    return true;
  }

  function readCustom() {
    var d = {};
    d.code = fieldEl("code").value.trim();
    d.name = fieldEl("name").value.trim();
    var msg = fieldEl("message").value.trim();
    if (msg) d.message = msg;
    var w = fieldEl("weight").value.trim();
    if (w !== "") d.weight = numberOf(w);
    d.red_line = fieldEl("red_line").checked;
    var desc = fieldEl("description").value.trim();
    if (desc) d.description = desc;
    var a = readBlock(applies), p = readBlock(passes);
    if (a) d.applies_when = a;
    if (p) d.passes_when = p;
    Object.keys(extras).forEach(function (k) { if (!(k in d)) d[k] = extras[k]; });
    return d;
  }

  function sameList(a, b) { return a.length === b.length && a.every(function (x, i) { return x === b[i]; }); }

  function showOverride(data) {
    var defaults = S.defaults || {}, settings = data.settings === undefined || data.settings === null ? {} : data.settings;
    if (!isObj(settings)) return false;
    var current = {};
    var ok = Object.keys(settings).every(function (k) {
      if (!(k in defaults)) return false;
      var v = settings[k], base = defaults[k];
      if (Array.isArray(base)) {
        if (isStrList(v)) { current[k] = v; return true; }
        if (isObj(v) && Object.keys(v).every(function (o) { return (o === "add" || o === "remove") && isStrList(v[o]); })) {
          var out = base.filter(function (x) { return (v.remove || []).indexOf(x) < 0; });
          (v.add || []).forEach(function (x) { if (out.indexOf(x) < 0) out.push(x); });
          current[k] = out;
          return true;
        }
        return false;
      }
      if (isNum(v)) { current[k] = v; return true; }
      return false;
    });
    if (!ok) return false;
    var box = document.getElementById("override-settings");
    box.innerHTML = "";
    Object.keys(defaults).forEach(function (k) {
      var base = defaults[k], cur = k in current ? current[k] : base, input;
      if (Array.isArray(base)) {
        input = el("textarea", {rows: String(Math.min(8, Math.max(3, cur.length))), "data-setting": k});
        input.value = cur.join("\n");
      } else {
        input = el("input", {type: "number", step: "any", "data-setting": k, size: "8"});
        input.value = cur;
      }
      var f = field(k + (Array.isArray(base) ? "（短语，每行一个）" : "（内置值 " + base + "）"), input);
      f.className = "param setting";
      box.append(f);
    });
    extras = {};
    Object.keys(data).forEach(function (k) { if (k !== "override" && k !== "settings") extras[k] = data[k]; });
    return true;
  }

  function readOverride() {
    var defaults = S.defaults || {}, settings = {};
    document.querySelectorAll("#override-settings [data-setting]").forEach(function (input) {
      var k = input.dataset.setting, base = defaults[k];
      if (Array.isArray(base)) {
        var cur = linesOf(input);
        if (sameList(cur, base)) return;
        var change = {};
        var add = cur.filter(function (x) { return base.indexOf(x) < 0; });
        var remove = base.filter(function (x) { return cur.indexOf(x) < 0; });
        if (add.length) change.add = add;
        if (remove.length) change.remove = remove;
        if (!add.length && !remove.length) settings[k] = cur;  // the same phrases, another order
        else settings[k] = change;
      } else if (input.value.trim() !== "" && Number(input.value) !== base) {
        settings[k] = numberOf(input.value);
      }
    });
    var d = {override: S.code, settings: settings};
    Object.keys(extras).forEach(function (k) { d[k] = extras[k]; });
    return d;
  }

  function setKind(kind, code, defaults) {
    S.kind = kind;
    if (code) S.code = code;
    if (defaults) S.defaults = defaults;
    customBox.hidden = kind !== "custom";
    overrideBox.hidden = kind !== "override";
    saveForm.elements.kind.value = kind;
    saveForm.elements.code.value = S.code || "";
  }

  var NOT_SHOWN = notice.textContent;
  function showData(data) {
    var ok = isObj(data) && (S.kind === "override" ? showOverride(data) : showCustom(data));
    formActive = ok;
    notice.textContent = isObj(data) ? NOT_SHOWN : "YAML 文本有误（见右侧问题列表），改正后表单会随之更新；保存时以 YAML 为准。";
    notice.hidden = ok;
    document.getElementById("rule-form").classList.toggle("inactive", !ok);
    return ok;
  }

  function formChanged() {
    if (!formActive) return;
    textarea.value = dump(S.kind === "override" ? readOverride() : readCustom());
    scheduleCheck(false);
  }

  /* ------------------------------------------------------------------ checking the text */

  var errBox = document.getElementById("doc-errors"), errList = document.getElementById("doc-error-list");
  var okLine = document.getElementById("doc-ok");
  function showErrors(list) {
    errList.innerHTML = "";
    list.forEach(function (e) { errList.append(el("li", {text: zh(e)})); });
    document.getElementById("doc-error-count").textContent = String(list.length);
    errBox.hidden = !list.length;
    okLine.hidden = !!list.length;
  }

  var timer = null, seq = 0;
  function scheduleCheck(fromText) {
    clearTimeout(timer);
    timer = setTimeout(function () { check(fromText); }, fromText ? 500 : 700);
  }
  async function check(fromText) {
    var mine = ++seq, text = textarea.value;
    var r = await call("POST", "/rules/studio/check", {yaml_text: text});
    if (mine !== seq || !r.ok) return;
    var d = r.data;
    showErrors(d.errors || []);
    textarea.dataset.checked = String(mine);
    if (!fromText) return;
    if (d.kind !== S.kind || (d.kind === "override" && d.code && d.code !== S.code)) setKind(d.kind, d.code, d.defaults);
    else if (d.kind === "custom" && d.code) { S.code = d.code; saveForm.elements.code.value = d.code; }
    showData(d.data);
  }

  customBox.addEventListener("input", formChanged);
  customBox.addEventListener("change", formChanged);
  overrideBox.addEventListener("input", formChanged);
  textarea.addEventListener("input", function () { scheduleCheck(true); });

  setKind(S.kind, S.code, S.defaults);
  showData(S.data);

  /* ------------------------------------------------------------------ dry run */

  var dryForm = document.getElementById("dry-run-form");
  dryForm.elements.mode.addEventListener("change", function () {
    var m = dryForm.elements.mode.value;
    dryForm.querySelectorAll("[data-mode]").forEach(function (d) { d.hidden = d.dataset.mode !== m; });
  });

  function clock(s) {
    s = Math.round(Number(s) || 0);
    var m = Math.floor(s / 60), sec = s % 60;
    return m + ":" + (sec < 10 ? "0" : "") + sec;
  }
  /* a stored time as the centre's wall-clock time (the server's time zone, as the pages show) */
  var wall = null;
  try {
    wall = new Intl.DateTimeFormat("en-CA", {timeZone: S.timezone, year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23"});
  } catch (e) { wall = null; }
  function localTime(iso) {
    if (!iso) return "";
    var d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : iso + "Z");
    if (isNaN(d.getTime())) return iso;
    if (wall) {
      var parts = {};
      wall.formatToParts(d).forEach(function (x) { parts[x.type] = x.value; });
      return parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute;
    }
    var p = function (n) { return (n < 10 ? "0" : "") + n; };
    return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + " " + p(d.getHours()) + ":" + p(d.getMinutes());
  }
  var VERDICT = {fail: "维持不合格", pass: "推翻（合格）"};
  var SPEAKER = {agent: "客服", customer: "客户"};

  function itemRow(it) {
    var link = el("a", {href: "/calls/" + encodeURIComponent(it.call_id), "class": "dr-call", text: localTime(it.started_at) || it.call_id});
    var ev = el("ul", {"class": "evidence"});
    (it.evidence || []).slice(0, 3).forEach(function (e) {
      var at = el("a", {href: "/calls/" + encodeURIComponent(it.call_id) + "?t=" + Math.max(0, Number(e.start) || 0).toFixed(1),
                        text: "▶ " + clock(e.start), "aria-label": "打开通话，播放 " + clock(e.start) + " 处的原话"});
      ev.append(el("li", {}, [at, " " + (SPEAKER[e.speaker] || "") + "：", el("q", {text: e.text || ""})]));
    });
    if (!(it.evidence || []).length && it.message) ev.append(el("li", {"class": "muted", text: it.message}));
    return el("tr", {"data-call": it.call_id, "data-status": it.status}, [
      el("td", {}, [link, el("div", {"class": "small muted mono", text: it.call_id})]),
      el("td", {text: (it.agent_name || "") + (it.agent_id ? "（" + it.agent_id + "）" : "")}),
      el("td", {}, [ev]),
      el("td", {}, it.verdict ? [el("span", {"class": "badge", "data-state": it.verdict === "fail" ? "upheld" : "overturned",
                                             text: VERDICT[it.verdict]})] : [])]);
  }

  function pct(x) { return x === null || x === undefined ? "—" : (x * 100).toFixed(1) + "%"; }

  dryForm.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var body = {yaml_text: textarea.value, max_items: 500};
    if (dryForm.elements.mode.value === "dates") {
      if (dryForm.elements.date_from.value) body.date_from = dryForm.elements.date_from.value;
      if (dryForm.elements.date_to.value) body.date_to = dryForm.elements.date_to.value;
      if (!body.date_from && !body.date_to) { flash("请选择开始或结束日期", "error"); return; }
    } else {
      body.last_n = parseInt(dryForm.elements.last_n.value, 10) || 200;
    }
    var btn = document.getElementById("dry-run-button"), bar = document.getElementById("dry-run-progress");
    btn.disabled = true; bar.hidden = false;
    var r = await call("POST", "/api/v1/rule-documents/dry-run", body);
    btn.disabled = false; bar.hidden = true;
    var box = document.getElementById("dry-run-result");
    if (!r.ok) {
      if (r.status === 422 && Array.isArray(r.data && r.data.detail)) showErrors(problems(r));
      flash("试运行未能进行：" + problems(r).map(zh).join("；"), "error");
      return;
    }
    var d = r.data, c = d.counts || {};
    document.getElementById("dr-calls").textContent = d.calls;
    document.getElementById("dr-fail").textContent = c.fail || 0;
    document.getElementById("dr-pass").textContent = c.pass || 0;
    document.getElementById("dr-na").textContent = c["n/a"] || 0;
    var v = d.verdicts || {};
    document.getElementById("dr-quality").textContent = v.calls
      ? "查准率 " + pct(d.precision) + " · 查全率 " + pct(d.recall) + "（主管复核过 " + d.reference_code + " 的 " + v.calls +
        " 通：判对不合格 " + v.true_fail + "，误判 " + v.false_fail + "，漏判 " + v.missed_fail + "）"
      : "这些通话中没有主管复核过的 " + d.reference_code + " 结论，无法计算查准率/查全率";
    document.getElementById("dr-meta").textContent = "用时 " + d.seconds + " 秒" +
      (d.items_truncated ? "；只列出前 " + d.items.length + " 通（不合格的在前）" : "");
    var fails = document.querySelector("#dr-fails tbody"), passes = document.querySelector("#dr-passes tbody");
    fails.innerHTML = ""; passes.innerHTML = "";
    d.items.forEach(function (it) {
      if (it.status === "fail") fails.append(itemRow(it));
      else if (it.status === "pass") passes.append(itemRow(it));
    });
    if (!fails.children.length) fails.append(el("tr", {}, [el("td", {colspan: "4", "class": "empty", text: "没有会判为不合格的通话"})]));
    if (!passes.children.length) passes.append(el("tr", {}, [el("td", {colspan: "4", "class": "empty", text: "没有会判为合格的通话"})]));
    box.hidden = false;
    box.dataset.done = String(Date.now());
  });

  /* ------------------------------------------------------------------ activate / deactivate */

  var versions = document.getElementById("version-table");
  if (versions) {
    versions.addEventListener("click", async function (ev) {
      var b = ev.target.closest("button[data-activate],button[data-deactivate]");
      if (!b) return;
      var url = "/api/v1/rule-documents/" + encodeURIComponent(S.code), r, msg;
      if (b.dataset.activate) {
        if (!confirm("启用 " + S.code + " 第 " + b.dataset.activate + " 版？新收到和重新分析的通话将按它质检；已有通话的结果在重新评分后才改变。")) return;
        b.disabled = true;
        r = await call("POST", url + "/versions/" + b.dataset.activate + "/activate");
        msg = S.code + " 第 " + b.dataset.activate + " 版已启用";
      } else {
        if (!confirm("停用 " + S.code + "？之后的质检不再运行它。")) return;
        b.disabled = true;
        r = await call("POST", url + "/deactivate");
        msg = S.code + " 已停用";
      }
      if (r.ok) { reloadWith(msg); return; }
      b.disabled = false;
      flash(problems(r).map(zh).join("；"), "error");
    });
  }
})();
