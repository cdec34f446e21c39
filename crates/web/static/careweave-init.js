// Starts the NHS.UK design system's components (header menu, error summary focus, and so on).
import { initAll } from '/assets/nhsuk-frontend.min.js';

initAll();
