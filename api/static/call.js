/* Call page: the audio player, the timeline playhead, and seeking from the timeline, the
   transcript lines and the findings' evidence (keyboard: Enter/Space on a line). */
(function () {
  "use strict";
  var player = document.getElementById("player");
  var timeline = document.getElementById("timeline");
  var head = document.getElementById("playhead");
  var duration = timeline ? parseFloat(timeline.dataset.duration) || 1 : 1;
  var stopAt = null;

  function seek(t, end) {
    if (!player) return;
    stopAt = end ? parseFloat(end) : null;
    var go = function () {
      player.currentTime = Math.max(0, t);
      var p = player.play();
      if (p && p.catch) p.catch(function () { /* autoplay blocked: the position is set */ });
    };
    if (player.readyState >= 1) go(); else { player.addEventListener("loadedmetadata", go, {once: true}); player.load(); }
  }

  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("[data-seek]");
    if (el) {
      var t = parseFloat(el.dataset.seek);
      if (!isNaN(t)) seek(t, el.classList.contains("seek") ? el.dataset.end : null);
      if (el.dataset.finding) {
        var card = document.getElementById("finding-" + el.dataset.finding);
        if (card) card.scrollIntoView({behavior: "smooth", block: "center"});
      }
      return;
    }
    var track = ev.target.closest(".track");
    if (track && player) {
      var r = track.getBoundingClientRect();
      seek(duration * (ev.clientX - r.left) / r.width);
    }
  });
  document.addEventListener("keydown", function (ev) {
    if ((ev.key === "Enter" || ev.key === " ") && ev.target.matches("li[data-seek]")) {
      ev.preventDefault();
      seek(parseFloat(ev.target.dataset.seek));
    }
  });

  if (player) {
    var lines = Array.prototype.slice.call(document.querySelectorAll("li.line[data-seek]"));
    player.addEventListener("timeupdate", function () {
      var t = player.currentTime;
      if (head) head.style.left = "calc(4.5rem + (100% - 4.5rem) * " + Math.min(1, t / duration) + ")";
      if (stopAt !== null && t >= stopAt) { player.pause(); stopAt = null; }
      lines.forEach(function (li) {
        var on = t >= parseFloat(li.dataset.seek) && t < parseFloat(li.dataset.end);
        li.classList.toggle("playing", on);
      });
    });
  }
  /* a call still being analysed: poll its status and reload when the result is there */
  var poll = document.getElementById("analysis-progress");
  if (poll) {
    var tick = function () {
      fetch("/api/v1/calls/" + encodeURIComponent(poll.dataset.poll), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (c) {
          if (c && c.status !== "queued" && c.status !== "processing") location.reload();
          else setTimeout(tick, 3000);
        })
        .catch(function () { setTimeout(tick, 10000); });
    };
    setTimeout(tick, 3000);
  }
  if (location.hash && /^#[\w-]+$/.test(location.hash)) {
    var target = document.querySelector(location.hash);
    if (target) { target.classList.add("focus"); target.scrollIntoView({block: "center"}); }
  }
  /* opened from a search hit (?t=seconds): the player stands at that second */
  var at = parseFloat(new URLSearchParams(location.search).get("t"));
  if (player && isFinite(at) && at >= 0) {
    var place = function () { player.currentTime = Math.min(at, player.duration || at); };
    if (player.readyState >= 1) place(); else player.addEventListener("loadedmetadata", place, {once: true});
    if (head) head.style.left = "calc(4.5rem + (100% - 4.5rem) * " + Math.min(1, at / duration) + ")";
  }
})();
