// MathJax 3 settings for pymdownx.arithmatex (generic mode): typeset only the spans and divs
// arithmatex marked. The MathJax script itself is served from the site (assets/mathjax/).
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
