// MathJax 3 configuration for pymdownx.arithmatex (generic mode): only the `arithmatex`
// spans/divs are typeset. MathJax itself is served from this site (assets/mathjax/), copied
// there at build time from the npm package; nothing is fetched from a CDN.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex"
  }
};

// Material's instant navigation swaps the page content without a reload: typeset the new
// content every time. (No output.clearCache(): on the first page MathJax's own startup has
// already typeset, and clearing the CHTML cache there drops the CSS of glyphs on screen.)
document$.subscribe(() => {
  const mj = window.MathJax;
  if (!mj || !mj.startup || !mj.startup.promise) {
    return; // MathJax not loaded yet: its own startup typesets the first page
  }
  mj.startup.promise = mj.startup.promise
    .then(() => {
      mj.typesetClear();
      mj.texReset();
      return mj.typesetPromise();
    })
    .catch((err) => console.error("MathJax typeset failed:", err));
});
