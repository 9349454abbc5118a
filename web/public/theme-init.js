(function () {
  try {
    var saved = localStorage.getItem('oc_theme');
    var dark = saved ? saved === 'dark' : !window.matchMedia || window.matchMedia('(prefers-color-scheme: dark)').matches;
    document.documentElement.classList.add(dark ? 'dark' : 'light');
  } catch (e) {
    document.documentElement.classList.add('dark');
  }
})();
