// FeedbackHub web app: progressive enhancement only. Every page reads and works without it.
(function () {
  'use strict';
  // Forms that change something important ask once more (data-confirm="question").
  document.addEventListener('submit', function (e) {
    var form = e.target;
    var question = form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) e.preventDefault();
  });
})();
