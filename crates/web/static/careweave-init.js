// Starts the NHS.UK design system's components (header menu, error summary focus, and so on).
import { initAll } from '/assets/nhsuk-frontend.min.js';

initAll();

// A page written to be printed has a Print button (print_actions.html), hidden without a script
// because printing from a button needs one.
for (const button of document.querySelectorAll('[data-app-print]')) {
  button.hidden = false;
  button.addEventListener('click', () => window.print());
}
