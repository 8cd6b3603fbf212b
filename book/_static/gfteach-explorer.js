// gfteach explorers in the static book: switch between figures precomputed over the control grid.
// Served by the book itself (no kernel, no network). Without JavaScript the initial figure shows
// and the controls stay hidden, so no control is ever dead.
(function () {
  "use strict";
  function wire(box) {
    var data = JSON.parse(box.querySelector("script.gft-explorer-data").textContent);
    var img = box.querySelector("img.gft-explorer-frame");
    var inputs = Array.prototype.slice.call(box.querySelectorAll("[data-control]"));
    function show() {
      var index = inputs.map(function (el) { return Number(el.value); });
      var words = index.map(function (i, j) {
        var out = box.querySelector('output[data-for="' + j + '"]');
        if (out) { out.textContent = data.labels[j][i]; }
        return data.descriptions[j] + " = " + data.labels[j][i];
      });
      var frame = data.frames[index.join("-")];
      if (frame) {
        img.src = frame;
        img.alt = data.alt + " (" + words.join(", ") + ")";
      }
    }
    inputs.forEach(function (el) {
      el.addEventListener("input", show);
      el.addEventListener("change", show);
    });
    box.querySelector(".gft-explorer-controls").hidden = false;
    show();
  }
  function init() {
    document.querySelectorAll(".gft-explorer").forEach(function (box) {
      if (box.querySelector("script.gft-explorer-data")) { wire(box); }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
