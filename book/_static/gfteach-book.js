// gfteach: small reader aids of the book, served by the book itself (no network).
//  * click (or Enter on) a figure to see it full size; Escape, a click or the close button closes it;
//  * a solution's title toggles the solution (its link to the exercise no longer jumps back up);
//  * printing opens every collapsed block (solutions, hints, hidden code), and closes them again after.
(function () {
  "use strict";

  var FIGURES = ".cell_output img, figure img, img.gft-explorer-frame, .gft-teaser img";

  // -- figures: click to enlarge -------------------------------------------------------------------
  var overlay = null;
  var lastFocus = null;

  function closeZoom() {
    if (!overlay) { return; }
    overlay.remove();
    overlay = null;
    document.body.classList.remove("gft-zoom-open");
    if (lastFocus) { lastFocus.focus(); }
  }

  function openZoom(img) {
    closeZoom();
    lastFocus = img;
    overlay = document.createElement("div");
    overlay.className = "gft-zoom";
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-modal", "true");
    overlay.setAttribute("aria-label", "Figure at full size");
    var close = document.createElement("button");
    close.type = "button";
    close.className = "gft-zoom-close";
    close.setAttribute("aria-label", "Close the full-size figure");
    close.textContent = "\u00d7";
    var big = document.createElement("img");
    big.src = img.currentSrc || img.src;  // an explorer's current frame, not its first
    big.alt = img.alt;
    if (img.naturalWidth) { big.style.width = img.naturalWidth + "px"; }
    overlay.appendChild(close);
    overlay.appendChild(big);
    overlay.addEventListener("click", closeZoom);
    document.body.appendChild(overlay);
    document.body.classList.add("gft-zoom-open");
    close.focus();
  }

  function isFigure(el) {
    return el && el.tagName === "IMG" && el.matches(FIGURES) && !el.closest("a");
  }

  function prepareFigures() {
    document.querySelectorAll(FIGURES).forEach(function (img) {
      if (!isFigure(img)) { return; }
      img.classList.add("gft-zoomable");
      img.setAttribute("tabindex", "0");
      img.setAttribute("title", "Click to enlarge");
    });
  }

  document.addEventListener("click", function (event) {
    if (isFigure(event.target)) { openZoom(event.target); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { closeZoom(); }
    if ((event.key === "Enter" || event.key === " ") && isFigure(event.target)) {
      event.preventDefault();
      openZoom(event.target);
    }
  });

  // -- solutions: the title toggles, it does not jump to the exercise --------------------------------
  function mendSolutionTitles() {
    document.querySelectorAll(".solution > .admonition-title a.reference").forEach(function (link) {
      var span = document.createElement("span");
      span.className = "gft-solution-of";
      while (link.firstChild) { span.appendChild(link.firstChild); }
      link.replaceWith(span);
    });
  }

  // -- print: everything open -------------------------------------------------------------------------
  var reopened = [];
  window.addEventListener("beforeprint", function () {
    reopened = [];
    document.querySelectorAll("details:not([open])").forEach(function (el) {
      el.open = true;
      reopened.push(el);
    });
  });
  window.addEventListener("afterprint", function () {
    reopened.forEach(function (el) { el.open = false; });
    reopened = [];
  });

  function init() {
    prepareFigures();
    mendSolutionTitles();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
